// Inflating a section of an untrusted image without trusting its declared size.
//
// The declared raw length only bounds the output: nothing of that size is allocated up
// front. Output grows as the stream delivers it, in place where the engine has
// resizable ArrayBuffers (Node ≥ 20, Deno, current browsers: address space is reserved,
// memory committed as bytes arrive), else by doubling. Inflation stops as soon as the
// output passes the declared length (CORRUPT), and an inspector sees every byte as it
// arrives and can refuse the section early: the memory section's (memoryInspector)
// checks its header and run table before any data, and refuses an all-zero chunk
// inside a run, which writers never store, so a deflate bomb of zeros (1 MB → 1 GiB) is
// refused after its first 4 KiB of data.
import { StasisError } from "../errors.ts";

export type Inspector = (bytes: Uint8Array, length: number) => void;

function corrupt(what: string): StasisError {
  return new StasisError("CORRUPT", `the image is damaged (${what}); use an earlier checkpoint or freeze the program again`);
}

interface Growable {
  bytes: Uint8Array;
  reserve(length: number): void;
}

type ResizableBuffer = ArrayBuffer & { resize(length: number): void };
const ResizableArrayBuffer = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ResizableBuffer;

function growable(max: number): Growable {
  const initial = Math.min(max, 1 << 16);
  try {
    const buffer = new ResizableArrayBuffer(initial, { maxByteLength: max });
    if (typeof buffer.resize === "function" && buffer.byteLength === initial) {
      const g: Growable = {
        bytes: new Uint8Array(buffer),
        reserve(length) {
          if (length <= buffer.byteLength) return;
          buffer.resize(Math.min(max, Math.max(length, buffer.byteLength * 2)));
          g.bytes = new Uint8Array(buffer);
        },
      };
      return g;
    }
  } catch {
    // no resizable ArrayBuffers here: grow by copying
  }
  const g: Growable = {
    bytes: new Uint8Array(initial),
    reserve(length) {
      if (length <= g.bytes.length) return;
      const next = new Uint8Array(Math.min(max, Math.max(length, g.bytes.length * 2)));
      next.set(g.bytes);
      g.bytes = next;
    },
  };
  return g;
}

/** Inflates deflate-raw data that must come to exactly `expected` bytes. */
export async function inflate(data: Uint8Array, expected: number, inspect?: Inspector): Promise<Uint8Array> {
  const out = growable(expected);
  let length = 0;
  const reader = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("deflate-raw")).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (length + value.length > expected) throw corrupt("a compressed section inflates past its declared size");
      out.reserve(length + value.length);
      out.bytes.set(value, length);
      length += value.length;
      inspect?.(out.bytes, length);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    if (error instanceof StasisError) throw error;
    throw corrupt("a compressed section does not inflate");
  } finally {
    reader.releaseLock();
  }
  if (length !== expected) throw corrupt("a compressed section inflates short of its declared size");
  return out.bytes.length === expected ? out.bytes : out.bytes.subarray(0, expected);
}

/**
 * Checks a memory section while it inflates: header and limit once 12 bytes are in,
 * the run table against the declared size once it is in, then every chunk of run data
 * for a non-zero byte.
 */
export function memoryInspector(expected: number, maxMemory: number, limit: (what: string) => StasisError): Inspector {
  let dataStart = -1;
  let chunkBytes = 0;
  let checked = 0;
  return (bytes, length) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset, length);
    if (dataStart < 0) {
      if (length < 12) return;
      const pages = view.getUint32(0, true);
      const chunkLog2 = view.getUint32(4, true);
      const runCount = view.getUint32(8, true);
      if (pages * 65536 > maxMemory) throw limit(`claims ${pages * 65536} bytes of memory, more than the limit of ${maxMemory}`);
      if (chunkLog2 < 5 || chunkLog2 > 16) throw corrupt(`chunk size 2^${chunkLog2}`);
      const tableEnd = 12 + runCount * 8;
      if (tableEnd > expected) throw corrupt("memory run table longer than the section");
      if (length < tableEnd) return;
      chunkBytes = 2 ** chunkLog2;
      let dataBytes = 0;
      for (let i = 0; i < runCount; i++) dataBytes += view.getUint32(16 + i * 8, true) * chunkBytes;
      if (tableEnd + dataBytes !== expected) throw corrupt("the memory run table does not match the section's size");
      dataStart = checked = tableEnd;
    }
    for (; checked + chunkBytes <= length; checked += chunkBytes) {
      let nonzero = false;
      for (let at = checked, end = checked + chunkBytes; at < end; at++) {
        if (bytes[at] !== 0) {
          nonzero = true;
          break;
        }
      }
      if (!nonzero) throw corrupt(`an all-zero chunk inside a memory run at section byte ${checked} (writers leave those out; this looks like a decompression bomb)`);
    }
  };
}
