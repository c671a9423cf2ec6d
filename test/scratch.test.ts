// The Asyncify scratch region (assembly/switch.ts) is dead between steps, so images
// leave it out (host/scratch.ts) and a thaw still continues exactly as a straight run.
import { describe, expect, it } from "vitest";
import { decodeImage } from "../host/image/index.ts";
import { CHUNK_LOG2 } from "../host/image/format.ts";
import { Runtime } from "../host/index.ts";
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
