// The state of one instance as plain data, and back: linear memory and every mutable
// global ↔ ImageContents (host/image/format.ts). Runtime.snapshot and Runtime.restore
// add the host record and the checks around it.
//
// Thawing writes an image into an instance that is either fresh (all zeros except the
// module's data segments, which lie below the heap base) or warm (pool.ts: an idle
// instance whose memory holds an earlier computation, never larger than the image's).
// Either way applyState zeroes exactly the bytes that may be non-zero and that the image
// does not cover (`dirty` minus the image's runs), then writes the runs and the globals,
// so both end in the same state: the image's. Globals travel as two u32 halves
// (format.ts ImageGlobal): no BigInt except for i64 globals, whose values are BigInts.
import { ABI_VERSION, GLOBAL_EXPORT_PREFIX, type ExportedGlobal, type StasisExports } from "./abi.ts";
import { StasisError } from "./errors.ts";
import { CHUNK_LOG2, type HostRecord, type ImageContents, type ImageGlobal, type MemoryRun } from "./image/format.ts";
import type { Program } from "./program.ts";
import { scratchChunks, withoutChunks } from "./scratch.ts";

export interface Instance {
  program: Program;
  stasis: StasisExports;
  exports: Record<string, unknown>;
  /** The exported globals in program.metadata.globals order, when the caller has them at hand. */
  globals?: WebAssembly.Global[];
}

function globalsOf(instance: Instance): WebAssembly.Global[] {
  return instance.globals ?? instance.program.metadata.globals.map((g) => instance.exports[GLOBAL_EXPORT_PREFIX + g.index] as WebAssembly.Global);
}

// Byte offsets reach 4 GiB (wasm32's largest memory), past what 32-bit shifts hold:
// offsets are computed as chunk * CHUNK_BYTES in doubles, never chunk << log2.
const CHUNK_BYTES = 2 ** CHUNK_LOG2;
/**
 * The module's scan helpers compute a chunk's end as a u32, which wraps to 0 for the
 * last chunk of a 4 GiB memory; that one chunk is scanned here instead.
 */
const SCANNABLE_CHUNKS = 2 ** (32 - CHUNK_LOG2) - 1;

/** The chunks of the instance's memory holding a non-zero byte, as [first, end) ranges in order (scans inside the module). */
export function nonzeroChunks(stasis: StasisExports): [number, number][] {
  const memory = new Uint8Array(stasis.memory.buffer);
  const chunks = memory.length / CHUNK_BYTES;
  const scanned = Math.min(chunks, SCANNABLE_CHUNKS);
  const ranges: [number, number][] = [];
  for (let chunk = 0; ; ) {
    const first = stasis.__stasis_next_nonzero(chunk, scanned, CHUNK_LOG2);
    if (first >= scanned) break;
    const end = stasis.__stasis_next_zero(first + 1, scanned, CHUNK_LOG2);
    ranges.push([first, end]);
    chunk = end;
  }
  if (chunks > scanned && memory.subarray(scanned * CHUNK_BYTES).some((byte) => byte !== 0)) {
    const last = ranges.at(-1);
    if (last && last[1] === scanned) last[1] = chunks;
    else ranges.push([scanned, chunks]);
  }
  return ranges;
}

/** Memory (all-zero chunks left out, found by scans inside the module) and globals. */
export function captureState(instance: Instance, host: HostRecord, module: Uint8Array | undefined): ImageContents {
  const { stasis, program } = instance;
  const memory = new Uint8Array(stasis.memory.buffer);
  // Views, not copies: the encoder copies them into the image right away.
  const runs: MemoryRun[] = withoutChunks(nonzeroChunks(stasis), scratchChunks(stasis, CHUNK_LOG2)).map(([first, end]) => ({ firstChunk: first, data: memory.subarray(first * CHUNK_BYTES, end * CHUNK_BYTES) }));
  const expected = program.metadata.globals;
  const objects = globalsOf(instance);
  const globals: ImageGlobal[] = new Array<ImageGlobal>(expected.length);
  for (let i = 0; i < expected.length; i++) globals[i] = readGlobal(expected[i], objects[i]);
  return {
    abi: ABI_VERSION,
    moduleId: program.id,
    memory: { pages: memory.length / 65536, chunkLog2: CHUNK_LOG2, runs },
    globals,
    host,
    ...(module ? { module } : {}),
  };
}

/**
 * Writes memory and globals into an instance of the image's module. `dirty`: the byte
 * ranges [start, end) of its memory that may hold non-zero bytes, in order; default (a
 * fresh instance) everything below the heap base, where the data segments lie.
 */
export function applyState(instance: Instance, contents: ImageContents, dirty?: [number, number][]): void {
  const { stasis, program } = instance;
  const expected = program.metadata.globals;
  const stored = inProgramOrder(expected, contents.globals);
  if (!stored) throw new StasisError("CORRUPT", "the image's globals do not match its module; use an earlier checkpoint");
  const { pages, chunkLog2, runs } = contents.memory;
  const current = stasis.memory.buffer.byteLength / 65536;
  if (pages < current) throw new StasisError("CORRUPT", `the image holds ${pages} pages of memory, fewer than the module starts with (${current})`);
  try {
    if (pages > current) stasis.memory.grow(pages - current);
  } catch (cause) {
    throw new StasisError("LIMIT", `cannot grow memory to ${pages * 65536} bytes to thaw the image (${(cause as Error).message})`, { cause });
  }
  const memory = new Uint8Array(stasis.memory.buffer);
  const chunkBytes = 2 ** chunkLog2;
  zeroUncovered(memory, dirty ?? [[0, stasis.__stasis_heap_base() >>> 0]], runs, chunkBytes);
  for (const run of runs) memory.set(run.data, run.firstChunk * chunkBytes);
  const objects = globalsOf(instance);
  for (let i = 0; i < expected.length; i++) writeGlobal(objects[i], expected[i], stored[i]);
}

/** Zeroes the parts of the `dirty` byte ranges that no run covers (both lists ascending; overlapping dirty ranges only cost time). */
function zeroUncovered(memory: Uint8Array, dirty: [number, number][], runs: MemoryRun[], chunkBytes: number): void {
  let r = 0;
  for (const [start, end] of dirty) {
    let at = start;
    while (at < end) {
      // Skip runs that end at or before `at`.
      while (r < runs.length && runs[r].firstChunk * chunkBytes + runs[r].data.length <= at) r++;
      const runStart = r < runs.length ? runs[r].firstChunk * chunkBytes : Infinity;
      if (runStart > at) {
        const stop = Math.min(end, runStart);
        memory.fill(0, at, stop);
        at = stop;
      } else {
        at = runs[r].firstChunk * chunkBytes + runs[r].data.length;
      }
    }
  }
}

/** The image's globals in the order of the program's metadata, or null if they do not match it. */
function inProgramOrder(expected: ExportedGlobal[], globals: ImageGlobal[]): ImageGlobal[] | null {
  if (globals.length !== expected.length) return null;
  // Images list them in metadata order (captureState); any other order is looked up.
  if (expected.every((g, i) => globals[i].index === g.index && globals[i].type === g.type)) return globals;
  const byIndex = new Map(globals.map((g) => [g.index, g]));
  if (byIndex.size !== globals.length) return null;
  const ordered: ImageGlobal[] = [];
  for (const g of expected) {
    const found = byIndex.get(g.index);
    if (found?.type !== g.type) return null;
    ordered.push(found);
  }
  return ordered;
}

const scratch = new DataView(new ArrayBuffer(8));

function readGlobal(g: ExportedGlobal, global: WebAssembly.Global): ImageGlobal {
  switch (g.type) {
    case "i32":
      return { index: g.index, type: g.type, lo: (global.value as number) >>> 0, hi: 0 };
    case "f32":
      scratch.setFloat32(0, global.value as number, true);
      return { index: g.index, type: g.type, lo: scratch.getUint32(0, true), hi: 0 };
    case "f64":
      scratch.setFloat64(0, global.value as number, true);
      return { index: g.index, type: g.type, lo: scratch.getUint32(0, true), hi: scratch.getUint32(4, true) };
    case "i64": {
      const bits = BigInt.asUintN(64, global.value as bigint);
      return { index: g.index, type: g.type, lo: Number(bits & 0xffffffffn), hi: Number(bits >> 32n) };
    }
  }
}

function writeGlobal(global: WebAssembly.Global, g: ExportedGlobal, stored: ImageGlobal): void {
  switch (g.type) {
    case "i32": global.value = stored.lo | 0; break;
    case "f32": scratch.setUint32(0, stored.lo, true); global.value = scratch.getFloat32(0, true); break;
    case "f64": scratch.setUint32(0, stored.lo, true); scratch.setUint32(4, stored.hi, true); global.value = scratch.getFloat64(0, true); break;
    case "i64": global.value = BigInt.asIntN(64, (BigInt(stored.hi >>> 0) << 32n) | BigInt(stored.lo >>> 0)); break;
  }
}
