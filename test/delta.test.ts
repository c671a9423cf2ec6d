// Delta images (host/image/delta.ts, host/dirty.ts): dirty tracking is exact. A program
// churns (random host-call answers, spawns, allocations that grow memory, frees, tasklets
// finishing); after every step a delta is taken, and base + deltas merged must be the
// full rt.snapshot() byte for byte; thaws of the chain continue exactly as a run that was
// never frozen. Plus the refusals: a delta on another base, alone, or tampered.
import { describe, expect, it } from "vitest";
import { DEFER, Runtime, StasisError, decodeImage, isDeltaImage, mergeImages, signImage, type HostHandler, type Program } from "../host/index.ts";
import { decodeDelta } from "../host/image/delta.ts";
import { sealImage } from "../host/image/checksum.ts";
import { loadProgram } from "./helpers.ts";
import { Random } from "./fuzz/mutate.ts";

const LINEAGE = "0123456789abcdef0123456789abcdef";
const handlers: Record<string, HostHandler> = { op: () => DEFER, main: () => DEFER };


function command(random: Random, spawned: { n: number }): string {
  const r = random.below(100);
  if (r < 25) return `a${random.below(100) < 2 ? 20_000 + random.below(50_000) : 1 + random.below(1500)}`;
  if (r < 45) return `f${random.below(50)}`;
  if (r < 51) return `s${spawned.n++}`;
  if (r < 78) return `y${random.below(4)}`;
  if (r < 88) return "x";
  return `n${random.below(10)}`;
}

/** Answers every pending call with an ending until main returns. */
function drain(rt: Runtime): void {
  while (!rt.done) {
    for (const call of rt.pendingCalls()) rt.complete(call.id, call.name === "main" ? "end" : "x");
    rt.step();
  }
}

/** Answers a random non-empty subset of the pending calls, then steps with a random budget. */
function churn(rt: Runtime, random: Random, spawned: { n: number }, step: number, steps: number): void {
  const pending = rt.pendingCalls();
  for (const call of pending) {
    if (random.below(3) === 0 && call !== pending[0]) continue;
    if (call.name === "main") rt.complete(call.id, step >= steps - 1 ? "end" : random.below(6) === 0 ? String(spawned.n++) : "0");
    else rt.complete(call.id, step >= steps - 1 ? "x" : command(random, spawned));
  }
  rt.step({ budget: 1 + random.below(40) });
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

async function startChurn(program: Program, output: string[]): Promise<Runtime> {
  const rt = await Runtime.start(program, { print: (line) => output.push(line), handlers, seed: 7, lineage: LINEAGE });
  rt.step();
  return rt;
}

describe("delta images", () => {
  it("merge to the full image after every one of 2,000 random steps, and thaw to an identical continuation", async () => {
    const STEPS = 2000;
    const program = await loadProgram("churn.ts");
    // The reference: the same decisions, never frozen.
    const referenceOutput: string[] = [];
    let reference = await startChurn(program, referenceOutput);
    {
      const random = new Random(0x5eed);
      const spawned = { n: 100 };
      let rt = reference;
      for (let step = 0; step < STEPS && !rt.done; step++) {
        churn(rt, random, spawned, step, STEPS);
        // Thaws where the other run thaws (a thaw re-announces pending calls: the state moves on).
        const choice = random.next() % 100;
        if (choice >= 3 && choice < 8) rt = await Runtime.restore(program, rt.snapshot(), { print: (line) => referenceOutput.push(line), handlers });
      }
      drain(rt);
      reference = rt;
    }
    const output: string[] = [];
    let rt = await startChurn(program, output);
    const random = new Random(0x5eed);
    const spawned = { n: 100 };
    let chain = [rt.snapshot()];
    let deltaBytes = 0;
    let deltas = 0;
    let thaws = 0;
    let grew = false;
    let lastKind = "start";
    const bytesAtStart = rt.memory.buffer.byteLength;
    for (let step = 0; step < STEPS && !rt.done; step++) {
      churn(rt, random, spawned, step, STEPS);
      const choice = random.next() % 100;
      if (choice < 3) {
        chain = [rt.snapshot()];
        lastKind = "full";
        continue;
      }
      const delta = rt.snapshot({ since: chain.at(-1)! });
      expect(isDeltaImage(delta)).toBe(true);
      deltaBytes += delta.length;
      deltas++;
      chain.push(delta);
      const full = rt.snapshot();
      const merged = await mergeImages(chain[0], ...chain.slice(1));
      if (!same(merged, full)) {
        throw new Error(`step ${step} (last: ${lastKind}): base + ${chain.length - 1} deltas differ from the full image`);
      }
      if (choice < 8) {
        // Thaw the chain and carry on in the thawed runtime; the next delta is since the chain's last image.
        rt = await Runtime.restore(program, chain, { print: (line) => output.push(line), handlers });
        thaws++;
        lastKind = "thaw";
      } else if (choice < 12) {
        // A delta since the full image of the same moment starts a new chain on it.
        chain = [full];
        lastKind = "since full";
      } else lastKind = "delta";
      grew ||= rt.memory.buffer.byteLength > bytesAtStart;
    }
    drain(rt);
    const last = rt.snapshot({ since: chain.at(-1)! });
    expect(same(await mergeImages(chain[0], ...chain.slice(1), last), rt.snapshot())).toBe(true);
    expect(output).toEqual(referenceOutput);
    expect(same(rt.snapshot(), reference.snapshot())).toBe(true);
    expect(grew).toBe(true);
    expect(thaws).toBeGreaterThan(20);
    console.log(`delta: ${deltas} deltas, mean ${Math.round(deltaBytes / deltas)} bytes; full image ${chain[0].length} bytes at the end; ${thaws} thaws`);
  }, 300_000);

  it("carries only the chunks and globals that changed", async () => {
    const program = await loadProgram("churn.ts");
    const rt = await startChurn(program, []);
    // 200 KB held in the heap, then a step that only yields: the held chunks stay out of the delta.
    rt.complete(rt.pendingCalls().find((c) => c.name === "op")!.id, "a200000");
    rt.step();
    const base = rt.snapshot();
    const unchanged = rt.snapshot({ since: base });
    const contents = decodeDelta(unchanged);
    expect(contents.memory.runs).toEqual([]);
    expect(contents.globals).toEqual([]);
    const call = rt.pendingCalls().find((c) => c.name === "op")!;
    rt.complete(call.id, "y1");
    rt.step();
    const delta = rt.snapshot({ since: unchanged });
    const changed = decodeDelta(delta);
    const chunks = changed.memory.runs.reduce((sum, run) => sum + run.data.length / 4096, 0);
    expect(chunks).toBeGreaterThan(0);
    expect(chunks).toBeLessThan(base.length / 4096);
    expect(delta.length).toBeLessThan(base.length / 4);
  });

  it("rejects_a_delta_on_another_base with BASE_MISMATCH, before thawing anything", async () => {
    const program = await loadProgram("churn.ts");
    const rt = await startChurn(program, []);
    const base = rt.snapshot();
    const call = rt.pendingCalls()[0];
    rt.complete(call.id, call.name === "main" ? "0" : "y1");
    rt.step();
    const other = rt.snapshot();
    const delta = rt.snapshot({ since: other });
    const refusal = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as StasisError);
    expect((await refusal(Runtime.restore(program, [base, delta], { handlers })))?.code).toBe("BASE_MISMATCH");
    expect((await refusal(mergeImages(base, delta)))?.code).toBe("BASE_MISMATCH");
    // A delta alone, or a chain that starts with one.
    expect((await refusal(Runtime.restore(program, delta, { handlers })))?.code).toBe("BASE_MISMATCH");
    expect((await refusal(decodeImage(delta)))?.code).toBe("BASE_MISMATCH");
    expect((await refusal(Runtime.restore(program, [delta, delta], { handlers })))?.code).toBe("BASE_MISMATCH");
    // A delta of an older delta (not the last image): the runtime cannot know its chain.
    const next = rt.snapshot({ since: delta });
    expect(() => rt.snapshot({ since: delta })).not.toThrow(); // delta still holds the state: nothing ran since
    rt.complete(rt.pendingCalls()[0].id, rt.pendingCalls()[0].name === "main" ? "0" : "y1");
    rt.step();
    rt.snapshot({ since: next });
    expect(() => rt.snapshot({ since: delta })).toThrow(expect.objectContaining({ code: "BASE_MISMATCH" }));
  });

  it("rejects_a_tampered_delta with CORRUPT, and a resealed one that names another base with BASE_MISMATCH", async () => {
    const program = await loadProgram("churn.ts");
    const rt = await startChurn(program, []);
    const base = rt.snapshot();
    rt.complete(rt.pendingCalls()[0].id, "y1");
    rt.step();
    const delta = rt.snapshot({ since: base });
    const flipped = delta.slice();
    flipped[100] ^= 1;
    await expect(mergeImages(base, flipped)).rejects.toMatchObject({ code: "CORRUPT" });
    // Change the base checksum the delta names (offset: header 60 + section header 24 + u64 length 8) and reseal.
    const renamed = delta.slice();
    renamed[60 + 24 + 8] ^= 1;
    sealImage(renamed);
    await expect(mergeImages(base, renamed)).rejects.toMatchObject({ code: "BASE_MISMATCH" });
  });

  it("takes a delta since a signed copy of the last image, and thaws a signed chain with the key", async () => {
    const program = await loadProgram("churn.ts");
    const rt = await startChurn(program, []);
    const key = "k".repeat(32);
    const base = await signImage(rt.snapshot(), key);
    rt.complete(rt.pendingCalls()[0].id, "a5000");
    rt.step();
    const delta = await signImage(rt.snapshot({ since: base }), key);
    expect(same(await mergeImages(base, delta), rt.snapshot())).toBe(true);
    const thawed = await Runtime.restore(program, [base, delta], { handlers, key });
    expect(thawed.pendingCalls()).toEqual(rt.pendingCalls());
    const unsignedDelta = rt.snapshot({ since: delta });
    await expect(Runtime.restore(program, [base, delta, unsignedDelta], { handlers, key })).rejects.toMatchObject({ code: "UNSIGNED" });
  });
});
