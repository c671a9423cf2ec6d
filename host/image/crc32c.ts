// CRC-32C (Castagnoli), the checksum of Stasis images. Table-driven, slicing by 16 over
// little-endian words (the byte order every JS engine we target uses for typed arrays):
// 16 tables of 256 entries in one flat array, table t at offset t * 256. About 0.8 ms per
// MiB in Node 20 here, against 1.4 ms slicing by 8.

const POLY = 0x82f63b78; // reflected Castagnoli polynomial

const T: Uint32Array = (() => {
  const table = new Uint32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    table[n] = c >>> 0;
  }
  for (let t = 1; t < 16; t++) {
    for (let n = 0; n < 256; n++) {
      const previous = table[(t - 1) * 256 + n];
      table[t * 256 + n] = (previous >>> 8) ^ table[previous & 0xff];
    }
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  let i = 0;
  // Whole 32-bit words where the data is aligned (images always are): four per round.
  if (bytes.byteOffset % 4 === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
    const rounds = words.length & ~3;
    for (let w = 0; w < rounds; w += 4) {
      const a = words[w] ^ crc;
      const b = words[w + 1];
      const c = words[w + 2];
      const d = words[w + 3];
      crc =
        T[0xf00 | (a & 0xff)] ^ T[0xe00 | ((a >>> 8) & 0xff)] ^ T[0xd00 | ((a >>> 16) & 0xff)] ^ T[0xc00 | (a >>> 24)] ^
        T[0xb00 | (b & 0xff)] ^ T[0xa00 | ((b >>> 8) & 0xff)] ^ T[0x900 | ((b >>> 16) & 0xff)] ^ T[0x800 | (b >>> 24)] ^
        T[0x700 | (c & 0xff)] ^ T[0x600 | ((c >>> 8) & 0xff)] ^ T[0x500 | ((c >>> 16) & 0xff)] ^ T[0x400 | (c >>> 24)] ^
        T[0x300 | (d & 0xff)] ^ T[0x200 | ((d >>> 8) & 0xff)] ^ T[0x100 | ((d >>> 16) & 0xff)] ^ T[d >>> 24];
    }
    i = rounds * 4;
  }
  for (; i < bytes.length; i++) crc = T[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
