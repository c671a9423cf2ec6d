// Images on disk that never tear (Node; Deno runs it through its node: compatibility).
//
// saveImage writes to a temporary file beside the target, fsyncs it, renames it over
// the target (atomic on POSIX filesystems), then fsyncs the directory so the rename
// itself is durable. A process killed at any instant leaves either the previous image
// or the new one at `path`, never a mix; a stale temporary file may remain and is
// ignored (and overwritten by a later save from the same process).
import { open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { StasisError } from "../errors.ts";
import { verifyImage } from "../image/index.ts";

export async function saveImage(path: string, image: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const temporary = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const file = await open(temporary, "w");
  try {
    await file.writeFile(image);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  const directory = await open(dir, "r");
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** Reads an image and checks its header and checksum (a damaged file fails here, typed). */
export async function loadImage(path: string): Promise<Uint8Array<ArrayBuffer>> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") throw new StasisError("NOT_FROZEN", `no image at ${path}`, { cause });
    throw cause;
  }
  verifyImage(bytes);
  return bytes;
}
