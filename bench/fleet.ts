// The fleet: computations stepped per second — claim, thaw, step one slice, freeze,
// fenced commit of the image, release — on the embedded store and on PostgreSQL, at
// 16 KiB and 256 KiB images, beside the raw rate of the same database in the same run:
// claim + write back an image of the same size with the same SQL, no Stasis in between.
//
// One FleetWorker with `concurrency` step threads (holdMs 0, so every slice is a new
// claim and a new thaw) over 2 × concurrency computations of bench/programs/fleet-state.ts,
// which hold `size` bytes of incompressible state and yield forever. PostgreSQL: a
// throw-away cluster with fsync on (bench/pg-cluster.ts), or $STASIS_DB; skipped without
// PostgreSQL. Run alone with `node dist/bench/fleet.js`.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { randomBytes } from "node:crypto";
import { buildProgram } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";
import { Program } from "../host/index.ts";
import { Fleet, FleetWorker } from "../host/node/fleet/index.ts";
import { postgresBin, startPgCluster } from "./pg-cluster.ts";

export interface FleetBenchRow {
  store: "embedded" | "postgres";
  imageKiB: number;
  /** Mean committed image size. */
  imageBytes: number;
  steppedPerSec: number;
  rawPerSec: number;
}

const SIZES = [16 * 1024, 256 * 1024];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measureStepped(fleet: Fleet, wasm: Uint8Array, size: number, concurrency: number, seconds: number): Promise<{ rate: number; imageBytes: number }> {
  const ids: string[] = [];
  for (let i = 0; i < concurrency * 2; i++) ids.push(await fleet.submit(wasm));
  let commits = 0;
  const worker = new FleetWorker(fleet, {
    concurrency, holdMs: 0, sliceMs: 1, leaseMs: 30_000, pollMs: 50,
    handlers: { size: () => String(size) },
    onEvent: (e) => {
      if (e.type === "committed") commits++;
    },
  });
  const running = worker.run();
  // Warm up: every computation has built its state and been frozen at full size.
  for (;;) {
    const rows = await Promise.all(ids.map((id) => fleet.status(id)));
    if (rows.every((r) => r.steps >= 3)) break;
    await sleep(100);
  }
  const before = commits;
  const start = performance.now();
  await sleep(seconds * 1000);
  const rate = (commits - before) / ((performance.now() - start) / 1000);
  await worker.stop();
  await running;
  const rows = await Promise.all(ids.map((id) => fleet.status(id)));
  for (const id of ids) await fleet.cancel(id);
  return { rate, imageBytes: rows.reduce((sum, r) => sum + (r.imageBytes ?? 0), 0) / rows.length };
}

async function measureRaw(fleet: Fleet, moduleId: string, imageBytes: number, concurrency: number, seconds: number): Promise<number> {
  const store = fleet.store;
  const ids: string[] = [];
  for (let i = 0; i < concurrency * 2; i++) {
    const id = `raw-${randomBytes(6).toString("hex")}`;
    await store.create(id, moduleId, 1);
    ids.push(id);
  }
  const image = new Uint8Array(randomBytes(Math.round(imageBytes)));
  let count = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      while (performance.now() < end) {
        const [claim] = await store.claim(`raw-${i}`, 1, 30_000);
        if (!claim) continue;
        const result = await store.commit(claim.id, claim.epoch, { image, output: [], consumed: [], pending: [], status: "runnable", wakeAt: null, leaseMs: 30_000 });
        if (result.ok) count++;
      }
    }),
  );
  const rate = count / ((performance.now() - start) / 1000);
  for (const id of ids) await store.cancel(id);
  return rate;
}

async function measureStore(name: FleetBenchRow["store"], fleet: Fleet, wasm: Uint8Array, concurrency: number, seconds: number): Promise<FleetBenchRow[]> {
  const moduleId = (await Program.load(new Uint8Array(wasm))).id;
  const rows: FleetBenchRow[] = [];
  for (const size of SIZES) {
    const stepped = await measureStepped(fleet, wasm, size, concurrency, seconds);
    const raw = await measureRaw(fleet, moduleId, stepped.imageBytes, concurrency, seconds);
    rows.push({ store: name, imageKiB: size / 1024, imageBytes: stepped.imageBytes, steppedPerSec: stepped.rate, rawPerSec: raw });
  }
  return rows;
}

export async function measureFleet(seconds = 5, concurrency = 8): Promise<FleetBenchRow[]> {
  const { wasm } = await buildProgram(join(packageRoot(), "bench", "programs", "fleet-state.ts"));
  const rows: FleetBenchRow[] = [];
  const dir = await mkdtemp(join(tmpdir(), "stasis-bench-fleet-"));
  const embedded = await Fleet.open(undefined, { dir });
  try {
    rows.push(...(await measureStore("embedded", embedded, wasm, concurrency, seconds)));
  } finally {
    await embedded.close();
    await rm(dir, { recursive: true, force: true });
  }
  const url = process.env.STASIS_DB;
  if (!url && !postgresBin()) return rows;
  const cluster = url ? null : await startPgCluster({ fsync: true });
  const pg = await Fleet.open(url ?? cluster!.url, { connections: concurrency });
  try {
    rows.push(...(await measureStore("postgres", pg, wasm, concurrency, seconds)));
  } finally {
    await pg.close();
    await cluster?.stop();
  }
  return rows;
}

export function renderFleet(rows: FleetBenchRow[]): string[] {
  const s = ["## Fleet: computations stepped per second", ""];
  s.push(
    "One FleetWorker, 8 step threads, every slice a new claim: claim, thaw, step, freeze, fenced commit, release (bench/fleet.ts). `raw` is the same database claiming and writing back an image of the same size with the same SQL and nothing else. PostgreSQL: a local throw-away cluster, fsync on, 8 connections.",
    "",
    "| store | image | stepped/s | raw claim + write-back/s | ratio |",
    "|---|---|---|---|---|",
  );
  for (const r of rows) {
    s.push(`| ${r.store} | ${r.imageKiB} KiB (${Math.round(r.imageBytes / 1024)} KiB stored) | ${r.steppedPerSec.toFixed(0)} | ${r.rawPerSec.toFixed(0)} | ${(r.steppedPerSec / r.rawPerSec).toFixed(2)}× |`);
  }
  s.push("");
  return s;
}

if (process.argv[1]?.endsWith(join("bench", "fleet.js"))) {
  const rows = await measureFleet();
  console.log(renderFleet(rows).join("\n"));
}
