// Freeze/thaw throughput (part of `npm run bench`). bench/programs/heap.ts fills a heap
// of N MiB with non-zero data; we time rt.snapshot() (scan, copy into the image,
// checksum) and Runtime.restore() (checksum, instantiate, grow, write back) against a
// plain copy of the same memory, and report image size against memory size. A second
// case grows memory to 64 MiB around 1 MiB of data, where zero elision matters. Every
// thaw and copy sample starts after a full GC (not timed): each one allocates a new
// memory as large as the frozen one, and V8 collects the dead ones from earlier samples
// under "external memory pressure", which would otherwise land in the next sample.
import { Runtime, type Program } from "../host/index.ts";
import { exportsOf, loadProgram } from "./load.ts";
import { gc, median, medianMs, timeMs, timeMsAsync } from "./stats.ts";

/** [MiB of data, MiB the memory is grown to (null: as the heap needs)]. */
const CASES = [[1, null], [16, null], [64, null], [1, 64]] as const;

export interface FreezeRow {
  label: string;
  /** The memory was grown around the data (the zero-elision case). */
  sparse: boolean;
  memoryBytes: number;
  imageBytes: number;
  freezeMs: number;
  thawMs: number;
  copyMs: number;
}

export async function measureFreeze(reps: number): Promise<FreezeRow[]> {
  const program = await loadProgram("bench", "programs", "heap.ts");
  const rows: FreezeRow[] = [];
  for (const [dataMib, growToMib] of CASES) rows.push(await measureCase(program, dataMib, growToMib, reps));
  return rows;
}

async function measureCase(program: Program, dataMib: number, growToMib: number | null, reps: number): Promise<FreezeRow> {
  const rt = await Runtime.start(program, { print: () => {} });
  exportsOf(rt).configure(dataMib);
  rt.step({ budget: 2 }); // main fills the heap and parks
  if (growToMib !== null) rt.memory.grow(growToMib * 16 - rt.memory.buffer.byteLength / 65536);
  const image = rt.snapshot();
  const freezeMs = medianMs(reps, () => rt.snapshot());
  const thaws: number[] = [];
  const copies: number[] = [];
  for (let i = 0; i < reps; i++) {
    gc();
    thaws.push(await timeMsAsync(() => Runtime.restore(program, image, { print: () => {} })));
    gc();
    copies.push(timeMs(() => new Uint8Array(rt.memory.buffer).slice()));
  }
  const thawMs = median(thaws);
  const copyMs = median(copies);
  const label = growToMib === null ? `${dataMib} MiB heap` : `${growToMib} MiB memory, ${dataMib} MiB data`;
  return { label, sparse: growToMib !== null, memoryBytes: rt.memory.buffer.byteLength, imageBytes: image.length, freezeMs, thawMs, copyMs };
}
