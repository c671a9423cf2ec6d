// Images on disk that never tear (Node; Deno runs it through its node: compatibility).
//
// Writing (saveImage, or a CheckpointWriter for a run that checkpoints many times):
//   1. take the advisory lock on the target (lock.ts): a second writer fails LOCKED;
//   2. sweep temporary files left beside the target by killed writers (holding the lock,
//      every temporary file of this target that is not ours is stale);
//   3. write a temporary file `.<name>.<pid>.<random>.tmp` in the target's directory,
//      opened with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600: an unpredictable name, never
//      an existing file or a planted symbolic link (a collision picks another name);
//   4. fsync it, rename it over the target (atomic on POSIX file systems; a symbolic
//      link at the target is replaced, its target never written), fsync the directory.
// A process killed at any instant leaves either the previous image or the new one at
// the target, never a mix; every failure removes the temporary file before throwing,
// and a kill's leftover is swept by the next writer. File-system failures are IO_ERROR
// naming the path and what to do (ioerror.ts); the previous image stays intact.
//
// Reading (loadImage): a regular file only (not a FIFO or device: opened non-blocking
// and checked before reading), at most a size derived from the image limits (LIMIT),
// then the header and checksum are checked.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open, readdir, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { StasisError } from "../errors.ts";
import { DEFAULT_MAX_MEMORY_BYTES, DEFAULT_MAX_MODULE_BYTES, type ImageLimits } from "../image/format.ts";
import { ioError } from "./ioerror.ts";
import { CheckpointLock } from "./lock.ts";
import { ChainState, deltaPath, loadChain, removeDeltas } from "./chain-store.ts";
import { mergeImages } from "../image/delta.ts";

export { lockPathFor } from "./lock.ts";

const EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Matches this target's temporary files, including the pre-lock `.<name>.<pid>.tmp`. */
function temporaryPattern(target: string): RegExp {
  return new RegExp(`^\\.${escapeRegExp(basename(target))}\\.\\d+\\.(?:[0-9a-f]+\\.)?tmp$`);
}

export interface CheckpointChainOptions {
  /** Most delta files after the base before saveState compacts. Default 16. */
  maxDeltas?: number;
  /** Most bytes of delta files before saveState compacts. Default: the base's size. */
  maxDeltaBytes?: number;
}

/** A run that checkpoints to one file many times: holds the file's lock until close(). */
export class CheckpointWriter {
  /** The base + delta chain this writer has written (chain-store.ts). */
  private readonly chain: ChainState;

  private constructor(
    readonly path: string,
    private readonly lock: CheckpointLock,
    options: CheckpointChainOptions,
  ) {
    this.chain = new ChainState(options.maxDeltas, options.maxDeltaBytes);
  }

  /**
   * Takes the lock on `path` (LOCKED if another writer has it) and sweeps stale temporary
   * files. The options bound the chain saveState keeps before it compacts (chain-store.ts).
   */
  static async open(path: string, options: CheckpointChainOptions = {}): Promise<CheckpointWriter> {
    const lock = await CheckpointLock.acquire(path);
    try {
      await sweepTemporaries(path);
    } catch (error) {
      await lock.release();
      throw error;
    }
    try {
      return new CheckpointWriter(path, lock, options);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** Replaces the checkpoint atomically with a full image (see the top of this file); removes its deltas. */
  async save(image: Uint8Array): Promise<void> {
    await this.lock.check();
    await writeAtomically(this.path, image);
    await removeDeltas(this.path);
    this.chain.wroteBase(image);
  }

  /**
   * Checkpoints a runtime's state as a delta since the last save while the chain is short
   * (chain-store.ts), else as a full image. `snapshot(since)` takes the image:
   * rt.snapshot({ since }) when `since` is given, a full rt.snapshot() otherwise; `seal`
   * (e.g. signImage) is applied to each image before it is written.
   */
  async saveState(
    snapshot: (since?: Uint8Array) => Uint8Array<ArrayBuffer>,
    seal: (image: Uint8Array<ArrayBuffer>) => Uint8Array | Promise<Uint8Array> = (image) => image,
  ): Promise<void> {
    if (!this.chain.wantsDelta()) {
      await this.save(await seal(snapshot()));
      return;
    }
    const delta = await seal(snapshot(this.chain.last!));
    await this.lock.check();
    await writeAtomically(deltaPath(this.path, this.chain.deltas + 1), delta);
    this.chain.wroteDelta(delta);
  }

  /** Releases the lock (the checkpoint stays). */
  async close(): Promise<void> {
    await this.lock.release();
  }
}

/** Writes one image to `path` atomically, under the file's lock for the duration. */
export async function saveImage(path: string, image: Uint8Array): Promise<void> {
  const writer = await CheckpointWriter.open(path);
  try {
    await writer.save(image);
  } finally {
    await writer.close();
  }
}

/** Removes temporary files of `target` left by writers that were killed mid-write. Call holding the lock. */
export async function sweepTemporaries(target: string): Promise<string[]> {
  const dir = dirname(target);
  const pattern = temporaryPattern(target);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    throw ioError(cause, dir, "list the checkpoint directory");
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!pattern.test(name)) continue;
    // unlink removes a planted symbolic link itself, never what it points to.
    await unlink(join(dir, name)).then(() => removed.push(name), () => {});
  }
  return removed;
}

async function writeAtomically(path: string, image: Uint8Array): Promise<void> {
  const dir = dirname(path);
  let temporary = "";
  let file;
  for (let attempt = 0; !file; attempt++) {
    temporary = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(8).toString("hex")}.tmp`);
    try {
      file = await open(temporary, EXCLUSIVE, 0o600);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if ((code === "EEXIST" || code === "ELOOP") && attempt < 8) continue;
      throw ioError(cause, path, "write the checkpoint");
    }
  }
  try {
    try {
      await file.writeFile(image);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (cause) {
    await unlink(temporary).catch(() => {});
    throw ioError(cause, path, "write the checkpoint");
  }
  try {
    const directory = await open(dir, "r");
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  } catch (cause) {
    throw ioError(cause, dir, "make the checkpoint durable in");
  }
}

/** The largest image file loadImage reads under `limits`. */
export function maxImageFileBytes(limits: ImageLimits = {}): number {
  const memory = limits.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
  const module = limits.maxModuleBytes ?? DEFAULT_MAX_MODULE_BYTES;
  // Memory with its run table, the module, and room for the globals and host record.
  return memory + Math.ceil(memory / 512) + module + 8 * 1024 * 1024;
}

/**
 * Reads the checkpoint at `path` and checks header and checksum (a damaged file fails
 * here, typed): the image itself, or, when delta files follow it (saveState), the chain
 * merged into one full image of the latest state (unsigned: to check signatures, read
 * the chain with loadImageChain and thaw it with Runtime.restore(program, chain, { key })).
 */
export async function loadImage(path: string, limits: ImageLimits = {}): Promise<Uint8Array<ArrayBuffer>> {
  const chain = await loadImageChain(path, limits);
  return chain.length === 1 ? chain[0] : mergeImages(chain[0], ...chain.slice(1));
}

/** Reads the checkpoint at `path` as its chain: the base, then each delta that follows it (chain-store.ts). */
export async function loadImageChain(path: string, limits: ImageLimits = {}): Promise<Uint8Array<ArrayBuffer>[]> {
  const max = maxImageFileBytes(limits);
  return loadChain(path, async (file) => {
    if (file === path) return readRegularFile(file, max, "image");
    try {
      return await readRegularFile(file, max, "image");
    } catch (error) {
      if (error instanceof StasisError && error.code === "NOT_FROZEN") return null;
      throw error;
    }
  }, limits);
}

/**
 * Reads a regular file of at most `maxBytes` (never a FIFO, device or directory: the
 * open does not block and the type is checked first). Missing: NOT_FROZEN for images,
 * IO_ERROR otherwise. Messages name the path, never the file's bytes.
 */
export async function readRegularFile(path: string, maxBytes: number, what: "image" | "program"): Promise<Uint8Array<ArrayBuffer>> {
  let file;
  try {
    file = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") {
      if (what === "image") throw new StasisError("NOT_FROZEN", `no image at ${path}`, { cause });
      throw new StasisError("IO_ERROR", `cannot read the ${what} ${path}: no such file; check the path`, { cause });
    }
    throw ioError(cause, path, `read the ${what}`);
  }
  try {
    const info = await file.stat();
    if (!info.isFile()) throw new StasisError("IO_ERROR", `cannot read the ${what} ${path}: it is not a regular file; pass the path of a ${what} file`);
    if (info.size > maxBytes) throw new StasisError("LIMIT", `the ${what} ${path} has ${info.size} bytes, more than the limit of ${maxBytes}; if you trust it, raise the limit`);
    const bytes = new Uint8Array(info.size);
    let at = 0;
    while (at < bytes.length) {
      const { bytesRead } = await file.read(bytes, at, bytes.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return at === bytes.length ? bytes : bytes.slice(0, at);
  } catch (cause) {
    throw ioError(cause, path, `read the ${what}`);
  } finally {
    await file.close().catch(() => {});
  }
}
