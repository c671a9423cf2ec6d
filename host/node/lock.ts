// An advisory lock on a checkpoint file, so two writers checkpointing to one file fail
// clearly (LOCKED) instead of flipping it between two computations.
//
// Layout: `.<name>.lock` beside the target, created with O_CREAT|O_EXCL|O_NOFOLLOW
// (mode 0600) and holding one JSON line { pid, host, nonce, since }.
//
// States of a lock file, as a would-be writer sees it:
//   absent                          → created exclusively: ours
//   held by a live pid on this host → LOCKED (so is one held by this very process)
//   held on another host            → LOCKED (liveness cannot be checked from here)
//   held by a dead pid on this host → stale: taken over (below)
//   unreadable and older than 10 s  → stale (a writer died between create and write)
// Taking over a stale lock is a race between takers, so it is done by renaming the lock
// file to a unique name (atomic: one taker gets it) and checking that what was moved is
// the stale lock that was judged (by its nonce); a live lock moved by mistake is linked
// back (link never overwrites) and the taker fails LOCKED. Then the taker creates its own
// lock exclusively; if another got there first, LOCKED.
//
// The holder checks before each write that the lock file still holds its nonce (held()),
// so a lock removed or taken over by hand ends that writer with LOCKED rather than two
// writers interleaving. Contract: a lock protects against cooperating Stasis writers on
// one host (or hosts sharing a file system with distinct host names), not against
// anyone with write access to the directory.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { StasisError } from "../errors.ts";
import { ioError } from "./ioerror.ts";

interface LockRecord {
  pid: number;
  host: string;
  nonce: string;
  since: string;
}

/** Lock paths this process holds: a second writer in the same process is refused too. */
const heldHere = new Set<string>();

/** This host's name; "unknown" where it may not be read (Deno without --allow-sys). */
function thisHost(): string {
  try {
    return hostname();
  } catch {
    return "unknown";
  }
}

const EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

export function lockPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.lock`);
}

export class CheckpointLock {
  private released = false;

  private constructor(
    readonly target: string,
    readonly path: string,
    private readonly nonce: string,
  ) {}

  /** Takes the lock on `target` (a checkpoint file) or throws LOCKED / IO_ERROR. */
  static async acquire(target: string): Promise<CheckpointLock> {
    const path = resolve(lockPathFor(target));
    if (heldHere.has(path)) throw locked(target, path, "this process already checkpoints to it");
    const nonce = randomBytes(16).toString("hex");
    const record: LockRecord = { pid: process.pid, host: thisHost(), nonce, since: new Date().toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await create(path, record, target)) {
        heldHere.add(path);
        return new CheckpointLock(target, path, nonce);
      }
      const existing = await readLock(path);
      if (existing === "gone") continue;
      const why = liveHolder(existing);
      if (why) throw locked(target, path, why);
      await takeOver(path, existing, target);
    }
    throw locked(target, path, "other writers keep taking it");
  }

  /** Throws LOCKED unless the lock file still holds this lock. */
  async check(): Promise<void> {
    const now = await readLock(this.path);
    if (now === "gone" || now === "unreadable" || now.nonce !== this.nonce) {
      throw new StasisError("LOCKED", `the lock on ${this.target} (${this.path}) was removed or taken by another writer; stopped checkpointing so two computations do not interleave in one file`);
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.path);
    const now = await readLock(this.path).catch(() => "gone" as const);
    if (now !== "gone" && now !== "unreadable" && now.nonce === this.nonce) await unlink(this.path).catch(() => {});
  }
}

async function create(path: string, record: LockRecord, target: string): Promise<boolean> {
  let file;
  try {
    file = await open(path, EXCLUSIVE, 0o600);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ELOOP") return false;
    throw ioError(cause, target, "lock the checkpoint");
  }
  try {
    await file.writeFile(JSON.stringify(record) + "\n");
  } catch (cause) {
    await file.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw ioError(cause, target, "lock the checkpoint");
  }
  await file.close();
  return true;
}

async function readLock(path: string): Promise<LockRecord | "gone" | "unreadable"> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size > 4096) return "unreadable";
    text = await readFile(path, { encoding: "utf8", flag: constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    return "unreadable";
  }
  try {
    const record = JSON.parse(text) as LockRecord;
    if (Number.isInteger(record.pid) && record.pid > 0 && typeof record.host === "string" && typeof record.nonce === "string") return record;
  } catch {
    // fall through
  }
  return "unreadable";
}

/** Why the lock is live (a sentence), or null when it is stale. */
function liveHolder(record: LockRecord | "unreadable"): string | null {
  if (record === "unreadable") return null; // judged by age in takeOver
  if (record.host !== thisHost()) return `process ${record.pid} on host ${record.host} holds it (since ${record.since})`;
  if (record.pid === process.pid) return null; // not in heldHere: an earlier process that had our pid
  try {
    process.kill(record.pid, 0);
    return `process ${record.pid} holds it (since ${record.since})`;
  } catch (error) {
    // Only "no such process" makes a lock stale; EPERM is another user's live process, and
    // a runtime that may not signal (Deno without --allow-run) cannot tell: keep the lock.
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return null;
    return `process ${record.pid} holds it (since ${record.since}), or this process may not check whether it is alive`;
  }
}

async function takeOver(path: string, stale: LockRecord | "unreadable", target: string): Promise<void> {
  if (stale === "unreadable") {
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => Infinity);
    if (age < 10_000) throw locked(target, path, "another writer is creating it");
  }
  const grave = `${path}.${randomBytes(8).toString("hex")}.stale`;
  try {
    await rename(path, grave);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return; // another taker moved it
    throw ioError(cause, target, "take over the stale lock of");
  }
  const moved = await readLock(grave);
  const same = stale === "unreadable" ? moved === "unreadable" : moved !== "gone" && moved !== "unreadable" && moved.nonce === stale.nonce;
  if (!same) {
    // A live lock appeared between our read and the rename: put it back.
    await link(grave, path).catch(() => {});
    await unlink(grave).catch(() => {});
    throw locked(target, path, "another writer took it just now");
  }
  await unlink(grave).catch(() => {});
}

function locked(target: string, path: string, why: string): StasisError {
  return new StasisError(
    "LOCKED",
    `another writer checkpoints to ${target}: ${why}. Stop it, or checkpoint to another file; if no such writer exists any more, delete ${path}`,
  );
}
