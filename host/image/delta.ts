// Delta images (format version 2): only what changed since an earlier image of the same
// computation, its *base*. Written by rt.snapshot({ since }) (host/dirty.ts finds the
// changes), read by Runtime.restore(program, [base, ...deltas]) and mergeImages.
//
// Layout (docs/IMAGE-FORMAT.md, "Delta images"): the v1 header with version 2 and header
// flag HEADER_DELTA, then sections in this order, none deflated:
//
//   base     (6)  u64 the base's total length · u32 the base's checksum (its trailer)
//   memory   (1)  the v1 memory layout; `pages` is the memory size now (never below the
//                 base's), the runs hold every chunk whose bytes differ from the base's,
//                 zero chunks included (a chunk that became zero is a run of zeros)
//   globals  (2)  the v1 entry layout; only the globals whose bits changed, in strictly
//                 ascending index order
//   host     (3)  the whole host record, as in a full image
//   signature(5)  optional, last, as in a full image (auth.ts)
//
// A delta names its base exactly (length and checksum of the base's bytes as given to
// snapshot({ since }), module id in the header): applying it to any other image fails
// BASE_MISMATCH before anything is written. A chain is a full image followed by deltas,
// each naming the image before it. Applying a chain gives the canonical full contents
// (all-zero chunks left out, maximal runs, globals in the base's order), so encoding
// them is byte for byte the full rt.snapshot() of that state.
//
// Decoding is as defensive as decode.ts: every length is checked against the bytes
// left and the limits before anything is allocated; a delta has no compressed sections
// (there is nothing to inflate), so it is bounded by its own length.
import { StasisError } from "../errors.ts";
import { corrupt, decodeGlobals, decodeHost, decodeImage, decodeMemory, limit, readHeader, sectionTable } from "./decode.ts";
import { encodeImage } from "./encode.ts";
import { hexToBytes } from "./hex.ts";
import {
  DEFAULT_MAX_MEMORY_BYTES, FORMAT_VERSION, GLOBAL_TYPES, HEADER_BYTES, HEADER_DELTA, MAGIC, MAX_GLOBALS, MAX_HOST_RECORD_BYTES,
  SECTION_HEADER_BYTES, SectionKind, TRAILER_BYTES,
  type HostRecord, type ImageContents, type ImageGlobal, type ImageLimits, type MemoryRun,
} from "./format.ts";
import { imageChecksum } from "./checksum.ts";

/** How a delta names its base: the base's length and checksum (its trailer). */
export interface ImageIdentity {
  length: number;
  checksum: number;
}

export interface DeltaContents {
  abi: number;
  /** SHA-256 of the module, hex: the same as the base's. */
  moduleId: string;
  base: ImageIdentity;
  /** pages: the memory size now; runs: the chunks that differ from the base (any bytes). */
  memory: { pages: number; chunkLog2: number; runs: MemoryRun[] };
  /** Globals whose bits changed, ascending by index. */
  globals: ImageGlobal[];
  host: HostRecord;
}

const BASE_PAYLOAD_BYTES = 12;

/** The identity a delta of `image` names (length and trailer); no checks. */
export function imageIdentity(image: Uint8Array): ImageIdentity {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  return { length: image.length, checksum: image.length >= TRAILER_BYTES ? view.getUint32(image.length - TRAILER_BYTES, true) : 0 };
}

/** True when `image` carries the delta header (version 2, delta flag); checks nothing else. */
export function isDeltaImage(image: Uint8Array): boolean {
  if (image.length < HEADER_BYTES) return false;
  for (let i = 0; i < MAGIC.length; i++) if (image[i] !== MAGIC[i]) return false;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  return view.getUint16(8, true) === FORMAT_VERSION && (view.getUint16(10, true) & HEADER_DELTA) !== 0;
}

function mismatch(what: string): StasisError {
  return new StasisError("BASE_MISMATCH", `the delta image does not apply here: ${what}; pass the chain in order, starting from the full image the first delta was taken against`);
}

// ── encoding ────────────────────────────────────────────────────────────────────────

export function encodeDelta(delta: DeltaContents): Uint8Array<ArrayBuffer> {
  const { memory, globals } = delta;
  const log2 = memory.chunkLog2;
  const dataBytes = memory.runs.reduce((sum, run) => sum + run.data.length, 0);
  const memoryLength = 12 + memory.runs.length * 8 + dataBytes;
  const globalsLength = 4 + globals.length * 16;
  const host = new TextEncoder().encode(JSON.stringify(delta.host));
  const sections: [SectionKind, number][] = [
    [SectionKind.Base, BASE_PAYLOAD_BYTES], [SectionKind.Memory, memoryLength], [SectionKind.Globals, globalsLength], [SectionKind.Host, host.length],
  ];
  const total = HEADER_BYTES + sections.reduce((sum, [, length]) => sum + SECTION_HEADER_BYTES + length, 0) + TRAILER_BYTES;
  const image = new Uint8Array(total);
  const view = new DataView(image.buffer);
  image.set(MAGIC, 0);
  view.setUint16(8, FORMAT_VERSION, true);
  view.setUint16(10, HEADER_DELTA, true);
  view.setUint32(12, delta.abi, true);
  image.set(hexToBytes(delta.moduleId), 16); // cached per id (hex.ts)
  view.setBigUint64(48, BigInt(total), true);
  view.setUint32(56, sections.length, true);
  let at = HEADER_BYTES;
  for (const [kind, length] of sections) {
    view.setUint32(at, kind, true);
    view.setUint32(at + 4, 0, true);
    view.setBigUint64(at + 8, BigInt(length), true);
    view.setBigUint64(at + 16, BigInt(length), true);
    at += SECTION_HEADER_BYTES;
    switch (kind) {
      case SectionKind.Base:
        view.setBigUint64(at, BigInt(delta.base.length), true);
        view.setUint32(at + 8, delta.base.checksum, true);
        break;
      case SectionKind.Memory: {
        view.setUint32(at, memory.pages, true);
        view.setUint32(at + 4, log2, true);
        view.setUint32(at + 8, memory.runs.length, true);
        let data = at + 12 + memory.runs.length * 8;
        memory.runs.forEach((run, i) => {
          view.setUint32(at + 12 + i * 8, run.firstChunk, true);
          view.setUint32(at + 16 + i * 8, run.data.length / 2 ** log2, true);
          image.set(run.data, data);
          data += run.data.length;
        });
        break;
      }
      case SectionKind.Globals:
        view.setUint32(at, globals.length, true);
        globals.forEach((g, i) => {
          view.setUint32(at + 4 + i * 16, g.index, true);
          view.setUint8(at + 8 + i * 16, GLOBAL_TYPES.indexOf(g.type));
          view.setUint32(at + 12 + i * 16, g.lo, true);
          view.setUint32(at + 16 + i * 16, g.hi, true);
        });
        break;
      default:
        image.set(host, at);
    }
    at += length;
  }
  view.setUint32(at, imageChecksum(FORMAT_VERSION, image.subarray(0, at)), true);
  return image;
}


// ── decoding ────────────────────────────────────────────────────────────────────────

/** Decodes a delta image (hostile input: header, checksum, then every section checked). */
export function decodeDelta(image: Uint8Array, limits: ImageLimits = {}): DeltaContents {
  const header = readHeader(image);
  if (!header.delta) throw new StasisError("BASE_MISMATCH", "a full image stands where a delta image was expected; a chain is one full image followed by deltas");
  const maxMemory = limits.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
  const found = sectionsOf(image, (kind, flags) => {
    if (flags !== 0) throw corrupt(`delta section ${kind} has flags ${flags}`);
    if (kind === SectionKind.Module) throw corrupt("a delta image cannot embed a module");
  });
  for (const kind of [SectionKind.Base, SectionKind.Memory, SectionKind.Globals, SectionKind.Host]) if (!found.has(kind)) throw corrupt(`delta section ${kind} is missing`);
  const base = found.get(SectionKind.Base)!;
  if (base.length !== BASE_PAYLOAD_BYTES) throw corrupt("base section length");
  const baseView = new DataView(base.buffer, base.byteOffset, base.byteLength);
  const baseLength = baseView.getBigUint64(0, true);
  if (baseLength < BigInt(HEADER_BYTES + TRAILER_BYTES) || baseLength > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt("base length");
  const globals = decodeGlobals(found.get(SectionKind.Globals)!);
  for (let i = 1; i < globals.length; i++) if (globals[i].index <= globals[i - 1].index) throw corrupt("delta globals out of order");
  return {
    abi: header.abi,
    moduleId: header.moduleId,
    base: { length: Number(baseLength), checksum: baseView.getUint32(8, true) },
    memory: decodeMemory(found.get(SectionKind.Memory)!, maxMemory),
    globals,
    host: decodeHost(found.get(SectionKind.Host)!),
  };
}

/** The sections of an image (sectionTable's checks, plus the delta codec's): payloads by kind. `check` sees each kind and flags. */
function sectionsOf(image: Uint8Array, check: (kind: SectionKind, flags: number) => void): Map<SectionKind, Uint8Array> {
  const found = new Map<SectionKind, Uint8Array>();
  for (const { kind, flags, stored, raw, payload } of sectionTable(image)) {
    if (kind < SectionKind.Memory || kind > SectionKind.Base) throw corrupt(`unknown section ${kind}`);
    if (raw !== stored) throw corrupt(`section ${kind} has mismatched lengths`);
    check(kind, flags);
    if (kind === SectionKind.Host && stored > MAX_HOST_RECORD_BYTES) throw limit("has a host record over 1 MiB");
    if (kind === SectionKind.Globals && stored > 4 + MAX_GLOBALS * 16) throw corrupt("globals section length");
    found.set(kind, payload);
  }
  return found;
}

/**
 * Decodes an uncompressed full image synchronously (the images rt.snapshot() writes);
 * null when a section is deflated (use decodeImage). Same checks as decodeImage.
 */
export function decodeFullSync(image: Uint8Array, limits: ImageLimits = {}): ImageContents | null {
  const header = readHeader(image);
  if (header.delta) return null;
  let deflated = false;
  const found = sectionsOf(image, (kind, flags) => {
    if (flags !== 0) deflated = true;
    if (kind === SectionKind.Base) throw corrupt("a base section in a full image");
  });
  if (deflated) return null;
  for (const kind of [SectionKind.Memory, SectionKind.Globals, SectionKind.Host]) if (!found.has(kind)) throw corrupt(`section ${kind} is missing`);
  const module = found.get(SectionKind.Module);
  if (module && module.length > (limits.maxModuleBytes ?? 64 << 20)) throw limit(`has a module of ${module.length} bytes, more than the limit`);
  return {
    abi: header.abi,
    moduleId: header.moduleId,
    memory: decodeMemory(found.get(SectionKind.Memory)!, limits.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES),
    globals: decodeGlobals(found.get(SectionKind.Globals)!),
    host: decodeHost(found.get(SectionKind.Host)!),
    ...(module ? { module } : {}),
  };
}

// ── applying a chain ────────────────────────────────────────────────────────────────

/**
 * Decodes a chain, [full image, delta, delta, …], into the full contents of its last
 * state. Each delta must name the image before it (BASE_MISMATCH otherwise); the result
 * references the images' bytes (no copies except where chunks join into one run).
 */
export async function decodeChain(chain: readonly Uint8Array[], limits: ImageLimits = {}): Promise<ImageContents> {
  if (!Array.isArray(chain) || chain.length === 0 || !chain.every((image) => image instanceof Uint8Array)) {
    throw new StasisError("BAD_OPTION", "an image chain is a non-empty array of Uint8Array: a full image, then the deltas taken after it");
  }
  if (isDeltaImage(chain[0])) throw mismatch("the chain starts with a delta image, not a full one");
  const base = await decodeImage(chain[0], limits);
  if (chain.length === 1) return base;
  const deltas = chain.slice(1).map((image) => decodeDelta(image, limits));
  return applyDeltas(base, chain.map(imageIdentity), deltas);
}

/** Merges a chain into one full image: the same bytes as the full snapshot of its last state. */
export async function mergeImages(base: Uint8Array, ...deltas: Uint8Array[]): Promise<Uint8Array<ArrayBuffer>> {
  return encodeImage(await decodeChain([base, ...deltas]));
}

/** Applies deltas[i], which must name ids[i], in turn to `base` (whose identity is ids[0]). */
export function applyDeltas(base: ImageContents, ids: readonly ImageIdentity[], deltas: readonly DeltaContents[]): ImageContents {
  const log2 = base.memory.chunkLog2;
  const chunkBytes = 2 ** log2;
  const chunks = new Map<number, Uint8Array>();
  for (const run of base.memory.runs) {
    for (let i = 0; i * chunkBytes < run.data.length; i++) chunks.set(run.firstChunk + i, run.data.subarray(i * chunkBytes, (i + 1) * chunkBytes));
  }
  const globals = base.globals.slice();
  const position = new Map(globals.map((g, i) => [g.index, i]));
  let pages = base.memory.pages;
  let host = base.host;
  deltas.forEach((delta, n) => {
    const id = ids[n];
    if (delta.base.length !== id.length || delta.base.checksum !== id.checksum) {
      throw mismatch(`delta ${n + 1} was taken against an image of ${delta.base.length} bytes with checksum ${hex(delta.base.checksum)}, but follows one of ${id.length} bytes with checksum ${hex(id.checksum)}`);
    }
    if (delta.moduleId !== base.moduleId || delta.abi !== base.abi) throw mismatch(`delta ${n + 1} belongs to module ${delta.moduleId}, the base to ${base.moduleId}`);
    if (delta.memory.chunkLog2 !== log2) throw corrupt(`delta ${n + 1} uses chunks of 2^${delta.memory.chunkLog2} bytes, its base 2^${log2}`);
    if (delta.memory.pages < pages) throw corrupt(`delta ${n + 1} shrinks memory from ${pages} to ${delta.memory.pages} pages`);
    for (const g of delta.globals) {
      const at = position.get(g.index);
      if (at === undefined || globals[at].type !== g.type) throw corrupt(`delta ${n + 1} changes global ${g.index}, which its base does not have with that type`);
      globals[at] = g;
    }
    for (const run of delta.memory.runs) {
      for (let i = 0; i * chunkBytes < run.data.length; i++) chunks.set(run.firstChunk + i, run.data.subarray(i * chunkBytes, (i + 1) * chunkBytes));
    }
    pages = delta.memory.pages;
    host = delta.host;
  });
  return { abi: base.abi, moduleId: base.moduleId, memory: { pages, chunkLog2: log2, runs: canonicalRuns(chunks, chunkBytes) }, globals, host };
}

/** Maximal runs of the chunks that are not all zero, in order (the full image's form). */
function canonicalRuns(chunks: Map<number, Uint8Array>, chunkBytes: number): MemoryRun[] {
  const order = [...chunks.keys()].filter((c) => !isZero(chunks.get(c)!)).sort((a, b) => a - b);
  const runs: MemoryRun[] = [];
  for (let i = 0; i < order.length; ) {
    let j = i + 1;
    while (j < order.length && order[j] === order[j - 1] + 1) j++;
    let data = chunks.get(order[i])!;
    if (j - i > 1) {
      data = new Uint8Array((j - i) * chunkBytes);
      for (let k = i; k < j; k++) data.set(chunks.get(order[k])!, (k - i) * chunkBytes);
    }
    runs.push({ firstChunk: order[i], data });
    i = j;
  }
  return runs;
}

export function isZero(bytes: Uint8Array): boolean {
  if (bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0) {
    const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
    return true;
  }
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

