// Memory above 2 GiB (up to wasm32's 4 GiB) freezes and thaws exactly.
//
// Freezing scans the whole memory, and on a kernel without a shared zero page (this CI's
// VMs) every page read is committed: the real-instance case grows just past 2 GiB and
// maps ~2 GiB, so run this file alone. The 4 GiB case drives captureState/applyState
// with the module's two scan helpers stood in by JavaScript that never touches memory,
// so a 4 GiB memory stays reserved but uncommitted.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../build/paths.ts";
import { decodeImage, encodeImage, Program, Runtime } from "../host/index.ts";
import type { StasisExports } from "../host/abi.ts";
import { applyState, captureState, type Instance } from "../host/state.ts";

const GiB = 2 ** 30;
const PAGE = 65536;
const CHUNK = 4096;

describe("memory above 2 GiB", () => {
  it("an instance grown past 2 GiB with data above 2 GiB round-trips byte for byte", async () => {
    const program = await Program.load(new Uint8Array(await readFile(join(packageRoot(), "test", "fixtures", "pingpong-v1.wasm"))));
    const rt = await Runtime.start(program, { print: () => {}, seed: 1 });
    rt.step({ budget: 3 });
    rt.memory.grow((2 * GiB + 2 * PAGE - rt.memory.buffer.byteLength) / PAGE);
    const memory = new Uint8Array(rt.memory.buffer);
    const marks = [2 * GiB - 1, 2 * GiB, 2 * GiB + 3 * CHUNK + 17, 2 * GiB + 2 * PAGE - 1];
    marks.forEach((at, i) => (memory[at] = 0xa0 + i));
    const image = rt.snapshot();
    const { memory: stored } = await decodeImage(image, { maxMemoryBytes: 4 * GiB });
    // Runs above 2 GiB sit at their own offsets, holding the marks.
    const above = stored.runs.filter((run) => run.firstChunk * CHUNK >= 2 * GiB - CHUNK);
    expect(above.map((run) => [run.firstChunk * CHUNK, run.data.length])).toEqual([[2 * GiB - CHUNK, 2 * CHUNK], [2 * GiB + 3 * CHUNK, CHUNK], [2 * GiB + 2 * PAGE - CHUNK, CHUNK]]);
    const thawed = await Runtime.restore(program, image, { print: () => {}, maxMemoryBytes: 4 * GiB });
    const restored = new Uint8Array(thawed.memory.buffer);
    expect(restored.length).toBe(memory.length);
    marks.forEach((at, i) => expect(restored[at]).toBe(0xa0 + i));
    for (const run of stored.runs) expect(Buffer.compare(restored.subarray(run.firstChunk * CHUNK, run.firstChunk * CHUNK + run.data.length), run.data)).toBe(0);
    // The default limit (1 GiB) refuses it before allocating anything.
    await expect(Runtime.restore(program, image)).rejects.toMatchObject({ code: "LIMIT" });
  }, 120_000);

  it("a 4 GiB memory keeps its last chunk and every offset above 2 GiB", async () => {
    const marks = [CHUNK + 5, 2 * GiB, 2 * GiB + CHUNK, 3 * GiB + 123, 4 * GiB - 2 * CHUNK, 4 * GiB - 1];
    const marked = new Set(marks.map((at) => Math.floor(at / CHUNK)));
    const source = fakeInstance(4 * GiB, marked);
    const bytes = new Uint8Array(source.stasis.memory.buffer);
    marks.forEach((at, i) => (bytes[at] = 0xb0 + i));
    const image = encodeImage(captureState(source, { done: false, seed: 1 }, undefined));
    const contents = await decodeImage(image, { maxMemoryBytes: 4 * GiB });
    expect(contents.memory.runs.map((run) => [run.firstChunk, run.data.length / CHUNK])).toEqual(
      [[1, 1], [2 ** 19, 2], [3 * 2 ** 18, 1], [2 ** 20 - 2, 2]],
    );
    const target = fakeInstance(PAGE);
    applyState(target, contents);
    const restored = new Uint8Array(target.stasis.memory.buffer);
    expect(restored.length).toBe(4 * GiB);
    marks.forEach((at, i) => expect(restored[at]).toBe(0xb0 + i));
  });
});

/**
 * An instance whose scan helpers know which chunks were written (`marked`) instead of
 * reading memory. They refuse the last chunk of a 4 GiB memory, as the module's own
 * helpers cannot scan it (their chunk end wraps a u32).
 */
function fakeInstance(bytes: number, marked = new Set<number>()): Instance {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
  if (bytes > PAGE) memory.grow(bytes / PAGE - 1);
  const scan = (from: number, end: number, nonzero: boolean) => {
    if (end > 2 ** 20 - 1) throw new Error(`scan helper asked for chunk ${end - 1}, past what a u32 end can hold`);
    for (let c = from; c < end; c++) {
      if (marked.has(c) === nonzero) return c;
      if (nonzero) c = Math.max(c, Math.min(...[...marked].filter((m) => m > c), end) - 1);
    }
    return end;
  };
  const stasis = {
    memory,
    __stasis_next_nonzero: (from: number, end: number) => scan(from, end, true),
    __stasis_next_zero: (from: number, end: number) => scan(from, end, false),
    __stasis_heap_base: () => 0,
  } as unknown as StasisExports;
  const program = { id: "ab".repeat(32), metadata: { globals: [] } } as unknown as Program;
  return { program, stasis, exports: {} };
}
