// The fleet under fire, on a real PostgreSQL: worker processes SIGKILLed at random and
// restarted, a worker paused past its lease (SIGSTOP) and resumed, a poison computation,
// and a herd of sleepers due at one instant. Every output must equal its uninterrupted run.
//
// Sizes fit a 2-core machine in about a minute; STASIS_FLEET_LONG=1 runs the full sizes
// (10,000 sleepers, more computations under the chaos).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";
import { Program, Runtime, type HostHandler } from "../host/index.ts";
import { Fleet, FleetWorker } from "../host/node/fleet/index.ts";
import { programPath } from "./helpers.ts";
import { postgresAvailable, startPgCluster, type PgCluster } from "./pg-cluster.ts";

const exec = promisify(execFile);
const cli = join(packageRoot(), "dist", "build", "cli.js");
const handlersModule = join(packageRoot(), "test", "child", "fleet-handlers.mjs");
const LONG = process.env.STASIS_FLEET_LONG === "1";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let cluster: PgCluster;
let fleet: Fleet;
let dir: string;
const wasmFiles = new Map<string, string>();

async function wasm(name: string): Promise<string> {
  if (!wasmFiles.has(name)) {
    const file = join(dir, name.replace(/\.ts$/, ".wasm"));
    await writeFile(file, (await buildProgram(programPath(name))).wasm);
    wasmFiles.set(name, file);
  }
  return wasmFiles.get(name)!;
}

async function straightRun(name: string, handlers: Record<string, HostHandler>): Promise<string> {
  const lines: string[] = [];
  const rt = await Runtime.start(await Program.load(new Uint8Array(readFileSync(await wasm(name)))), { print: (l) => lines.push(l), handlers });
  expect(await rt.run()).toBe("done");
  return lines.map((l) => l + "\n").join("");
}

const double: HostHandler = (call) => String(BigInt(call.text()) * 2n);

async function stasis(...args: string[]): Promise<string> {
  return (await exec(process.execPath, [cli, ...args, "--db", cluster.url])).stdout;
}

interface WorkerProcess {
  child: ChildProcess;
  stderr: string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

function startWorker(extra: string[] = [], env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, [cli, "fleet", "worker", "--db", cluster.url, "--handlers", handlersModule, ...extra], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  const worker: WorkerProcess = {
    child,
    stderr: "",
    exited: new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal }))),
  };
  child.stderr!.on("data", (chunk: Buffer) => (worker.stderr += chunk.toString()));
  return worker;
}

async function until<T>(what: string | (() => string), probe: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await sleep(100);
  }
}

const enabled = postgresAvailable();

describe.skipIf(!enabled)("fleet processes on PostgreSQL", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "stasis-fleet-process-"));
    cluster = await startPgCluster();
    fleet = await Fleet.open(cluster.url);
  });
  afterAll(async () => {
    await fleet?.close();
    await cluster?.stop();
  });

  it("4 workers, one SIGKILLed every 200–800 ms and restarted: every output equals its uninterrupted run; the poison one fails", async () => {
    const jobs = LONG ? 24 : 6;
    const log = join(dir, "deliveries.log");
    appendFileSync(log, "");
    const submitted: { id: string; kind: string }[] = [];
    const kinds = [...Array(jobs).fill("fleet-job.ts"), ...Array(5).fill("fleet-approval.ts"), "fleet-trap.ts"];
    for (const kind of kinds) submitted.push({ id: (await stasis("fleet", "submit", await wasm(kind))).trim(), kind });
    expect(new Set(submitted.map((s) => s.id)).size).toBe(kinds.length);

    const flags = ["--concurrency", "2", "--lease", "1s", "--max-attempts", "3"];
    const env = { FLEET_HANDLER_LOG: log };
    const workers = Array.from({ length: 4 }, () => startWorker(flags, env));
    let kills = 0;
    let chaos = true;
    const chaosLoop = (async () => {
      while (chaos) {
        await sleep(200 + Math.random() * 600);
        if (!chaos) break;
        const i = Math.floor(Math.random() * workers.length);
        workers[i].child.kill("SIGKILL");
        await workers[i].exited;
        kills++;
        workers[i] = startWorker(flags, env);
      }
    })();

    try {
      const approved = new Set<string>();
      await until("every computation to finish", async () => {
        const rows = await fleet.list();
        for (const s of submitted.filter((x) => x.kind === "fleet-approval.ts" && !approved.has(x.id))) {
          const call = (await fleet.store.calls(s.id)).find((c) => c.name === "approval" && c.deferred);
          if (call) {
            await stasis("fleet", "complete", s.id, String(call.callId), "approved");
            approved.add(s.id);
          }
        }
        return rows.every((r) => r.status === "done" || r.status === "failed") && kills >= 5;
      }, 240_000);
    } finally {
      chaos = false;
      await chaosLoop;
      // A graceful stop needs the worker's signal handlers: wait until each has started.
      await until("the workers to start", async () => workers.every((w) => w.stderr.includes("working on") || w.child.exitCode !== null), 60_000).catch(() => {});
      for (const w of workers) w.child.kill("SIGTERM");
      await Promise.race([Promise.all(workers.map((w) => w.exited)), sleep(30_000)]);
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    }
    const exits = await Promise.all(workers.map((w) => w.exited));
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0, 0]);
    expect(kills).toBeGreaterThanOrEqual(5);

    const expected = {
      "fleet-job.ts": await straightRun("fleet-job.ts", { double }),
      "fleet-approval.ts": await straightRun("fleet-approval.ts", { double, approval: () => "approved" }),
    };
    for (const s of submitted) {
      const row = await fleet.status(s.id);
      if (s.kind === "fleet-trap.ts") {
        expect(row).toMatchObject({ status: "failed", attempts: 3 });
        expect(await fleet.output(s.id)).toBe("");
      } else {
        expect(row.status, `${s.kind} ${s.id}: ${row.lastError}`).toBe("done");
        expect(await fleet.output(s.id)).toBe(expected[s.kind as keyof typeof expected]);
      }
    }
    expect((await fleet.list()).filter((r) => r.status === "running")).toEqual([]);
    // Handlers ran at least once per call (more after a kill); the answers entered once (outputs above).
    const deliveries = readFileSync(log, "utf8").trim().split("\n");
    for (const s of submitted.filter((x) => x.kind === "fleet-job.ts")) {
      expect(new Set(deliveries.filter((d) => d.startsWith(s.id + " ") && d.endsWith(" double"))).size).toBe(2);
    }
  }, 600_000);

  it("rejects_paused_worker_writes: a worker SIGSTOPped past its lease, then SIGCONTed, writes nothing", async () => {
    const id = (await stasis("fleet", "submit", await wasm("fleet-job.ts"))).trim();
    const paused = startWorker(["--concurrency", "1", "--lease", "1s"]);
    let taker: WorkerProcess | null = null;
    let epoch = 0;
    try {
      for (;;) {
        const row = await until("the first worker to hold the computation", async () => {
          const r = await fleet.status(id);
          return r.status === "running" && r.owner?.includes(`:${paused.child.pid}:`) && r.steps >= 1 ? r : null;
        }, 60_000);
        paused.child.kill("SIGSTOP");
        const after = await fleet.status(id);
        if (after.status === "running" && after.epoch === row.epoch) {
          epoch = row.epoch;
          break;
        }
        paused.child.kill("SIGCONT");
      }
      taker = startWorker(["--concurrency", "1", "--lease", "5s"]);
      const done = await fleet.wait(id, { timeoutMs: 120_000 });
      expect(done.status).toBe("done");
      expect(done.epoch).toBeGreaterThan(epoch);
      const output = await fleet.output(id);
      const steps = done.steps;
      paused.child.kill("SIGCONT");
      // Its next write is refused by the epoch (or, paused inside a transaction, its session was ended).
      const fenced = new RegExp(`(refused|lost|error) ${id}`);
      await until(() => `the resumed worker to find its claim fenced (stderr: ${JSON.stringify(paused.stderr)})`, async () => fenced.test(paused.stderr), 30_000);
      expect(await fleet.output(id)).toBe(output);
      expect(output).toBe(await straightRun("fleet-job.ts", { double }));
      expect(await fleet.status(id)).toMatchObject({ status: "done", steps });
      taker.child.kill("SIGTERM");
      expect((await taker.exited).code).toBe(0);
    } finally {
      taker?.child.kill("SIGKILL");
      paused.child.kill("SIGCONT");
      paused.child.kill("SIGTERM");
      await paused.exited;
    }
  }, 300_000);

  it("the CLI verbs: submit, ls, show, wait (0 / 1 / 124), complete, output", async () => {
    const run = (...args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [cli, "fleet", ...args, "--db", cluster.url], (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }));
      });
    const trap = (await run("submit", await wasm("fleet-trap.ts"))).stdout;
    expect(trap).toMatch(/^[0-9a-f-]{36}\n$/);
    const approval = (await run("submit", await wasm("fleet-approval.ts"))).stdout.trim();
    const listed = JSON.parse((await run("ls", "--json")).stdout) as { id: string; status: string }[];
    expect(listed.find((r) => r.id === approval)?.status).toBe("runnable");
    expect((await run("wait", approval, "--timeout", "200ms")).code).toBe(124);

    const worker = startWorker(["--concurrency", "2", "--max-attempts", "2"]);
    try {
      const failed = await run("wait", trap.trim(), "--timeout", "120s");
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/failed: (TRAP|ABORT)/);
      const show = await until("the approval to be deferred", async () => {
        const r = await run("show", approval);
        return /deferred/.test(r.stdout) ? r.stdout : null;
      }, 120_000);
      expect(show).toMatch(/status\s+waiting/);
      const callId = /call (\d+) approval\("order-7"\)/.exec(show)![1];
      expect((await run("complete", approval, callId, "approved")).code).toBe(0);
      const again = await run("complete", approval, callId, "approved");
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^stasis: FLEET_CONFLICT: /);
      expect((await run("wait", approval, "--timeout", "120s")).code).toBe(0);
      expect((await run("output", approval)).stdout).toBe("charged 42\napproval: approved\nshipped\n");
      const shown = JSON.parse((await run("show", approval, "--json")).stdout) as { status: string; calls: unknown[] };
      expect(shown).toMatchObject({ status: "done", calls: [] });
      expect((await run("show", "no-such-id")).stderr).toMatch(/^stasis: FLEET_NOT_FOUND: /);
    } finally {
      worker.child.kill("SIGTERM");
      await worker.exited;
    }
  }, 300_000);

  it("examples/workflow on the fleet: three workers, one killed, the orders go on, each effect once", async () => {
    const main = join(packageRoot(), "dist", "examples", "workflow", "fleet.js");
    const env = { ...process.env, STASIS_DB: cluster.url };
    const ids = (await exec(process.execPath, [main, "submit", "2"], { env })).stdout.trim().split("\n");
    expect(ids).toHaveLength(2);
    const workers = [0, 1, 2].map(() => {
      const child = spawn(process.execPath, [main, "worker"], { env, stdio: ["ignore", "pipe", "inherit"] });
      const w = { child, stdout: "", exited: new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code))) };
      child.stdout.on("data", (chunk: Buffer) => (w.stdout += chunk.toString()));
      return w;
    });
    try {
      const approvals = () => new Set(workers.flatMap((w) => [...w.stdout.matchAll(/fleet complete (\S+) (\d+) approved/g)].map((m) => `${m[1]} ${m[2]}`)));
      await until("both workflows to ask for two approvals each", async () => approvals().size === 4, 120_000);
      workers[0].child.kill("SIGKILL");
      for (const approval of approvals()) await stasis("fleet", "complete", ...approval.split(" "), "approved");
      for (const id of ids) {
        expect((await fleet.wait(id, { timeoutMs: 120_000 })).status).toBe("done");
        expect(await fleet.output(id)).toMatch(/order-17 espresso machine: shipped[\s\S]*order-19 kettle \(expired card\): failed: charge failed: card expired[\s\S]*all orders settled \(1 failed\)\n$/);
      }
      const client = new pg.Client({ connectionString: cluster.url });
      await client.connect();
      const { rows } = await client.query<{ effect: string; input: string; n: string }>(
        "SELECT effect, input, count(*) AS n FROM workflow_ledger GROUP BY effect, input ORDER BY effect, input",
      );
      await client.end();
      expect(rows.map((r) => `${r.effect} ${r.input} ×${r.n}`)).toEqual([
        "charge order-17 espresso machine ×2", "charge order-18 grinder ×2", "ship order-17 espresso machine ×2", "ship order-18 grinder ×2",
      ]);
    } finally {
      for (const w of workers) w.child.kill("SIGTERM");
      await Promise.all(workers.map((w) => w.exited));
    }
  }, 300_000);

  it("sleepers due at one instant all wake and finish, claimed in batches (no stampede)", async () => {
    const count = LONG ? 10_000 : 400;
    const moduleBytes = new Uint8Array(readFileSync(await wasm("fleet-sleeper.ts")));
    const program = await Program.load(moduleBytes);
    await fleet.store.putModule(program.id, moduleBytes);
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      await client.query(
        "INSERT INTO fleet_computations (id, module_id, status, seed) SELECT 'sleeper-' || g, $1, 'runnable', 1 FROM generate_series(1, $2::integer) g",
        [program.id, count],
      );
      const { rows } = await client.query<{ now: number }>("SELECT (extract(epoch from now()) * 1000)::float8 AS now");
      const deadline = Math.round(rows[0].now) + (LONG ? 120_000 : 15_000);
      const workers = [0, 1].map(() => new FleetWorker(fleet, { concurrency: 4, leaseMs: 10_000, pollMs: 500, handlers: { deadline: () => String(deadline) } }));
      const running = workers.map((w) => w.run());
      let maxRunning = 0;
      let early = 0;
      try {
        await until("every sleeper to finish", async () => {
          const r = await client.query<{ status: string; n: string; before: string }>(
            "SELECT status, count(*) AS n, count(*) FILTER (WHERE updated_at < to_timestamp($1::float8 / 1000)) AS before FROM fleet_computations WHERE id LIKE 'sleeper-%' GROUP BY status",
            [deadline],
          );
          const by = Object.fromEntries(r.rows.map((x) => [x.status, Number(x.n)]));
          maxRunning = Math.max(maxRunning, by.running ?? 0);
          early = Number(r.rows.find((x) => x.status === "done")?.before ?? 0);
          return by.done === count;
        }, LONG ? 1_800_000 : 120_000);
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
        await Promise.all(running);
      }
      expect(early).toBe(0);
      expect(maxRunning).toBeLessThanOrEqual(8);
      const out = await client.query<{ text: string; n: string }>(
        "SELECT string_agg(text, '' ORDER BY seq) AS text, count(*) AS n FROM fleet_output WHERE computation_id LIKE 'sleeper-%' GROUP BY computation_id",
      );
      expect(out.rows).toHaveLength(count);
      expect(new Set(out.rows.map((r) => r.text))).toEqual(new Set(["woke\n"]));
    } finally {
      await client.end();
    }
  }, LONG ? 3_600_000 : 300_000);
});
