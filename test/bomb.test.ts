// Deflate bombs: a compressed image section is inflated as a stream, never allocated at
// its declared size, and refused as soon as it is implausible.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { constants, createDeflateRaw } from "node:zlib";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../build/paths.ts";
import { compressImage, decodeImage, Program, Runtime } from "../host/index.ts";
import { sealImage } from "../host/image/checksum.ts";

const GiB = 2 ** 30;
const fixtures = join(packageRoot(), "test", "fixtures");

/** Deflates `parts`, each written `times[i]` times, streaming (the input is never whole; RLE is quick on zeros). */
async function deflateStream(parts: Uint8Array[], times: number[]): Promise<Uint8Array> {
  const deflate = createDeflateRaw({ strategy: constants.Z_RLE });
  const chunks: Buffer[] = [];
  deflate.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => deflate.on("end", resolve));
  for (const [i, part] of parts.entries()) for (let n = 0; n < times[i]; n++) deflate.write(part);
  deflate.end();
  await ended;
  return new Uint8Array(Buffer.concat(chunks));
}

/** The fixture image with its memory section replaced by a deflated payload declaring `raw` bytes. */
async function withMemory(compressed: Uint8Array, raw: number): Promise<Uint8Array> {
  const image = new Uint8Array(await readFile(join(fixtures, "pingpong-v1.img")));
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const sections: Uint8Array[] = [];
  for (let at = 60, i = 0; i < view.getUint32(56, true); i++) {
    const length = Number(view.getBigUint64(at + 8, true));
    const kind = view.getUint32(at, true);
    if (kind === 1) {
      const header = new Uint8Array(24);
      const h = new DataView(header.buffer);
      h.setUint32(0, 1, true);
      h.setUint32(4, 1, true);
      h.setBigUint64(8, BigInt(compressed.length), true);
      h.setBigUint64(16, BigInt(raw), true);
      sections.push(header, compressed);
    } else sections.push(image.subarray(at, at + 24 + length));
    at += 24 + length;
  }
  const total = 60 + sections.reduce((sum, s) => sum + s.length, 0) + 4;
  const out = new Uint8Array(total);
  out.set(image.subarray(0, 60));
  let at = 60;
  for (const s of sections) {
    out.set(s, at);
    at += s.length;
  }
  const v = new DataView(out.buffer);
  v.setBigUint64(48, BigInt(total), true);
  sealImage(out);
  return out;
}

function memoryHeader(pages: number, runs: [number, number][]): Uint8Array {
  const header = new Uint8Array(12 + runs.length * 8);
  const view = new DataView(header.buffer);
  view.setUint32(0, pages, true);
  view.setUint32(4, 12, true);
  view.setUint32(8, runs.length, true);
  runs.forEach(([first, count], i) => {
    view.setUint32(12 + i * 8, first, true);
    view.setUint32(16 + i * 8, count, true);
  });
  return header;
}

describe("deflate bombs", () => {
  it("rejects_deflate_bomb: 1 MB inflating to 1 GiB of zeros is refused with a small peak", async () => {
    const header = memoryHeader(GiB / 65536, [[0, GiB / 4096]]);
    const compressed = await deflateStream([header, new Uint8Array(1 << 20)], [1, 1024]);
    expect(compressed.length).toBeLessThan(1.1e6);
    const bomb = await withMemory(compressed, header.length + GiB);
    const before = process.memoryUsage();
    const error = await decodeImage(bomb).then(() => null, (e: unknown) => e);
    const after = process.memoryUsage();
    expect(error).toMatchObject({ code: "CORRUPT", message: expect.stringMatching(/all-zero chunk/) });
    // The old decoder allocated (and filled) the declared 1 GiB first.
    expect(after.rss - before.rss).toBeLessThan(64 * 2 ** 20);
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(64 * 2 ** 20);
    const program = await Program.load(new Uint8Array(await readFile(join(fixtures, "pingpong-v1.wasm"))));
    await expect(Runtime.restore(program, bomb)).rejects.toMatchObject({ code: "CORRUPT" });
  });

  it("rejects_deflate_bomb_lying_table: a run table that does not add up to the declared size is refused before any data", async () => {
    const header = memoryHeader(16, [[0, 1]]);
    const compressed = await deflateStream([header, new Uint8Array(1 << 20).fill(1)], [1, 4]);
    const bomb = await withMemory(compressed, header.length + GiB);
    await expect(decodeImage(bomb)).rejects.toMatchObject({ code: "CORRUPT", message: expect.stringMatching(/run table does not match/) });
    const big = memoryHeader(2 * GiB / 65536, [[0, 1]]);
    const over = await withMemory(await deflateStream([big, new Uint8Array(4096).fill(1)], [1, 1]), big.length + 4096);
    await expect(decodeImage(over)).rejects.toMatchObject({ code: "LIMIT" });
  });

  it("a compressed image still decodes to the same contents", async () => {
    const image = new Uint8Array(await readFile(join(fixtures, "pingpong-v1.img")));
    const compressed = await compressImage(image);
    expect(compressed.length).toBeLessThan(image.length);
    const a = await decodeImage(image);
    const b = await decodeImage(compressed);
    expect(b.memory.runs.map((r) => [r.firstChunk, Buffer.from(r.data).toString("base64")])).toEqual(a.memory.runs.map((r) => [r.firstChunk, Buffer.from(r.data).toString("base64")]));
  });

  it("a compressed image that embeds its module thaws from the inflated module alone", async () => {
    const program = await Program.load(new Uint8Array(await readFile(join(fixtures, "pingpong-v1.wasm"))));
    const rt = await Runtime.start(program, { print: () => {}, seed: 1 });
    rt.step({ budget: 3 });
    const image = rt.snapshot({ embed: true });
    const outputs: string[][] = [];
    for (const bytes of [image, await compressImage(image)]) {
      const output: string[] = [];
      const thawed = await Runtime.restore(null, bytes, { print: (line) => output.push(line) });
      await thawed.run();
      expect(Buffer.compare(thawed.snapshot({ embed: true }).subarray(16, 48), image.subarray(16, 48))).toBe(0);
      outputs.push(output);
    }
    expect(outputs[1]).toEqual(outputs[0]);
    expect(outputs[0].length).toBeGreaterThan(0);
  });
});
