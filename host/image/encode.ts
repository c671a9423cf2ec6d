// Encoding an image (format in format.ts and docs/IMAGE-FORMAT.md). One allocation of
// the exact size, sections in a fixed order (memory, globals, host, module), so the
// same contents always give the same bytes: decode → encode is the identity.
import { crc32c } from "./crc32c.ts";
import {
  FORMAT_VERSION, GLOBAL_TYPES, HEADER_BYTES, MAGIC, SECTION_DEFLATE, SECTION_HEADER_BYTES, SectionKind, TRAILER_BYTES,
  type ImageContents,
} from "./format.ts";

interface Section {
  kind: SectionKind;
  flags: number;
  rawLength: number;
  payload: Uint8Array;
}

export interface EncodeOptions {
  /** Deflate the memory and module sections (needs CompressionStream: Node ≥ 18, Deno, browsers). */
  compress?: boolean;
}

/** Encodes uncompressed. */
export function encodeImage(contents: ImageContents): Uint8Array<ArrayBuffer> {
  return assemble(contents, rawSections(contents));
}

/** Encodes, deflating the memory and module sections when `compress` is set. */
export async function encodeImageAsync(contents: ImageContents, options: EncodeOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const sections = rawSections(contents);
  if (options.compress) {
    for (const section of sections) {
      if (section.kind === SectionKind.Memory || section.kind === SectionKind.Module) {
        section.payload = await deflate(section.payload);
        section.flags |= SECTION_DEFLATE;
      }
    }
  }
  return assemble(contents, sections);
}

function rawSections(contents: ImageContents): Section[] {
  const sections = [memorySection(contents), globalsSection(contents), hostSection(contents)];
  if (contents.module) sections.push({ kind: SectionKind.Module, flags: 0, rawLength: contents.module.length, payload: contents.module });
  return sections;
}

function memorySection({ memory }: ImageContents): Section {
  const dataBytes = memory.runs.reduce((sum, run) => sum + run.data.length, 0);
  const payload = new Uint8Array(12 + memory.runs.length * 8 + dataBytes);
  const view = new DataView(payload.buffer);
  view.setUint32(0, memory.pages, true);
  view.setUint32(4, memory.chunkLog2, true);
  view.setUint32(8, memory.runs.length, true);
  let at = 12;
  for (const run of memory.runs) {
    view.setUint32(at, run.firstChunk, true);
    view.setUint32(at + 4, run.data.length >>> memory.chunkLog2, true);
    at += 8;
  }
  for (const run of memory.runs) {
    payload.set(run.data, at);
    at += run.data.length;
  }
  return { kind: SectionKind.Memory, flags: 0, rawLength: payload.length, payload };
}

function globalsSection({ globals }: ImageContents): Section {
  const payload = new Uint8Array(4 + globals.length * 16);
  const view = new DataView(payload.buffer);
  view.setUint32(0, globals.length, true);
  globals.forEach((g, i) => {
    const at = 4 + i * 16;
    view.setUint32(at, g.index, true);
    view.setUint8(at + 4, GLOBAL_TYPES.indexOf(g.type));
    view.setBigUint64(at + 8, g.bits, true);
  });
  return { kind: SectionKind.Globals, flags: 0, rawLength: payload.length, payload };
}

function hostSection({ host }: ImageContents): Section {
  const payload = new TextEncoder().encode(JSON.stringify(host));
  return { kind: SectionKind.Host, flags: 0, rawLength: payload.length, payload };
}

function assemble(contents: ImageContents, sections: Section[]): Uint8Array<ArrayBuffer> {
  const total = HEADER_BYTES + sections.reduce((sum, s) => sum + SECTION_HEADER_BYTES + s.payload.length, 0) + TRAILER_BYTES;
  const image = new Uint8Array(total);
  const view = new DataView(image.buffer);
  image.set(MAGIC, 0);
  view.setUint16(8, FORMAT_VERSION, true);
  view.setUint16(10, 0, true);
  view.setUint32(12, contents.abi, true);
  image.set(hexToBytes(contents.moduleId), 16);
  view.setBigUint64(48, BigInt(total), true);
  view.setUint32(56, sections.length, true);
  let at = HEADER_BYTES;
  for (const s of sections) {
    view.setUint32(at, s.kind, true);
    view.setUint32(at + 4, s.flags, true);
    view.setBigUint64(at + 8, BigInt(s.payload.length), true);
    view.setBigUint64(at + 16, BigInt(s.rawLength), true);
    image.set(s.payload, at + SECTION_HEADER_BYTES);
    at += SECTION_HEADER_BYTES + s.payload.length;
  }
  view.setUint32(at, crc32c(image.subarray(0, at)), true);
  return image;
}

export function hexToBytes(hex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`module id must be 64 hex digits, got "${hex}"`);
  return Uint8Array.from(hex.match(/../g)!, (pair) => parseInt(pair, 16));
}

async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
