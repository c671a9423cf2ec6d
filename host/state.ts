// The state of one instance as plain data, and back: linear memory and every mutable
// global ↔ ImageContents (host/image/format.ts). Runtime.snapshot and Runtime.restore
// add the host record and the checks around it.
import { ABI_VERSION, GLOBAL_EXPORT_PREFIX, type ExportedGlobal, type StasisExports } from "./abi.ts";
import { StasisError } from "./errors.ts";
import { CHUNK_LOG2, type HostRecord, type ImageContents, type ImageGlobal, type MemoryRun } from "./image/format.ts";
import type { Program } from "./program.ts";
import { scratchChunks, withoutChunks } from "./scratch.ts";

export interface Instance {
  program: Program;
  stasis: StasisExports;
  exports: Record<string, unknown>;
}

function global(instance: Instance, g: ExportedGlobal): WebAssembly.Global {
  return instance.exports[GLOBAL_EXPORT_PREFIX + g.index] as WebAssembly.Global;
}

// Byte offsets reach 4 GiB (wasm32's largest memory), past what 32-bit shifts hold:
// offsets are computed as chunk * CHUNK_BYTES in doubles, never chunk << log2.
const CHUNK_BYTES = 2 ** CHUNK_LOG2;
/**
 * The module's scan helpers compute a chunk's end as a u32, which wraps to 0 for the
 * last chunk of a 4 GiB memory; that one chunk is scanned here instead.
 */
const SCANNABLE_CHUNKS = 2 ** (32 - CHUNK_LOG2) - 1;

/** Memory (all-zero chunks left out, found by scans inside the module) and globals. */
export function captureState(instance: Instance, host: HostRecord, module: Uint8Array | undefined): ImageContents {
  const { stasis, program } = instance;
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
  // Views, not copies: the encoder copies them into the image right away.
  const runs: MemoryRun[] = withoutChunks(ranges, scratchChunks(stasis, CHUNK_LOG2)).map(([first, end]) => ({ firstChunk: first, data: memory.subarray(first * CHUNK_BYTES, end * CHUNK_BYTES) }));
  const globals = program.metadata.globals.map((g) => ({ index: g.index, type: g.type, bits: toBits(g, global(instance, g)) }));
  return {
    abi: ABI_VERSION,
    moduleId: program.id,
    memory: { pages: memory.length / 65536, chunkLog2: CHUNK_LOG2, runs },
    globals,
    host,
    ...(module ? { module } : {}),
  };
}

/** Writes memory and globals into a fresh instance of the image's module. */
export function applyState(instance: Instance, contents: ImageContents): void {
  const { stasis, program } = instance;
  const expected = program.metadata.globals;
  const byIndex = new Map(contents.globals.map((g) => [g.index, g]));
  if (contents.globals.length !== expected.length || expected.some((g) => byIndex.get(g.index)?.type !== g.type)) {
    throw new StasisError("CORRUPT", "the image's globals do not match its module; use an earlier checkpoint");
  }
  const { pages, chunkLog2, runs } = contents.memory;
  const current = stasis.memory.buffer.byteLength / 65536;
  if (pages < current) throw new StasisError("CORRUPT", `the image holds ${pages} pages of memory, fewer than the module starts with (${current})`);
  try {
    if (pages > current) stasis.memory.grow(pages - current);
  } catch (cause) {
    throw new StasisError("LIMIT", `cannot grow memory to ${pages * 65536} bytes to thaw the image (${(cause as Error).message})`, { cause });
  }
  const memory = new Uint8Array(stasis.memory.buffer);
  // A fresh instance is all zeros except its data segments, which lie below the heap.
  memory.fill(0, 0, stasis.__stasis_heap_base());
  for (const run of runs) memory.set(run.data, run.firstChunk * 2 ** chunkLog2);
  for (const g of expected) setBits(global(instance, g), g, byIndex.get(g.index)!.bits);
}

const scratch = new DataView(new ArrayBuffer(8));

function toBits(g: ExportedGlobal, global: WebAssembly.Global): bigint {
  switch (g.type) {
    case "i32": scratch.setInt32(0, global.value as number, true); return BigInt(scratch.getUint32(0, true));
    case "i64": return BigInt.asUintN(64, global.value as bigint);
    case "f32": scratch.setFloat32(0, global.value as number, true); return BigInt(scratch.getUint32(0, true));
    case "f64": scratch.setFloat64(0, global.value as number, true); return scratch.getBigUint64(0, true);
  }
}

function setBits(global: WebAssembly.Global, g: ImageGlobal | ExportedGlobal, bits: bigint): void {
  switch (g.type) {
    case "i32": scratch.setUint32(0, Number(bits & 0xffffffffn), true); global.value = scratch.getInt32(0, true); break;
    case "i64": global.value = BigInt.asIntN(64, bits); break;
    case "f32": scratch.setUint32(0, Number(bits & 0xffffffffn), true); global.value = scratch.getFloat32(0, true); break;
    case "f64": scratch.setBigUint64(0, bits, true); global.value = scratch.getFloat64(0, true); break;
  }
}

