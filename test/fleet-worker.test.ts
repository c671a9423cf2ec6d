// FleetWorker in one process on the embedded store: programs run to the output of an
// uninterrupted run; handlers, DEFER + fleet.complete, sleeps, poison, the step time limit.
// (The step threads run the built dist/: `npm test` builds first.)
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../build/index.ts";
import { DEFER, Program, Runtime, verifyImageSignature, type HostHandler } from "../host/index.ts";
import { Fleet, FleetWorker, type FleetCall, type FleetEvent } from "../host/node/fleet/index.ts";
import { programPath } from "./helpers.ts";

const wasm = new Map<string, Uint8Array<ArrayBuffer>>();
async function program(name: string): Promise<Uint8Array<ArrayBuffer>> {
  if (!wasm.has(name)) wasm.set(name, (await buildProgram(programPath(name))).wasm);
  return wasm.get(name)!;
}

/** The output of a plain, uninterrupted run with the same (deterministic) handlers. */
async function straightRun(name: string, handlers: Record<string, HostHandler>): Promise<string> {
  const lines: string[] = [];
  const rt = await Runtime.start(await Program.load(await program(name)), { print: (l) => lines.push(l), handlers });
  expect(await rt.run()).toBe("done");
  return lines.map((l) => l + "\n").join("");
}

const double = (call: { text(): string }) => String(BigInt(call.text()) * 2n);
let fleet: Fleet;
const events: FleetEvent[] = [];
const approvals: FleetCall[] = [];
const doubles: FleetCall[] = [];
let worker: FleetWorker;
let running: Promise<void>;

beforeAll(async () => {
  fleet = await Fleet.open(undefined, { dir: await mkdtemp(join(tmpdir(), "stasis-fleet-worker-")) });
  worker = new FleetWorker(fleet, {
    concurrency: 3, leaseMs: 10_000, stepTimeoutMs: 3000, maxAttempts: 3, pollMs: 200,
    handlers: {
      double: (call) => {
        doubles.push(call);
        return double(call);
      },
      approval: (call) => {
        approvals.push(call);
        return DEFER;
      },
    },
    onEvent: (e) => events.push(e),
  });
  running = worker.run();
});

afterAll(async () => {
  await worker?.stop();
  await running;
  await fleet?.close();
});

describe("FleetWorker (embedded store)", () => {
  it("runs a program with tasklets, channels, GC pressure, host calls and sleeps to its uninterrupted output", async () => {
    const id = await fleet.submit(await program("fleet-job.ts"));
    const row = await fleet.wait(id, { timeoutMs: 60_000 });
    expect(row).toMatchObject({ status: "done", attempts: 0 });
    expect(row.steps).toBeGreaterThan(2);
    expect(await fleet.output(id)).toBe(await straightRun("fleet-job.ts", { double }));
    expect(doubles.filter((c) => c.computation === id).map((c) => c.id)).toHaveLength(2);
  });

  it("a DEFERred call waits, holding no worker, until fleet.complete answers it — once", async () => {
    const id = await fleet.submit(await program("fleet-approval.ts"));
    for (let i = 0; i < 300 && !approvals.some((c) => c.computation === id); i++) await new Promise((r) => setTimeout(r, 50));
    const call = approvals.find((c) => c.computation === id)!;
    expect(call.text()).toBe("order-7");
    for (let i = 0; i < 100 && (await fleet.status(id)).status !== "waiting"; i++) await new Promise((r) => setTimeout(r, 50));
    const shown = await fleet.show(id);
    expect(shown).toMatchObject({ status: "waiting", owner: null, wakeAt: null });
    expect(shown.calls).toMatchObject([{ callId: call.id, name: "approval", deferred: true }]);
    expect(shown.tasklets!.length).toBeGreaterThan(0);
    // Handlers get a key unique in the fleet; the stored image is signed with the fleet's key.
    expect(call.key).toBe(`${id}.${call.id}`);
    await expect(verifyImageSignature((await fleet.store.image(id))!, await fleet.store.imageKey())).resolves.toBeUndefined();
    await fleet.complete(id, call.id, "approved");
    await expect(fleet.complete(id, call.id, "approved twice")).rejects.toMatchObject({ code: "FLEET_CONFLICT" });
    expect((await fleet.wait(id, { timeoutMs: 30_000 })).status).toBe("done");
    expect(await fleet.output(id)).toBe("charged 42\napproval: approved\nshipped\n");
    expect(approvals.filter((c) => c.computation === id)).toHaveLength(1);
  });

  it("poison: a computation that traps every time ends failed, prints nothing, and the others finish", async () => {
    const bad = await fleet.submit(await program("fleet-trap.ts"));
    const good = await fleet.submit(await program("fleet-job.ts"));
    const failed = await fleet.wait(bad, { timeoutMs: 60_000 });
    expect(failed).toMatchObject({ status: "failed", attempts: 3 });
    expect(failed.lastError).toMatch(/^(TRAP|ABORT)/);
    expect(await fleet.output(bad)).toBe("");
    expect((await fleet.wait(good, { timeoutMs: 60_000 })).status).toBe("done");
  });

  it("a step past the wall-clock limit is stopped and counts as a failed attempt", async () => {
    const id = await fleet.submit(await program("fleet-spin.ts"));
    const row = await fleet.wait(id, { timeoutMs: 60_000 });
    expect(row).toMatchObject({ status: "failed", attempts: 3 });
    expect(row.lastError).toMatch(/^STEP_TIMEOUT/);
    expect(events.some((e) => e.computation === id && e.type === "failed" && e.status === "runnable")).toBe(true);
  });

  it("rejects_unknown_computation and rejects_non_stasis_module, typed", async () => {
    await expect(fleet.status("nope")).rejects.toMatchObject({ code: "FLEET_NOT_FOUND" });
    await expect(fleet.complete("nope", 1, "x")).rejects.toMatchObject({ code: "FLEET_NOT_FOUND" });
    await expect(fleet.submit(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))).rejects.toMatchObject({ code: "BAD_MODULE" });
  });
});
