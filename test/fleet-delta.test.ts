// Delta images on the PostgreSQL fleet store (sql-store.ts, step-thread.ts): a computation
// that commits many steps keeps a chain of at most MAX_DELTAS deltas after its image,
// every claim thaws the chain, and the output is the uninterrupted run's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { buildProgram } from "../build/index.ts";
import { DEFER, Program, Runtime, type HostHandler } from "../host/index.ts";
import { Fleet, FleetWorker, type FleetEvent } from "../host/node/fleet/index.ts";
import { MAX_DELTAS } from "../host/node/fleet/sql-store.ts";
import { programPath } from "./helpers.ts";
import { postgresAvailable, startPgCluster, type PgCluster } from "./pg-cluster.ts";

let cluster: PgCluster;
let fleet: Fleet;

describe.skipIf(!postgresAvailable())("delta images in the fleet (PostgreSQL)", () => {
  beforeAll(async () => {
    cluster = await startPgCluster();
    fleet = await Fleet.open(cluster.url);
  });
  afterAll(async () => {
    await fleet?.close();
    await cluster?.stop();
  });

  it("commits deltas after a full image, at most MAX_DELTAS of them, and finishes with the uninterrupted output", async () => {
    const wasm = (await buildProgram(programPath("fleet-job.ts"))).wasm;
    const double = (call: { text(): string }) => String(BigInt(call.text()) * 2n);
    const handlers: Record<string, HostHandler> = { double };
    const expected: string[] = [];
    const straight = await Runtime.start(await Program.load(wasm), { print: (l) => expected.push(l), handlers: { ...handlers, approval: () => DEFER } });
    await straight.run();

    const db = new pg.Client({ connectionString: cluster.url });
    await db.connect();
    const chains: number[] = [];
    const committed: Promise<void>[] = [];
    let id = "";
    const onEvent = (e: FleetEvent) => {
      if (e.type !== "committed" || e.computation !== id) return;
      committed.push(db.query("SELECT count(*)::integer AS n FROM fleet_deltas WHERE computation_id = $1", [id]).then((r) => void chains.push(r.rows[0].n as number)));
    };
    // One computation at a time, short slices and claims: many commits, many thaws.
    const worker = new FleetWorker(fleet, { concurrency: 1, sliceMs: 1, holdMs: 0, pollMs: 50, handlers, onEvent });
    id = await fleet.submit(wasm);
    const running = worker.run();
    const row = await fleet.wait(id, { timeoutMs: 120_000 });
    await worker.stop();
    await running;
    await Promise.all(committed);
    await db.end();
    expect(row.status).toBe("done");
    expect((await fleet.output(id)).trimEnd().split("\n")).toEqual(expected);
    expect(row.steps).toBeGreaterThan(2);
    expect(Math.max(...chains)).toBeGreaterThan(0);
    expect(Math.max(...chains)).toBeLessThanOrEqual(MAX_DELTAS);
  }, 180_000);
});
