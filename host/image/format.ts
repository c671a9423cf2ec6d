// Stasis image format v2: the constants and the decoded shape. The byte layout is
// specified in docs/IMAGE-FORMAT.md; encode.ts and decode.ts implement full images,
// delta.ts delta images (header flag HEADER_DELTA, a base section naming the image they
// apply to). Version 1 (CRC-32C trailer, no deltas) is still read (checksum.ts).
//
//   header   magic "STASISIM" · u16 format version · u16 flags · u32 ABI version
//            · 32-byte module id · u64 total length · u32 section count     (60 bytes)
//   sections u32 kind · u32 flags · u64 stored length · u64 raw length · payload
//   trailer  u32 checksum of every byte before it: CRC-32C in v1, XXH32 in v2 (checksum.ts)
//
// Little-endian throughout.

export const MAGIC = new TextEncoder().encode("STASISIM");
export const FORMAT_VERSION = 2;
/** Format versions this host reads: 1 (CRC-32C trailer, full images only) and 2 (XXH32 trailer, full or delta; checksum.ts). */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1, 2];
/** Header flag (v2): the image is a delta (delta.ts); its sections describe changes to its base. */
export const HEADER_DELTA = 1;
export const HEADER_BYTES = 60;
export const SECTION_HEADER_BYTES = 24;
export const TRAILER_BYTES = 4;

export const enum SectionKind {
  Memory = 1,
  Globals = 2,
  Host = 3,
  Module = 4,
  /** HMAC-SHA-256 of everything before it; always the last section (auth.ts). */
  Signature = 5,
  /** Delta images only (v2): names the image the delta applies to (delta.ts). */
  Base = 6,
}

/** Section flag: the payload is deflate-raw compressed; raw length is the inflated size. */
export const SECTION_DEFLATE = 1;

/** Memory is stored in chunks of 1 << CHUNK_LOG2 bytes; all-zero chunks are left out. */
export const CHUNK_LOG2 = 12;

export type GlobalType = "i32" | "i64" | "f32" | "f64";
export const GLOBAL_TYPES: readonly GlobalType[] = ["i32", "i64", "f32", "f64"];

export interface MemoryRun {
  /** Index of the first chunk. */
  firstChunk: number;
  /** chunkCount << chunkLog2 bytes. */
  data: Uint8Array;
}

export interface ImageGlobal {
  /** The N of the `__stasis_g<N>` export. */
  index: number;
  type: GlobalType;
  /**
   * The value's bits, zero-extended to 64, as two unsigned 32-bit halves (numbers, so
   * freeze and thaw need no BigInt for i32, f32 and f64 globals): the low half, and the
   * high half (0 for i32 and f32). globalBits() gives them as one bigint.
   */
  lo: number;
  hi: number;
}

/** A global's 64 bits as one bigint. */
export function globalBits(g: ImageGlobal): bigint {
  return (BigInt(g.hi >>> 0) << 32n) | BigInt(g.lo >>> 0);
}

/** What the host keeps for a frozen program, as plain data (JSON in the image). */
export interface HostRecord {
  /** main had returned when the image was taken. */
  done: boolean;
  /** The seed the program's Math.random takes (lazily, on first use) from the host. */
  seed: number;
  /** Where the program's .wasm was loaded from, when known (a hint for resuming). */
  program?: string;
  /** The lineage host-call keys are issued under (host/lineage.ts); absent in older images. */
  lineage?: string;
  /** Keys of pending calls issued by an ancestor lineage before a fork: [call id, key]. */
  inherited?: [number, string][];
}

export interface ImageContents {
  abi: number;
  /** SHA-256 of the module, hex. */
  moduleId: string;
  memory: { pages: number; chunkLog2: number; runs: MemoryRun[] };
  globals: ImageGlobal[];
  host: HostRecord;
  /** The program's .wasm, when embedded. */
  module?: Uint8Array;
}

/** Limits a decoder enforces before allocating anything. */
export interface ImageLimits {
  /** Largest memory an image may claim, in bytes. Default 1 GiB. */
  maxMemoryBytes?: number;
  /** Largest embedded module, in bytes. Default 64 MiB. */
  maxModuleBytes?: number;
}

export const DEFAULT_MAX_MEMORY_BYTES = 1 << 30;
export const DEFAULT_MAX_MODULE_BYTES = 64 << 20;
export const MAX_HOST_RECORD_BYTES = 1 << 20;
export const MAX_GLOBALS = 1 << 16;
