// XXH32 (xxHash, 32-bit, seed 0): the checksum of format-2 images (checksum.ts).
//
// The reference algorithm (github.com/Cyan4973/xxHash, doc/xxhash_spec.md), written for
// V8's int32 fast paths: Math.imul, `| 0` and rotations on 32-bit words read through a
// Uint32Array (little-endian, like every engine Stasis targets). A view that does not start
// on a 4-byte boundary is copied once to an aligned buffer; images built here always start
// on one. Measured against the CRC-32C of format 1 (crc32c.ts, slicing by 16) on this
// machine, interleaved, medians of 9: 3.1× faster on a 32 KiB image (5.3 vs 16.5 µs), 3.0×
// on 1 MiB (188 vs 573 µs). Like the CRC it guards against damage, not forgery: that is the
// signature's job (auth.ts).

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** One lane's round: acc + input * P2, rotated by 13, times P1. */
function round(acc: number, input: number): number {
  return Math.imul(rotl((acc + Math.imul(input, P2)) | 0, 13), P1);
}

export function xxh32(bytes: Uint8Array): number {
  const length = bytes.length;
  const wordCount = length >>> 2;
  const words = bytes.byteOffset % 4 === 0
    ? new Uint32Array(bytes.buffer, bytes.byteOffset, wordCount)
    : new Uint32Array(bytes.slice(0, wordCount * 4).buffer);
  let w = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (P1 + P2) | 0;
    let v2 = P2;
    let v3 = 0;
    let v4 = -P1 | 0;
    for (const stripes = wordCount - 4; w <= stripes; w += 4) {
      v1 = round(v1, words[w]);
      v2 = round(v2, words[w + 1]);
      v3 = round(v3, words[w + 2]);
      v4 = round(v4, words[w + 3]);
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = P5;
  }
  h = (h + length) | 0;
  for (; w < wordCount; w++) h = Math.imul(rotl((h + Math.imul(words[w], P3)) | 0, 17), P4);
  for (let b = wordCount * 4; b < length; b++) h = Math.imul(rotl((h + Math.imul(bytes[b], P5)) | 0, 11), P1);
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}
