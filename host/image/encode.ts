// Encoding an image (format in format.ts and docs/IMAGE-FORMAT.md). One allocation of
// the exact size, sections in a fixed order (memory, globals, host, module), so the
// same contents always give the same bytes: decode → encode is the identity. Sections
// write themselves into the image, so memory is copied once, straight from the
// instance's memory into the image (unless it is deflated first).
import { imageChecksum } from "./checksum.ts";
import { hexToBytes } from "./hex.ts";
import {
  FORMAT_VERSION, GLOBAL_TYPES, HEADER_BYTES, MAGIC, SECTION_DEFLATE, SECTION_HEADER_BYTES, SectionKind, TRAILER_BYTES,
  type ImageContents,
} from "./format.ts";


interface Section {
  kind: SectionKind;
  flags: number;
  /** Bytes before compression. */
  rawLength: number;
  /** Bytes in the image. */
  length: number;
  writeTo(target: Uint8Array, at: number): void;
}

function bytesSection(kind: SectionKind, payload: Uint8Array, flags = 0, rawLength = payload.length): Section {
  return { kind, flags, rawLength, length: payload.length, writeTo: (target, at) => target.set(payload, at) };
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
    for (const [i, section] of sections.entries()) {
      if (section.kind === SectionKind.Memory || section.kind === SectionKind.Module) {
        const raw = new Uint8Array(section.length);
        section.writeTo(raw, 0);
        sections[i] = bytesSection(section.kind, await deflate(raw), section.flags | SECTION_DEFLATE, raw.length);
      }
    }
  }
  return assemble(contents, sections);
}

function rawSections(contents: ImageContents): Section[] {
  const sections = [memorySection(contents), globalsSection(contents), hostSection(contents)];
  if (contents.module) sections.push(bytesSection(SectionKind.Module, contents.module));
  return sections;
}

function memorySection({ memory }: ImageContents): Section {
  const dataBytes = memory.runs.reduce((sum, run) => sum + run.data.length, 0);
  const length = 12 + memory.runs.length * 8 + dataBytes;
  const writeTo = (target: Uint8Array, start: number) => {
    const view = new DataView(target.buffer, target.byteOffset + start, 12 + memory.runs.length * 8);
    view.setUint32(0, memory.pages, true);
    view.setUint32(4, memory.chunkLog2, true);
    view.setUint32(8, memory.runs.length, true);
    memory.runs.forEach((run, i) => {
      view.setUint32(12 + i * 8, run.firstChunk, true);
      view.setUint32(16 + i * 8, run.data.length / 2 ** memory.chunkLog2, true);
    });
    let at = start + view.byteLength;
    for (const run of memory.runs) {
      target.set(run.data, at);
      at += run.data.length;
    }
  };
  return { kind: SectionKind.Memory, flags: 0, rawLength: length, length, writeTo };
}

function globalsSection({ globals }: ImageContents): Section {
  const payload = new Uint8Array(4 + globals.length * 16);
  const view = new DataView(payload.buffer);
  view.setUint32(0, globals.length, true);
  globals.forEach((g, i) => {
    const at = 4 + i * 16;
    view.setUint32(at, g.index, true);
    view.setUint8(at + 4, GLOBAL_TYPES.indexOf(g.type));
    view.setUint32(at + 8, g.lo, true);
    view.setUint32(at + 12, g.hi, true);
  });
  return bytesSection(SectionKind.Globals, payload);
}

const utf8 = new TextEncoder();

/**
 * The host record as JSON (the format's choice; about 80 bytes). Written straight into
 * the image when it is ASCII, as it nearly always is (hex lineage, numbers, a path):
 * TextEncoder.encode of a short string cost about 3x the copy loop here (Node 20).
 */
function hostSection({ host }: ImageContents): Section {
  const json = JSON.stringify(host);
  for (let i = 0; i < json.length; i++) if (json.charCodeAt(i) > 0x7f) return bytesSection(SectionKind.Host, utf8.encode(json));
  const writeTo = (target: Uint8Array, at: number) => {
    for (let i = 0; i < json.length; i++) target[at + i] = json.charCodeAt(i);
  };
  return { kind: SectionKind.Host, flags: 0, rawLength: json.length, length: json.length, writeTo };
}

function assemble(contents: ImageContents, sections: Section[]): Uint8Array<ArrayBuffer> {
  const total = HEADER_BYTES + sections.reduce((sum, s) => sum + SECTION_HEADER_BYTES + s.length, 0) + TRAILER_BYTES;
  const image = new Uint8Array(total);
  const view = new DataView(image.buffer);
  image.set(MAGIC, 0);
  view.setUint16(8, FORMAT_VERSION, true);
  view.setUint16(10, 0, true);
  view.setUint32(12, contents.abi, true);
  image.set(hexToBytes(contents.moduleId), 16);
  setU64(view, 48, total);
  view.setUint32(56, sections.length, true);
  let at = HEADER_BYTES;
  for (const s of sections) {
    view.setUint32(at, s.kind, true);
    view.setUint32(at + 4, s.flags, true);
    setU64(view, at + 8, s.length);
    setU64(view, at + 16, s.rawLength);
    s.writeTo(image, at + SECTION_HEADER_BYTES);
    at += SECTION_HEADER_BYTES + s.length;
  }
  view.setUint32(at, imageChecksum(FORMAT_VERSION, image.subarray(0, at)), true);
  return image;
}

/** A length below 2^53 as a little-endian u64, without a BigInt. */
function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
}

async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
