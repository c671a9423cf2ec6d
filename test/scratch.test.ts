// The Asyncify scratch region (assembly/switch.ts) is dead between steps, so images
// leave it out (host/scratch.ts) and a thaw still continues exactly as a straight run.
import { describe, expect, it } from "vitest";
import { decodeImage } from "../host/image/index.ts";
import { CHUNK_LOG2 } from "../host/image/format.ts";
import { Program, Runtime } from "../host/index.ts";
import { call, loadProgram } from "./helpers.ts";

interface ScratchExports {
  __stasis_scratch_start(): number;
  __stasis_scratch_end(): number;
}

describe("the dead Asyncify scratch", () => {
  it("is left out of images, and a thaw continues identically", async () => {
    const program = await loadProgram("deep.ts");
    const output: string[] = [];
    const rt = await Runtime.start(program, { print: (l) => output.push(l) });
    call(rt, "setDepth", 250);
    rt.step({ budget: 3 }); // 250 frames unwound through the scratch at least once
    const { __stasis_scratch_start: start, __stasis_scratch_end: end } = rt.exports as unknown as ScratchExports;
    const [from, to] = [start(), end()];
    expect(to - from).toBeGreaterThanOrEqual(1 << CHUNK_LOG2);
    const memory = new Uint8Array(rt.memory.buffer);
    expect(memory.subarray(from, to).some((b) => b !== 0)).toBe(true); // stale frames lie there
    const contents = await decodeImage(rt.snapshot());
    const first = Math.ceil(from / 2 ** CHUNK_LOG2);
    const last = Math.floor(to / 2 ** CHUNK_LOG2);
    for (const run of contents.memory.runs) {
      const runEnd = run.firstChunk + run.data.length / 2 ** CHUNK_LOG2;
      expect(runEnd <= first || run.firstChunk >= last).toBe(true);
    }
    const thawedOutput: string[] = [];
    const thawed = await Runtime.restore(program, rt.snapshot(), { print: (l) => thawedOutput.push(l) });
    while (rt.step({ budget: 2 }) !== "done");
    while (thawed.step({ budget: 2 }) !== "done");
    expect(output).toEqual(["diver ok", "shallow steps 20, failures 0"]);
    expect(thawedOutput).toEqual(output);
  });
});

describe("a warm thaw and the scratch", () => {
  it("zeroes the scratch a previous computation left in a reused instance", async () => {
    const built = await loadProgram("deep.ts");
    const start = await Runtime.start(built, { print: () => {} });
    call(start, "setDepth", 250);
    start.step({ budget: 1 });
    const image = start.snapshot();
    const program = await Program.load(built.module, { pool: 1 });
    const previous = await Runtime.restore(program, image, { print: () => {} });
    previous.step({ budget: 3 }); // unwinds 250 frames through the scratch of this instance
    previous.snapshot();
    previous.release();
    expect(program.pool.size).toBe(1);
    const warm = await Runtime.restore(program, image, { print: () => {} });
    expect(program.pool.size).toBe(0); // the thaw took the released instance
    const { __stasis_scratch_start: from, __stasis_scratch_end: to } = warm.exports as unknown as ScratchExports;
    // Its whole chunks (the partial ones at the edges travel in the image as they are).
    const chunk = 2 ** CHUNK_LOG2;
    const whole = new Uint8Array(warm.memory.buffer).subarray(Math.ceil(from() / chunk) * chunk, Math.floor(to() / chunk) * chunk);
    expect(whole.length).toBeGreaterThan(0);
    expect(whole.every((b) => b === 0)).toBe(true);
  });
});
