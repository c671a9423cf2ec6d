// Dirty tracking for delta images: which memory chunks and globals changed since the
// last image a runtime produced or thawed from (its *trail*). host/image/delta.ts holds
// the format; this file decides what goes into a delta.
//
// State machine of one runtime's trail (the mirror, and the images known to hold its state):
//
//   no mirror ─snapshot()─► no mirror (nothing copied: full snapshots stay as cheap as before)
//   any ─restore(image)─► no mirror;  restore(chain) ─► no mirror, the chain's last delta
//                          remembered with its decoded contents (they reference the chain)
//   any ─snapshot({ since })─► mirror of since's state (kept, or built: from the remembered
//                          contents, or by decoding since, a full image), diffed to now
//                          and updated in place ─► the delta is the mirror's holder
//   mirror ─snapshot()─► the mirror diffed to now; the full image holds its state too
//
// The mirror is a copy of the state *as the last image records it*: a map chunk → 4 KiB
// copy for every chunk the image holds (non-zero), and every global's bits. A delta
// compares the state captureState reports now (host/state.ts: the non-zero chunks found
// by the module's own scans, and every global) with the mirror, chunk by chunk, word by
// word. The comparison is exact (no hashing); the only chunks compared are those that
// are non-zero now or were non-zero at the last image, because a chunk zero in both is
// equal. A chunk that was non-zero and is not now is recorded as a run of zeros. Since
// both sides are what full images would hold, base + deltas merge to the full image of
// the same state, byte for byte, whatever captureState leaves out.
//
// `since` may be: the last image (same bytes, or the same delta with a signature added
// by signImage: the cheap, exact case); or any full, uncompressed image of the same
// module (the mirror is rebuilt from it, costing a decode: the delta then holds what
// differs from that image; this is also how the first delta after a full snapshot or a
// thaw of one image starts). Anything else (an older delta, a compressed image,
// another module's image) fails BASE_MISMATCH: a delta of an older delta would need
// that delta's whole chain.
import { StasisError } from "./errors.ts";
import { SIGNATURE_BYTES, verifyImageSignature, type ImageKey } from "./image/auth.ts";
import { decodeChain, decodeFullSync, encodeDelta, imageIdentity, isDeltaImage, type ImageIdentity } from "./image/delta.ts";
import { HEADER_BYTES, SECTION_HEADER_BYTES, TRAILER_BYTES, type ImageContents, type ImageGlobal, type ImageLimits, type MemoryRun } from "./image/format.ts";

/**
 * What Runtime.restore thaws: one full image, or a chain [full image, ...deltas]. With a
 * key every image of the chain must be signed with it. Returns the contents of the last
 * state and the chain.
 */
export async function decodeForThaw(image: Uint8Array | readonly Uint8Array[], options: ImageLimits & { key?: ImageKey }): Promise<{ contents: ImageContents; chain: readonly Uint8Array[] }> {
  const chain = image instanceof Uint8Array ? [image] : image;
  if (!Array.isArray(chain) || chain.length === 0 || !chain.every((i) => i instanceof Uint8Array)) {
    throw new StasisError("BAD_OPTION", "Runtime.restore takes the image as a Uint8Array, or a chain [full image, ...deltas] as an array of them");
  }
  if (options.key !== undefined) for (const each of chain) await verifyImageSignature(each, options.key);
  return { contents: await decodeChain(chain, options), chain };
}

interface MirrorChunk {
  words: Int32Array;
  /** The diff that last saw this chunk non-zero. */
  seen: number;
}

interface Mirror {
  pages: number;
  chunkLog2: number;
  chunks: Map<number, MirrorChunk>;
  /** Each global's bits at the mirrored image, by index. */
  globals: Map<number, ImageGlobal>;
  generation: number;
}

const SIGNED_EXTRA = SECTION_HEADER_BYTES + SIGNATURE_BYTES;

/** Images remembered as holding the mirror's state (a full snapshot and a delta of one moment). */
const MAX_HOLDERS = 4;

export class ImageTrail {
  /**
   * Images known to hold a state a delta can start from, newest last: with a mirror, all
   * hold the mirror's state; without one, only a thawed chain's last image, with its
   * contents. Bytes are kept for deltas only (small; needed to recognise a signed copy):
   * a full image is recognised by its identity, and without a mirror any full image is
   * decoded from `since` itself, so no runtime keeps a large image alive.
   */
  private holders: { id: ImageIdentity; delta: Uint8Array | null; contents: ImageContents | null }[] = [];
  private mirror: Mirror | null = null;

  /**
   * The runtime wrote the full image `image` of the state `now`. With a mirror (deltas in
   * use), the mirror is brought up to `now`, so a delta may be taken since this image or,
   * if nothing changed in between, the one before it. Without one nothing is copied or
   * kept: a delta since this image decodes it.
   */
  produced(image: Uint8Array, now: ImageContents): void {
    if (!this.mirror) return;
    // Both diffs run: each brings its half of the mirror up to `now`.
    const pages = this.mirror.pages;
    const { runs } = diffMemory(this.mirror, now);
    const globals = diffGlobals(this.mirror, now.globals);
    this.hold({ id: imageIdentity(image), delta: null, contents: null }, runs.length === 0 && globals.length === 0 && pages === now.memory.pages);
  }

  /** The runtime was thawed from `chain`, whose last state is `contents`. */
  thawed(chain: readonly Uint8Array[], contents: ImageContents): void {
    this.mirror = null;
    this.holders = [];
    // A single full image is decoded again if a delta names it; a chain's last image is a delta, kept with its state.
    const last = chain[chain.length - 1];
    if (chain.length > 1) this.hold({ id: imageIdentity(last), delta: last, contents }, false);
  }

  /** A delta from `since` to `now` (the state captureState reports); `now` becomes the trail's state. */
  delta(since: Uint8Array, now: ImageContents): Uint8Array<ArrayBuffer> {
    if (!(since instanceof Uint8Array)) throw new StasisError("BAD_OPTION", "snapshot({ since }) takes an earlier image (a Uint8Array) of this runtime");
    const mirror = this.mirrorFor(since, now);
    const pagesBefore = mirror.pages;
    const { runs, pages } = diffMemory(mirror, now);
    const globals = diffGlobals(mirror, now.globals);
    const image = encodeDelta({ abi: now.abi, moduleId: now.moduleId, base: imageIdentity(since), memory: { pages, chunkLog2: mirror.chunkLog2, runs }, globals, host: now.host });
    this.hold({ id: imageIdentity(image), delta: image, contents: null }, runs.length === 0 && globals.length === 0 && pages === pagesBefore);
    return image;
  }

  private hold(holder: { id: ImageIdentity; delta: Uint8Array | null; contents: ImageContents | null }, keepOthers: boolean): void {
    if (!keepOthers) this.holders = [];
    this.holders.push(holder);
    if (this.holders.length > MAX_HOLDERS) this.holders.shift();
  }

  private mirrorFor(since: Uint8Array, now: ImageContents): Mirror {
    const holder = this.holders.find((h) => sameState(since, h.id, h.delta));
    if (holder && this.mirror) return this.mirror;
    if (holder?.contents) return (this.mirror = mirrorOf(holder.contents));
    if (isDeltaImage(since)) {
      throw new StasisError("BASE_MISMATCH", "snapshot({ since }) got a delta image that is not the last image this runtime produced or thawed from; pass that one, or a full image");
    }
    const contents = decodeFullSync(since);
    if (!contents) throw new StasisError("BASE_MISMATCH", "snapshot({ since }) got a compressed image; pass the image as rt.snapshot() wrote it");
    if (contents.moduleId !== now.moduleId) throw new StasisError("BASE_MISMATCH", `snapshot({ since }) got an image of module ${contents.moduleId}, not of this runtime's ${now.moduleId}`);
    if (contents.memory.chunkLog2 !== now.memory.chunkLog2 || contents.memory.pages > now.memory.pages) {
      throw new StasisError("BASE_MISMATCH", "snapshot({ since }) got an image whose memory this runtime's cannot have grown from; pass an earlier image of this computation");
    }
    this.mirror = mirrorOf(contents);
    return this.mirror;
  }
}

/**
 * `since` holds the state of the image with identity `id`: the same length and checksum,
 * or (for a delta, whose bytes are kept) that delta signed by signImage.
 */
function sameState(since: Uint8Array, id: ImageIdentity, delta: Uint8Array | null): boolean {
  if (since === delta) return true;
  if (since.length === id.length) return imageIdentity(since).checksum === id.checksum;
  // signImage(delta): the header's length and count differ, then the same sections, then the signature.
  if (!delta || since.length !== delta.length + SIGNED_EXTRA) return false;
  return equalBytes(since, delta, 0, 48) && equalBytes(since, delta, HEADER_BYTES, delta.length - TRAILER_BYTES);
}

function equalBytes(a: Uint8Array, b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (a[i] !== b[i]) return false;
  return true;
}

function mirrorOf(contents: ImageContents): Mirror {
  const { chunkLog2, runs, pages } = contents.memory;
  const chunkBytes = 2 ** chunkLog2;
  const chunks = new Map<number, MirrorChunk>();
  for (const run of runs) {
    for (let i = 0; i * chunkBytes < run.data.length; i++) {
      const words = new Int32Array(chunkBytes >>> 2);
      new Uint8Array(words.buffer).set(run.data.subarray(i * chunkBytes, (i + 1) * chunkBytes));
      chunks.set(run.firstChunk + i, { words, seen: 0 });
    }
  }
  return { pages, chunkLog2, chunks, globals: new Map(contents.globals.map((g) => [g.index, g])), generation: 0 };
}

let zeros = new Uint8Array(0);

/** The runs of a delta (chunks that differ from the mirror), updating the mirror to `now`. */
function diffMemory(mirror: Mirror, now: ImageContents): { runs: MemoryRun[]; pages: number } {
  const chunkBytes = 2 ** mirror.chunkLog2;
  const wordsPerChunk = chunkBytes >>> 2;
  const generation = ++mirror.generation;
  const changed: MemoryRun[] = [];
  for (const run of now.memory.runs) {
    const aligned = run.data.byteOffset % 4 === 0;
    const live = aligned ? new Int32Array(run.data.buffer, run.data.byteOffset, run.data.length >>> 2) : new Int32Array(run.data.slice().buffer);
    const count = run.data.length / chunkBytes;
    let open = -1;
    for (let i = 0; i <= count; i++) {
      let differs = false;
      if (i < count) {
        const chunk = run.firstChunk + i;
        const base = i * wordsPerChunk;
        let entry = mirror.chunks.get(chunk);
        if (!entry) {
          entry = { words: new Int32Array(wordsPerChunk), seen: generation };
          mirror.chunks.set(chunk, entry);
          differs = true;
        } else {
          entry.seen = generation;
          const words = entry.words;
          for (let w = 0; w < wordsPerChunk; w++) {
            if (words[w] !== live[base + w]) {
              differs = true;
              break;
            }
          }
        }
        if (differs) entry.words.set(live.subarray(base, base + wordsPerChunk));
      }
      if (differs && open < 0) open = i;
      if (!differs && open >= 0) {
        changed.push({ firstChunk: run.firstChunk + open, data: run.data.subarray(open * chunkBytes, i * chunkBytes) });
        open = -1;
      }
    }
  }
  // Chunks the last image held that are zero now.
  const cleared: number[] = [];
  for (const [chunk, entry] of mirror.chunks) {
    if (entry.seen !== generation) cleared.push(chunk);
  }
  if (cleared.length > 0) {
    cleared.sort((a, b) => a - b);
    for (const chunk of cleared) mirror.chunks.delete(chunk);
    for (let i = 0; i < cleared.length; ) {
      let j = i + 1;
      while (j < cleared.length && cleared[j] === cleared[j - 1] + 1) j++;
      const bytes = (j - i) * chunkBytes;
      if (zeros.length < bytes) zeros = new Uint8Array(bytes);
      changed.push({ firstChunk: cleared[i], data: zeros.subarray(0, bytes) });
      i = j;
    }
    changed.sort((a, b) => a.firstChunk - b.firstChunk);
  }
  mirror.pages = now.memory.pages;
  return { runs: changed, pages: now.memory.pages };
}

function diffGlobals(mirror: Mirror, now: readonly ImageGlobal[]): ImageGlobal[] {
  const changed: ImageGlobal[] = [];
  for (const g of now) {
    const before = mirror.globals.get(g.index);
    if (before?.lo !== g.lo || before.hi !== g.hi) {
      changed.push(g);
      mirror.globals.set(g.index, g);
    }
  }
  return changed.sort((a, b) => a.index - b.index);
}
