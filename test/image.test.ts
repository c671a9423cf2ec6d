// Images as untrusted input: every damaged, truncated, foreign or hostile image is
// rejected with a typed error, and nothing is allocated from an unchecked size.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { imageChecksum, sealImage } from "../host/image/checksum.ts";
import { xxh32 } from "../host/image/xxh32.ts";
import { crc32c } from "../host/image/crc32c.ts";
import { decodeImage, encodeImage, Program, Runtime, StasisError, compressImage } from "../host/index.ts";
import { loadProgram } from "./helpers.ts";

const fixtures = join(fileURLToPath(new URL(".", import.meta.url)), "fixtures");
const IMAGE_CODES = ["BAD_MAGIC", "UNSUPPORTED_VERSION", "TRUNCATED", "CORRUPT", "LIMIT"];

let image: Uint8Array;

beforeAll(async () => {
  const rt = await Runtime.start(await loadProgram("pingpong.ts"), { print: () => {}, seed: 7 });
  rt.step({ budget: 4 });
  image = rt.snapshot();
});

/** Rewrites the trailing checksum so only the structural checks can catch a change. */
function resealed(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  sealImage(copy);
  return copy;
}

async function rejection(bytes: Uint8Array): Promise<StasisError | null> {
  try {
    await decodeImage(bytes);
    return null;
  } catch (error) {
    if (!(error instanceof StasisError)) throw error;
    return error;
  }
}

describe("image decoding", () => {
  it("round-trips: decode → encode gives identical bytes", async () => {
    expect(Buffer.from(encodeImage(await decodeImage(image))).equals(Buffer.from(image))).toBe(true);
  });

  it("compresses and still thaws", async () => {
    const compressed = await compressImage(image);
    expect(compressed.length).toBeLessThan(image.length / 2);
    const output: string[] = [];
    const rt = await Runtime.restore(await loadProgram("pingpong.ts"), compressed, { print: (l) => output.push(l) });
    await rt.run();
    expect(output).toEqual(["b 1", "a 2", "b 2", "done"]);
  });

  it("rejects_every_truncation with TRUNCATED", async () => {
    const codes = new Set<string>();
    for (let length = 0; length < image.length; length++) codes.add((await rejection(image.subarray(0, length)))?.code ?? "accepted");
    expect([...codes]).toEqual(["TRUNCATED"]);
  });

  it("rejects_bit_flips anywhere in the image", async () => {
    for (let at = 0; at < image.length; at++) {
      const flipped = image.slice();
      flipped[at] ^= 1 << at % 8;
      const error = await rejection(flipped);
      expect(error, `flip at byte ${at}`).not.toBeNull();
      expect(IMAGE_CODES).toContain(error!.code);
    }
  });

  it("rejects_structural_damage behind a valid checksum with a typed error, never a crash", async () => {
    const program = await loadProgram("pingpong.ts");
    // Header, section headers and the memory run table: where the structure lives.
    for (let at = 8; at < 300; at++) {
      for (const value of [0x00, 0xff, 0x7f, 0x80]) {
        const damaged = image.slice();
        damaged[at] = value;
        const bytes = resealed(damaged);
        try {
          const rt = await Runtime.restore(program, bytes, { print: () => {} });
          rt.step({ budget: 1 });
        } catch (error) {
          expect(error, `byte ${at} = ${value}: ${String(error)}`).toBeInstanceOf(StasisError);
        }
      }
    }
  });

  it("rejects_hostile_4GiB_memory_size without allocating it", async () => {
    const hostile = image.slice();
    // The memory section's page count: first field of the first section's payload.
    new DataView(hostile.buffer).setUint32(60 + 24, 65536, true);
    const started = performance.now();
    expect(await rejection(resealed(hostile))).toMatchObject({ code: "LIMIT", message: expect.stringMatching(/4294967296 bytes of memory/) });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("rejects_hostile_section_length", async () => {
    const hostile = image.slice();
    new DataView(hostile.buffer).setBigUint64(60 + 8, 1n << 62n, true);
    expect(await rejection(resealed(hostile))).toMatchObject({ code: "CORRUPT" });
  });

  it("rejects_foreign_bytes with BAD_MAGIC and a future version with UNSUPPORTED_VERSION", async () => {
    expect(await rejection(new TextEncoder().encode("PK\x03\x04 definitely a zip file"))).toMatchObject({ code: "BAD_MAGIC" });
    const future = image.slice();
    new DataView(future.buffer).setUint16(8, 3, true);
    expect(await rejection(resealed(future))).toMatchObject({ code: "UNSUPPORTED_VERSION" });
  });
});

describe("the image checksum", () => {
  it("is CRC-32C: the standard check value and the RFC 3720 vectors, aligned or not", () => {
    const ascii = new TextEncoder().encode("123456789");
    expect(crc32c(ascii)).toBe(0xe3069283);
    const unaligned = new Uint8Array(ascii.length + 1);
    unaligned.set(ascii, 1);
    expect(crc32c(unaligned.subarray(1))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    // Lengths that leave a tail after the 16-byte rounds give the byte-wise result.
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 2654435761) >>> 24);
    for (const length of [15, 16, 17, 31, 999, 1000]) {
      let crc = 0xffffffff;
      for (const byte of data.subarray(0, length)) {
        crc ^= byte;
        for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
      }
      expect(crc32c(data.subarray(0, length))).toBe((crc ^ 0xffffffff) >>> 0);
    }
  });
});

describe("the format-2 checksum", () => {
  it("is XXH32 (seed 0): the reference vectors, aligned or not, at every tail length", () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(xxh32(text(""))).toBe(0x02cc5d05);
    expect(xxh32(text("a"))).toBe(0x550d7456);
    expect(xxh32(text("abc"))).toBe(0x32d153ff);
    expect(xxh32(text("Nobody inspects the spammish repetition"))).toBe(0xe2293b2f);
    // Values from the xxhash-wasm package (the C reference compiled to wasm), lengths around the 16-byte stripes.
    const data = Uint8Array.from({ length: 1001 }, (_, i) => (i * 2654435761) >>> 24);
    const expected: [number, number][] = [[15, 0xaa5d3fea], [16, 0x4995d5c5], [17, 0x7d7a2c93], [31, 0x9ac4b41b], [999, 0x07d63db0], [1000, 0x609cd97a]];
    for (const [length, hash] of expected) {
      expect(xxh32(data.subarray(0, length))).toBe(hash);
      const unaligned = new Uint8Array(length + 1);
      unaligned.set(data.subarray(0, length), 1);
      expect(xxh32(unaligned.subarray(1))).toBe(hash);
    }
  });

  it("catches every single-bit flip and every change within one aligned 4-byte word", () => {
    // Each 4-byte word enters one lane through bijections (odd multipliers, additions,
    // rotations), so a change confined to one word always changes the hash.
    const data = Uint8Array.from({ length: 1027 }, (_, i) => (i * 2654435761) >>> 24);
    const original = xxh32(data);
    for (let bit = 0; bit < data.length * 8; bit++) {
      data[bit >>> 3] ^= 1 << (bit & 7);
      expect(xxh32(data)).not.toBe(original);
      data[bit >>> 3] ^= 1 << (bit & 7);
    }
    for (let word = 0; word < 256; word++) {
      const changed = data.slice();
      new DataView(changed.buffer).setUint32(word * 4, (word * 0x9e3779b1) >>> 0 ^ 0xdeadbeef, true);
      if (changed.subarray(word * 4, word * 4 + 4).every((b, i) => b === data[word * 4 + i])) continue;
      expect(xxh32(changed)).not.toBe(original);
    }
  });

  it("is what images are written with now, while format-1 images keep their CRC-32C", () => {
    const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
    expect(view.getUint16(8, true)).toBe(2);
    expect(view.getUint32(image.length - 4, true)).toBe(imageChecksum(2, image.subarray(0, image.length - 4)));
    expect(imageChecksum(1, image.subarray(0, image.length - 4))).toBe(crc32c(image.subarray(0, image.length - 4)));
  });
});

describe("the checked-in v1 fixture", () => {
  it("still decodes (CRC-32C trailer) and thaws into its program", async () => {
    const program = await Program.load(new Uint8Array(await readFile(join(fixtures, "pingpong-v1.wasm"))));
    const fixture = new Uint8Array(await readFile(join(fixtures, "pingpong-v1.img")));
    const output: string[] = [];
    const rt = await Runtime.restore(program, fixture, { print: (l) => output.push(l) });
    await rt.run();
    expect(output).toEqual(["b 1", "a 2", "b 2", "done"]);
    // Written again, it becomes a format-2 image: the same bytes but the version and the checksum.
    const again = encodeImage(await decodeImage(fixture));
    expect(new DataView(again.buffer).getUint16(8, true)).toBe(2);
    expect(Buffer.from(again.subarray(10, -4)).equals(Buffer.from(fixture.subarray(10, -4)))).toBe(true);
    expect(Buffer.from(again.subarray(0, 8)).equals(Buffer.from(fixture.subarray(0, 8)))).toBe(true);
  });
});
