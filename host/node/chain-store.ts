// A checkpoint on disk as a base and a bounded chain of delta images (host/image/delta.ts).
//
// Layout, for a checkpoint at <path>:
//   <path>        the base: a full image (what every reader of one image can read)
//   <path>.d1 …   delta k, taken since the image before it (<path> for d1, d(k-1) after)
// Each file is written atomically (store.ts: temporary file, fsync, rename, directory fsync).
//
// Writing (CheckpointWriter.saveState): the first save of a writer, and every save once
// the chain holds `maxDeltas` deltas (16) or `maxDeltaBytes` of them (as many as the base
// has: reading the chain then costs at most twice reading the base), writes a full
// image over <path> and then removes the delta files (compaction); other saves write the
// next delta file. Reading (loadChain): the base, then d1, d2, … for as long as each names
// the image before it (a delta naming another image is stale: the end of the chain).
//
// Crash safety: a kill at any instant leaves a loadable chain. Before a delta's rename,
// the chain ends one delta earlier (the previous checkpoint). Between a compaction's
// rename of the new base and the removal of the old deltas, those deltas name the old base
// and are ignored; the next compaction removes them. A delta left from an older chain
// names an image that is no longer before it, so it is never applied.
import { readdir, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { StasisError } from "../errors.ts";
import { decodeDelta, imageIdentity, isDeltaImage } from "../image/delta.ts";
import { verifyImage } from "../image/index.ts";
import type { ImageLimits } from "../image/format.ts";
import { ioError } from "./ioerror.ts";

/** Most deltas a reader follows (a writer keeps far fewer: DEFAULT_MAX_DELTAS). */
export const MAX_CHAIN = 1024;
/** Deltas a writer keeps before it compacts the chain into a new base. */
export const DEFAULT_MAX_DELTAS = 16;

export function deltaPath(path: string, k: number): string {
  return `${path}.d${k}`;
}

/** What a writer knows of the chain on disk since its last full save. */
export class ChainState {
  /** The last image written (base or delta): the next delta is taken since it. */
  last: Uint8Array | null = null;
  deltas = 0;
  baseBytes = 0;
  deltaBytes = 0;

  constructor(
    readonly maxDeltas = DEFAULT_MAX_DELTAS,
    /** Most bytes of deltas before compacting; default: as many as the base has. */
    readonly maxDeltaBytes?: number,
  ) {
    if (!Number.isInteger(maxDeltas) || maxDeltas < 0 || maxDeltas > MAX_CHAIN) {
      throw new StasisError("BAD_OPTION", `maxDeltas must be a whole number from 0 to ${MAX_CHAIN}, got ${String(maxDeltas)}`);
    }
    if (maxDeltaBytes !== undefined && !(maxDeltaBytes >= 0)) throw new StasisError("BAD_OPTION", `maxDeltaBytes must be a number of bytes, got ${String(maxDeltaBytes)}`);
  }

  /** True when the next save should be a delta: a base exists and the chain is within both bounds. */
  wantsDelta(): boolean {
    return this.last !== null && this.deltas < this.maxDeltas && this.deltaBytes < (this.maxDeltaBytes ?? this.baseBytes);
  }

  wroteBase(image: Uint8Array): void {
    this.last = image;
    this.deltas = 0;
    this.baseBytes = image.length;
    this.deltaBytes = 0;
  }

  wroteDelta(image: Uint8Array): void {
    this.last = image;
    this.deltas++;
    this.deltaBytes += image.length;
  }
}

/** Removes every delta file of `path` (after a new base is in place): numbered ones past a gap too. */
export async function removeDeltas(path: string): Promise<void> {
  const dir = dirname(path);
  const pattern = new RegExp(`^${basename(path).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.d[0-9]+$`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    throw ioError(cause, dir, "list the checkpoint directory");
  }
  for (const name of names) {
    if (!pattern.test(name)) continue;
    try {
      await unlink(join(dir, name));
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "ENOENT") throw ioError(cause, join(dir, name), "remove an old delta of the checkpoint");
    }
  }
}

/**
 * The chain at `path`: the base, then every delta that names the image before it. `read`
 * reads one file (null if missing); each image's header and checksum are checked.
 */
export async function loadChain(
  path: string,
  read: (path: string) => Promise<Uint8Array<ArrayBuffer> | null>,
  limits: ImageLimits = {},
): Promise<Uint8Array<ArrayBuffer>[]> {
  const base = await read(path);
  if (!base) throw new StasisError("NOT_FROZEN", `no image at ${path}`);
  verifyImage(base);
  if (isDeltaImage(base)) throw new StasisError("BASE_MISMATCH", `${path} holds a delta image, not a full one; a checkpoint's base file is written by \`stasis run --checkpoint\``);
  const chain = [base];
  for (let k = 1; k <= MAX_CHAIN; k++) {
    const delta = await read(deltaPath(path, k));
    if (!delta) break;
    // A damaged delta fails (CORRUPT) like a damaged base; a stale one names another image.
    const names = decodeDelta(delta, limits).base;
    const previous = imageIdentity(chain[chain.length - 1]);
    if (names.length !== previous.length || names.checksum !== previous.checksum) break;
    chain.push(delta);
  }
  return chain;
}
