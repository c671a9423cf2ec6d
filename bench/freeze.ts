// Freeze/thaw throughput (part of `npm run bench`). bench/programs/heap.ts fills a heap
// of N MiB with non-zero data; we time rt.snapshot() (scan, copy into the image,
// checksum) and Runtime.restore() (checksum, instantiate, grow, write back) against a
// plain copy of the same memory, and report image size against memory size. A second
// case grows memory to 64 MiB around 1 MiB of data, where zero elision matters.
import { performance } from "node:perf_hooks";
import { Runtime, type Program } from "../host/index.ts";

export interface FreezeRow {
  label: string;
  memoryBytes: number;
  imageBytes: number;
  freezeMs: number;
  thawMs: number;
  copyMs: number;
}

function medianOf(reps: number, run: () => number): number {
  const times = Array.from({ length: reps }, run).sort((a, b) => a - b);
  return times[reps >> 1];
}

async function medianOfAsync(reps: number, run: () => Promise<number>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push(await run());
  return times.sort((a, b) => a - b)[reps >> 1];
}

export async function measureFreeze(program: Program, dataMib: number, growToMib: number | null, reps: number): Promise<FreezeRow> {
  const rt = await Runtime.start(program, { print: () => {} });
  (rt.exports.configure as (n: number) => void)(dataMib);
  rt.step({ budget: 2 }); // main fills the heap and parks
  if (growToMib !== null) rt.memory.grow(growToMib * 16 - rt.memory.buffer.byteLength / 65536);
  let image = rt.snapshot();
  const freezeMs = medianOf(reps, () => {
    const start = performance.now();
    image = rt.snapshot();
    return performance.now() - start;
  });
  const thawMs = await medianOfAsync(reps, async () => {
    const start = performance.now();
    await Runtime.restore(program, image, { print: () => {} });
    return performance.now() - start;
  });
  const copyMs = medianOf(reps, () => {
    const start = performance.now();
    new Uint8Array(rt.memory.buffer).slice();
    return performance.now() - start;
  });
  const label = growToMib === null ? `${dataMib} MiB heap` : `${growToMib} MiB memory, ${dataMib} MiB data`;
  return { label, memoryBytes: rt.memory.buffer.byteLength, imageBytes: image.length, freezeMs, thawMs, copyMs };
}
