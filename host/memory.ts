// Reading AssemblyScript values out of linear memory, defensively.
//
// Views are made fresh on every call: memory.grow detaches the old ArrayBuffer.
// Pointers come from the program and may be wrong (a trap mid-way, a known asc quirk
// that passes pointers to strings it never emitted), so every read is bounds-checked
// and an implausible string reads as null instead of throwing.

/** Longest string read from the program (characters); longer ones are cut. */
const MAX_STRING_CHARS = 1 << 20;

/** One decoder for every read: making one (an ICU converter) cost more than a short decode. */
const utf16 = new TextDecoder("utf-16le");

/** Reads an AssemblyScript string (UTF-16LE, byte length at ptr - 4), or null. */
export function readString(memory: WebAssembly.Memory, ptr: number): string | null {
  const buffer = memory.buffer;
  if (ptr === 0 || ptr < 4 || ptr % 2 !== 0 || ptr > buffer.byteLength) return null;
  const byteLength = new DataView(buffer).getUint32(ptr - 4, true);
  if (byteLength % 2 !== 0 || ptr + byteLength > buffer.byteLength) return null;
  const chars = Math.min(byteLength >>> 1, MAX_STRING_CHARS);
  return utf16.decode(new Uint8Array(buffer, ptr, chars * 2));
}

/** Copies an AssemblyScript ArrayBuffer (byte length at ptr - 4) out of memory, or null. */
export function readBytes(memory: WebAssembly.Memory, ptr: number): Uint8Array | null {
  const buffer = memory.buffer;
  if (ptr < 4 || ptr % 4 !== 0 || ptr > buffer.byteLength) return null;
  const byteLength = new DataView(buffer).getUint32(ptr - 4, true);
  if (ptr + byteLength > buffer.byteLength) return null;
  return new Uint8Array(buffer.slice(ptr, ptr + byteLength));
}
