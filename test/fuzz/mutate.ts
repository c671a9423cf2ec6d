// Image mutations for the fuzzer: structure-aware damage with the checksum recomputed, so
// every case gets past the CRC and reaches the parser, the state writer and the program.
//
// The mutators aim at what a decoder trusts: header fields, section headers (kind, flags,
// lengths), the memory run table, the globals table, the JSON host record, and the
// memory bytes the program itself then runs on. Deterministic for a given seed.
import { sealImage } from "../../host/image/checksum.ts";
import { HEADER_BYTES, SECTION_HEADER_BYTES } from "../../host/image/format.ts";

/** xorshift32: small, fast and repeatable. */
export class Random {
  constructor(private state: number) {
    if (this.state === 0) this.state = 0x9e3779b9;
  }
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  below(n: number): number {
    return this.next() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}

const INTERESTING_U32 = [0, 1, 2, 3, 4, 7, 8, 12, 16, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

interface SectionInfo {
  at: number;
  kind: number;
  length: number;
}

function sections(image: Uint8Array): SectionInfo[] {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const out: SectionInfo[] = [];
  let at = HEADER_BYTES;
  const count = Math.min(view.getUint32(56, true), 16);
  for (let i = 0; i < count && at + SECTION_HEADER_BYTES <= image.length - 4; i++) {
    const length = Number(view.getBigUint64(at + 8, true));
    out.push({ at, kind: view.getUint32(at, true), length });
    at += SECTION_HEADER_BYTES + length;
  }
  return out;
}

/** Rewrites the total length and the checksum so the image reaches the structural checks. */
export function reseal(image: Uint8Array): Uint8Array {
  if (image.length < HEADER_BYTES + 4) return image;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  view.setBigUint64(48, BigInt(image.length), true);
  sealImage(image);
  return image;
}

function hostRecordVariants(random: Random, json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const values: unknown[] = [null, true, 0, -1, 1e308, NaN, "", "x".repeat(300), [], {}, [[1, "a.1"]], "/dev/zero", "../../etc/passwd", "0".repeat(32), "legacy-1"];
  const keys = ["done", "seed", "program", "lineage", "inherited", "extra", "__proto__"];
  const key = random.pick(keys);
  if (random.below(4) === 0) delete record[key];
  else record[key] = random.pick(values);
  return JSON.stringify(record);
}

/** One mutated copy of `base`, resealed. */
export function mutate(base: Uint8Array, random: Random): Uint8Array {
  let image = base.slice();
  const view = () => new DataView(image.buffer, image.byteOffset, image.byteLength);
  const rounds = 1 + random.below(3);
  for (let r = 0; r < rounds; r++) {
    // Earlier rounds may have moved things: read the layout again, keeping what fits.
    const list = sections(image).filter((s) => s.at + SECTION_HEADER_BYTES + s.length <= image.length - 4);
    const section = list.length ? random.pick(list) : undefined;
    switch (random.below(9)) {
      case 0: { // a bit anywhere after the magic
        const at = 8 + random.below(image.length - 12);
        image[at] ^= 1 << random.below(8);
        break;
      }
      case 1: { // an interesting u32 in the header
        const at = random.pick([8, 10, 12, 56]);
        if (at === 8 || at === 10) view().setUint16(at, random.pick(INTERESTING_U32) & 0xffff, true);
        else view().setUint32(at, random.pick(INTERESTING_U32), true);
        break;
      }
      case 2: { // a section header field
        if (!section) break;
        const field = random.pick([0, 4, 8, 12, 16, 20]);
        view().setUint32(section.at + field, random.pick(INTERESTING_U32), true);
        break;
      }
      case 3: { // an interesting u32 inside a section's payload (run table, globals table…)
        if (!section || section.length < 4) break;
        const payloadAt = section.at + SECTION_HEADER_BYTES;
        const at = payloadAt + 4 * random.below(Math.min(section.length >>> 2, 64));
        view().setUint32(at, random.pick(INTERESTING_U32), true);
        break;
      }
      case 4: { // random bytes in the memory data the program will run on
        const memory = list.find((s) => s.kind === 1);
        if (!memory || memory.length < 16) break;
        const payloadAt = memory.at + SECTION_HEADER_BYTES;
        for (let n = 1 + random.below(8); n > 0; n--) {
          const at = payloadAt + random.below(memory.length);
          image[at] = random.below(2) ? random.below(256) : random.pick([0, 0xff]);
        }
        break;
      }
      case 5: { // a global's value or type
        const globals = list.find((s) => s.kind === 2);
        if (!globals || globals.length < 20) break;
        const count = (globals.length - 4) >>> 4;
        const at = globals.at + SECTION_HEADER_BYTES + 4 + 16 * random.below(count);
        const field = random.pick([0, 4, 8, 12]);
        view().setUint32(at + field, random.pick(INTERESTING_U32), true);
        break;
      }
      case 6: { // the host record's JSON
        const host = list.find((s) => s.kind === 3);
        if (!host) break;
        const payloadAt = host.at + SECTION_HEADER_BYTES;
        const json = new TextDecoder().decode(image.subarray(payloadAt, payloadAt + host.length));
        const replaced = new TextEncoder().encode(hostRecordVariants(random, json));
        const next = new Uint8Array(image.length - host.length + replaced.length);
        next.set(image.subarray(0, payloadAt));
        next.set(replaced, payloadAt);
        next.set(image.subarray(payloadAt + host.length), payloadAt + replaced.length);
        image = next;
        const v = new DataView(image.buffer);
        v.setBigUint64(host.at + 8, BigInt(replaced.length), true);
        v.setBigUint64(host.at + 16, BigInt(replaced.length), true);
        return reseal(image);
      }
      case 7: { // cut or extend
        const cut = random.below(2) === 0;
        if (cut) image = image.slice(0, Math.max(HEADER_BYTES + 4, image.length - 1 - random.below(64)));
        else {
          const longer = new Uint8Array(image.length + 1 + random.below(64));
          longer.set(image);
          image = longer;
        }
        break;
      }
      default: { // a byte of a section header or payload start set to an edge value
        if (!section) break;
        const at = section.at + random.below(SECTION_HEADER_BYTES + Math.min(section.length, 32));
        if (at < image.length - 4) image[at] = random.pick([0, 1, 0x7f, 0x80, 0xff]);
      }
    }
  }
  return reseal(image);
}
