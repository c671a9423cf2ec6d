// Images as untrusted input: every damaged, truncated, foreign or hostile image is
// rejected with a typed error, and nothing is allocated from an unchecked size.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
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
  new DataView(copy.buffer).setUint32(copy.length - 4, crc32c(copy.subarray(0, copy.length - 4)), true);
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

describe("the checked-in v1 fixture", () => {
  it("still decodes and thaws into its program", async () => {
    const program = await Program.load(new Uint8Array(await readFile(join(fixtures, "pingpong-v1.wasm"))));
    const fixture = new Uint8Array(await readFile(join(fixtures, "pingpong-v1.img")));
    const output: string[] = [];
    const rt = await Runtime.restore(program, fixture, { print: (l) => output.push(l) });
    await rt.run();
    expect(output).toEqual(["b 1", "a 2", "b 2", "done"]);
    expect(Buffer.from(encodeImage(await decodeImage(fixture))).equals(Buffer.from(fixture))).toBe(true);
  });
});
