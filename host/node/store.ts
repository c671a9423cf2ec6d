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
import { verifyImage } from "../image/index.ts";
import { DEFAULT_MAX_MEMORY_BYTES, DEFAULT_MAX_MODULE_BYTES, type ImageLimits } from "../image/format.ts";
import { ioError } from "./ioerror.ts";
import { CheckpointLock } from "./lock.ts";

export { lockPathFor } from "./lock.ts";

const EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Matches this target's temporary files, including the pre-lock `.<name>.<pid>.tmp`. */
function temporaryPattern(target: string): RegExp {
  return new RegExp(`^\\.${escapeRegExp(basename(target))}\\.\\d+\\.(?:[0-9a-f]+\\.)?tmp$`);
}

/** A run that checkpoints to one file many times: holds the file's lock until close(). */
export class CheckpointWriter {
  private constructor(
    readonly path: string,
    private readonly lock: CheckpointLock,
  ) {}

  /** Takes the lock on `path` (LOCKED if another writer has it) and sweeps stale temporary files. */
  static async open(path: string): Promise<CheckpointWriter> {
    const lock = await CheckpointLock.acquire(path);
    try {
      await sweepTemporaries(path);
    } catch (error) {
      await lock.release();
      throw error;
    }
    return new CheckpointWriter(path, lock);
  }

  /** Replaces the checkpoint atomically (see the top of this file). */
  async save(image: Uint8Array): Promise<void> {
    await this.lock.check();
    await writeAtomically(this.path, image);
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

/** Reads an image and checks its header and checksum (a damaged file fails here, typed). */
export async function loadImage(path: string, limits: ImageLimits = {}): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = await readRegularFile(path, maxImageFileBytes(limits), "image");
  verifyImage(bytes);
  return bytes;
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
