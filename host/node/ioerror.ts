// File-system failures as StasisErrors: IO_ERROR naming the path, what went wrong and
// what to do, instead of a raw Node error (`ENOSPC: no space left on device, write`).
import { StasisError } from "../errors.ts";

const ADVICE: Record<string, string> = {
  ENOSPC: "no space left on the device; free some space or checkpoint to another disk",
  EDQUOT: "the disk quota is exhausted; free some space or checkpoint to another disk",
  EROFS: "the file system is read-only; checkpoint to a writable directory",
  EISDIR: "it is a directory; pass the path of a file",
  ENOTEMPTY: "it is a directory; pass the path of a file",
  ENOTDIR: "a part of the path is not a directory; check the path",
  EACCES: "permission denied; check the file's and directory's permissions or use another path",
  EPERM: "operation not permitted; check the file's and directory's permissions or use another path",
  ENOENT: "the directory does not exist; create it first",
  ENAMETOOLONG: "the path is too long; use a shorter one",
  ELOOP: "the path runs through a symbolic link that Stasis refuses to follow; use a real file",
  EMFILE: "too many open files in this process; close some and try again",
  ENFILE: "too many open files on this system; try again later",
  EIO: "the device reported an I/O error; check the disk",
  EFBIG: "the file is too large for this file system; checkpoint elsewhere",
};

/** Wraps a Node file-system error (anything with an errno `code`) for `path`; StasisErrors pass through. */
export function ioError(cause: unknown, path: string, doing: string): StasisError {
  if (cause instanceof StasisError) return cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const advice = (code && ADVICE[code]) ?? `${code ?? "unknown error"}; check the path and the disk`;
  return new StasisError("IO_ERROR", `cannot ${doing} ${path}: ${advice}${code ? ` (${code})` : ""}`, { cause });
}
