// The embedded fleet store: PGlite (PostgreSQL compiled to WebAssembly, in-process) under
// a directory, default .stasis/fleet, with images in files beside it. Same SQL as the
// PostgreSQL store (sql-store.ts); no server.
//
//   <dir>/db/        the PGlite data directory
//   <dir>/images/    one file per computation's latest image (named in image_ref)
//   <dir>/lock       the pid of the process that has the store open
//
// Why images are files: on this machine PGlite wrote a 256 KiB bytea in ~234 ms (16 KiB:
// ~9 ms) and read it back in ~74 ms, while writing a file with fsync plus a one-row update
// took ~12 ms (16 KiB: ~7 ms). The commit protocol in sql-store.ts keeps it atomic.
//
// Limit: PGlite is single-process, so one process at a time may open the store; another
// gets FLEET_LOCKED. Several worker processes (or machines) need PostgreSQL (--db URL).
import { PGlite } from "@electric-sql/pglite";
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { mkdir, open, readdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { StasisError } from "../../errors.ts";
import { SqlFleetStore, type ImageFiles, type SqlClient, type SqlDb } from "./sql-store.ts";

function dbError(dir: string, cause: unknown): StasisError {
  if (cause instanceof StasisError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StasisError("FLEET_DB", `the embedded fleet store at ${dir} failed: ${detail}`, { cause });
}

class PgliteDb implements SqlDb {
  constructor(private readonly db: PGlite, private readonly dir: string, private readonly unlock: () => void) {}

  async query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> {
    try {
      return { rows: (await this.db.query<T>(sql, params)).rows };
    } catch (cause) {
      throw dbError(this.dir, cause);
    }
  }

  async transaction<T>(body: (client: SqlClient) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction((tx) =>
        body({ query: async <R>(sql: string, params?: unknown[]) => ({ rows: (await tx.query<R>(sql, params)).rows }) }),
      );
    } catch (cause) {
      throw dbError(this.dir, cause);
    }
  }

  async listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>> {
    const stop = await this.db.listen(channel, callback);
    return async () => {
      await stop().catch(() => {});
    };
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
    } finally {
      this.unlock();
    }
  }
}

class ImageDirectory implements ImageFiles {
  constructor(private readonly dir: string) {}

  async write(name: string, bytes: Uint8Array): Promise<void> {
    const file = await open(join(this.dir, name), "w");
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
  }

  async read(name: string): Promise<Uint8Array> {
    return new Uint8Array(await readFile(join(this.dir, name)));
  }

  async remove(name: string): Promise<void> {
    await unlink(join(this.dir, name));
  }

  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter((name) => name.endsWith(".img"));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the store's lock file (a stale one, from a dead process, is taken over). */
function lock(dir: string): () => void {
  const path = join(dir, "lock");
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        process.off("exit", release);
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      };
      process.on("exit", release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw dbError(dir, error);
      let pid = NaN;
      try {
        pid = Number(readFileSync(path, "utf8"));
      } catch {
        continue;
      }
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        throw new StasisError(
          "FLEET_LOCKED",
          `the embedded fleet store at ${dir} is open in process ${pid}; it serves one process at a time: stop that process, or run the fleet on PostgreSQL (--db URL or STASIS_DB) to use several`,
        );
      }
      try {
        unlinkSync(path);
      } catch {
        // someone else took it over first
      }
    }
  }
  throw new StasisError("FLEET_LOCKED", `could not take the lock of the embedded fleet store at ${dir}; try again`);
}

/** Opens (creating and migrating if needed) the embedded store in `dir`. */
export async function openEmbeddedStore(dir: string): Promise<SqlFleetStore> {
  await mkdir(join(dir, "images"), { recursive: true });
  const unlock = lock(dir);
  let db: PGlite;
  try {
    db = await PGlite.create(join(dir, "db"));
  } catch (cause) {
    unlock();
    throw dbError(dir, cause);
  }
  const store = new SqlFleetStore(new PgliteDb(db, dir, unlock), dir, new ImageDirectory(join(dir, "images")));
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}
