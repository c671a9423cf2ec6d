// Decoding an image, for hostile input: every length is checked against the bytes
// that remain and against limits before anything is allocated or inflated, and every
// failure is a StasisError with a code and a sentence saying what to do.
//
// Checks, in order: magic (BAD_MAGIC), format version (UNSUPPORTED_VERSION), total
// length against the bytes present (TRUNCATED / CORRUPT), checksum (CORRUPT), ABI
// (UNSUPPORTED_VERSION), then each section's structure (CORRUPT) and size (LIMIT).
// Compressed sections are inflated as streams, never allocated at their declared size
// up front, and refused as soon as they go wrong (inflate.ts: deflate bombs).
import { StasisError } from "../errors.ts";
import { isInherited, isLineage } from "../lineage.ts";
import { imageChecksum } from "./checksum.ts";
import { bytesToHex } from "./hex.ts";
import { inflate, memoryInspector } from "./inflate.ts";
import {
  DEFAULT_MAX_MEMORY_BYTES, DEFAULT_MAX_MODULE_BYTES, FORMAT_VERSION, GLOBAL_TYPES, HEADER_BYTES, HEADER_DELTA, MAGIC, MAX_GLOBALS, READABLE_FORMAT_VERSIONS,
  MAX_HOST_RECORD_BYTES, SECTION_DEFLATE, SECTION_HEADER_BYTES, SectionKind, TRAILER_BYTES,
  type HostRecord, type ImageContents, type ImageGlobal, type ImageLimits, type MemoryRun,
} from "./format.ts";

const WASM_PAGE = 65536;

/** A little-endian u64 as a double (exact below 2^53). */
function u64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
}

export function corrupt(what: string): StasisError {
  return new StasisError("CORRUPT", `the image is damaged (${what}); use an earlier checkpoint or freeze the program again`);
}

export function limit(what: string): StasisError {
  return new StasisError("LIMIT", `the image ${what}; if you trust it, raise the limit in the restore options`);
}

export interface ImageHeader {
  formatVersion: number;
  /** A delta image (format v2, delta.ts): it needs its base to be read. */
  delta: boolean;
  abi: number;
  moduleId: string;
  totalLength: number;
}

/** Reads and checks the header, length and checksum; never inflates anything. */
export function readHeader(image: Uint8Array): ImageHeader {
  for (let i = 0; i < Math.min(image.length, MAGIC.length); i++) {
    if (image[i] !== MAGIC[i]) {
      throw new StasisError("BAD_MAGIC", "this is not a Stasis image (wrong magic bytes); pass a file written by rt.snapshot() or `stasis run --checkpoint`");
    }
  }
  if (image.length < HEADER_BYTES + TRAILER_BYTES) throw truncated(image.length, HEADER_BYTES + TRAILER_BYTES);
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const formatVersion = view.getUint16(8, true);
  if (!READABLE_FORMAT_VERSIONS.includes(formatVersion)) {
    throw new StasisError("UNSUPPORTED_VERSION", `the image has format version ${formatVersion}; this Stasis reads versions 1 to ${FORMAT_VERSION}. Thaw it with the Stasis version that wrote it`);
  }
  // The u64 total length as two halves: BigInt only on the way to an error message.
  if (view.getUint32(52, true) !== 0 || view.getUint32(48, true) !== image.length) {
    const totalLength = view.getBigUint64(48, true);
    if (BigInt(image.length) < totalLength) throw truncated(image.length, totalLength);
    throw corrupt(`${BigInt(image.length) - totalLength} unexpected bytes after its end`);
  }
  const end = image.length - TRAILER_BYTES;
  if (imageChecksum(formatVersion, image.subarray(0, end)) !== view.getUint32(end, true)) throw corrupt("checksum mismatch");
  // Version 1 left the flags reserved and unread; version 2 defines bit 0 (delta).
  const flags = formatVersion === 1 ? 0 : view.getUint16(10, true);
  if (flags & ~HEADER_DELTA) throw corrupt(`unknown header flags ${flags}`);
  const abi = view.getUint32(12, true);
  const moduleId = bytesToHex(image.subarray(16, 48));
  return { formatVersion, delta: (flags & HEADER_DELTA) !== 0, abi, moduleId, totalLength: image.length };
}

/** A delta handed where a full image is needed. */
export function deltaAlone(): StasisError {
  return new StasisError("BASE_MISMATCH", "this is a delta image: it holds only what changed since its base; thaw it with its chain (Runtime.restore(program, [base, ...deltas])) or merge the chain first (mergeImages)");
}

function truncated(have: number, need: number | bigint): StasisError {
  return new StasisError("TRUNCATED", `the image is cut short (${have} of ${need} bytes); the write was interrupted: use the previous checkpoint`);
}

/** One entry of an image's section table. */
export interface SectionEntry {
  kind: SectionKind;
  flags: number;
  /**
   * Stored and raw lengths: u64s read as doubles (no BigInt), inexact only above 2^53,
   * where every check (longer than the image, over a limit) fails as the exact value would.
   */
  stored: number;
  raw: number;
  /** Where the raw length lies, for a message that prints it exactly. */
  rawAt: number;
  payload: Uint8Array;
}

/**
 * Walks the section table of an image whose header readHeader has checked, for full and
 * delta images alike: at most 16 sections, each header and payload inside the image, no
 * kind twice, a signature only last and 32 bytes, nothing between the last section and
 * the trailer. Kinds, flags and lengths by kind are the caller's to check.
 */
export function sectionTable(image: Uint8Array): SectionEntry[] {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const end = image.length - TRAILER_BYTES;
  const count = view.getUint32(56, true);
  if (count > 16) throw corrupt(`${count} sections`);
  const entries: SectionEntry[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (end - at < SECTION_HEADER_BYTES) throw corrupt("a section header runs past the end");
    const kind = view.getUint32(at, true) as SectionKind;
    const flags = view.getUint32(at + 4, true);
    const stored = u64(view, at + 8);
    const raw = u64(view, at + 16);
    const rawAt = at + 16;
    at += SECTION_HEADER_BYTES;
    if (stored > end - at) throw corrupt(`section ${kind} is longer than the image`);
    if (entries.some((e) => e.kind === kind)) throw corrupt(`section ${kind} appears twice`);
    if (kind === SectionKind.Signature && (i !== count - 1 || flags !== 0 || stored !== 32 || raw !== 32)) throw corrupt("a signature section that is not the last one, or not 32 bytes");
    entries.push({ kind, flags, stored, raw, rawAt, payload: image.subarray(at, at + stored) });
    at += stored;
  }
  if (at !== end) throw corrupt("bytes between the last section and the checksum");
  return entries;
}

export async function decodeImage(image: Uint8Array, limits: ImageLimits = {}): Promise<ImageContents> {
  const header = readHeader(image);
  if (header.delta) throw deltaAlone();
  const maxMemory = limits.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
  const maxModule = limits.maxModuleBytes ?? DEFAULT_MAX_MODULE_BYTES;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const found = new Map<SectionKind, Uint8Array>();
  for (const { kind, flags, stored, raw, rawAt, payload } of sectionTable(image)) {
    if (flags & ~SECTION_DEFLATE) throw corrupt(`section ${kind} has unknown flags ${flags}`);
    const maxRaw = kind === SectionKind.Memory ? maxMemory + 12 + 8 * Math.floor(maxMemory / 4096) : kind === SectionKind.Module ? maxModule : MAX_HOST_RECORD_BYTES + MAX_GLOBALS * 16 + 4;
    if (!(raw <= maxRaw)) throw limit(`has a ${kind === SectionKind.Module ? "module" : "section"} of ${view.getBigUint64(rawAt, true)} bytes, more than the limit`);
    if (flags & SECTION_DEFLATE) {
      const inspect = kind === SectionKind.Memory ? memoryInspector(raw, maxMemory, limit) : undefined;
      found.set(kind, await inflate(payload, raw, inspect));
    } else if (raw !== stored) throw corrupt(`section ${kind} has mismatched lengths`);
    else found.set(kind, payload);
  }
  for (const kind of [SectionKind.Memory, SectionKind.Globals, SectionKind.Host]) if (!found.has(kind)) throw corrupt(`section ${kind} is missing`);
  // A signature is checked by verifyImageSignature (auth.ts) when the host has a key; decoding skips it.
  for (const kind of found.keys()) if (kind < SectionKind.Memory || kind > SectionKind.Signature) throw corrupt(`unknown section ${kind}`);
  return {
    abi: header.abi,
    moduleId: header.moduleId,
    memory: decodeMemory(found.get(SectionKind.Memory)!, maxMemory),
    globals: decodeGlobals(found.get(SectionKind.Globals)!),
    host: decodeHost(found.get(SectionKind.Host)!),
    ...(found.has(SectionKind.Module) ? { module: found.get(SectionKind.Module)! } : {}),
  };
}

export function decodeMemory(payload: Uint8Array, maxMemory: number): ImageContents["memory"] {
  if (payload.length < 12) throw corrupt("memory section too short");
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const pages = view.getUint32(0, true);
  const chunkLog2 = view.getUint32(4, true);
  const runCount = view.getUint32(8, true);
  if (pages * WASM_PAGE > maxMemory) throw limit(`claims ${pages * WASM_PAGE} bytes of memory, more than the limit of ${maxMemory}`);
  if (chunkLog2 < 5 || chunkLog2 > 16) throw corrupt(`chunk size 2^${chunkLog2}`);
  const chunks = (pages * WASM_PAGE) / 2 ** chunkLog2;
  if (runCount > chunks || 12 + runCount * 8 > payload.length) throw corrupt("memory run table longer than the section");
  const runs: MemoryRun[] = [];
  let dataAt = 12 + runCount * 8;
  let nextFree = 0;
  for (let i = 0; i < runCount; i++) {
    const firstChunk = view.getUint32(12 + i * 8, true);
    const chunkCount = view.getUint32(16 + i * 8, true);
    if (chunkCount === 0 || firstChunk < nextFree || firstChunk + chunkCount > chunks) throw corrupt(`memory run ${i} out of order or out of bounds`);
    const bytes = chunkCount * 2 ** chunkLog2;
    if (bytes > payload.length - dataAt) throw corrupt(`memory run ${i} runs past the section`);
    runs.push({ firstChunk, data: payload.subarray(dataAt, dataAt + bytes) });
    dataAt += bytes;
    nextFree = firstChunk + chunkCount;
  }
  if (dataAt !== payload.length) throw corrupt("unexpected bytes after the memory runs");
  return { pages, chunkLog2, runs };
}

export function decodeGlobals(payload: Uint8Array): ImageGlobal[] {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (payload.length < 4) throw corrupt("globals section too short");
  const count = view.getUint32(0, true);
  if (count > MAX_GLOBALS || 4 + count * 16 !== payload.length) throw corrupt("globals section length");
  const globals: ImageGlobal[] = [];
  for (let i = 0; i < count; i++) {
    const at = 4 + i * 16;
    const type = GLOBAL_TYPES[view.getUint8(at + 4)];
    if (!type || view.getUint8(at + 5) | view.getUint8(at + 6) | view.getUint8(at + 7)) throw corrupt(`global ${i} has an unknown type`);
    globals.push({ index: view.getUint32(at, true), type, lo: view.getUint32(at + 8, true), hi: view.getUint32(at + 12, true) });
  }
  return globals;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function decodeHost(payload: Uint8Array): HostRecord {
  if (payload.length > MAX_HOST_RECORD_BYTES) throw limit("has a host record over 1 MiB");
  let record: unknown;
  try {
    record = JSON.parse(utf8.decode(payload));
  } catch {
    throw corrupt("host record is not JSON");
  }
  const host = record as HostRecord;
  if (
    typeof record !== "object" || record === null || Array.isArray(record) || typeof host.done !== "boolean" || !Number.isFinite(host.seed) ||
    (host.program !== undefined && typeof host.program !== "string") ||
    (host.lineage !== undefined && !isLineage(host.lineage)) ||
    (host.inherited !== undefined && !isInherited(host.inherited))
  ) {
    throw corrupt("host record has the wrong shape");
  }
  return host;
}
