// The fleet on PostgreSQL, through `pg`: many worker processes on many machines share
// one database. A pool of connections runs the statements of sql-store.ts; one more
// connection LISTENs for wake-ups. Every database failure reaches the caller as a
// StasisError FLEET_DB naming the server (never a raw driver error).
import pg from "pg";
import { StasisError } from "../../errors.ts";
import { SqlFleetStore, type SqlClient, type SqlDb } from "./sql-store.ts";

/** "postgres://user@host:5432/db" without the password, for messages. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? u.username + "@" : ""}${u.host}${u.pathname}`;
  } catch {
    return "the database URL given";
  }
}

function dbError(where: string, cause: unknown): StasisError {
  if (cause instanceof StasisError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new StasisError("FLEET_DB", `the fleet database ${where} failed: ${detail}; check that PostgreSQL is running and --db / STASIS_DB is right`, { cause });
}

class PgDb implements SqlDb {
  private readonly pool: pg.Pool;
  private listener: pg.Client | null = null;

  constructor(private readonly url: string, private readonly where: string, max: number) {
    // A worker paused inside a transaction (SIGSTOP, a cut-off machine) must not keep the
    // row locked past a lease: the server ends such a session after 10 s.
    this.pool = new pg.Pool({ connectionString: url, max, idle_in_transaction_session_timeout: 10_000 });
    // An idle connection that breaks must not crash the process: the next query fails typed.
    this.pool.on("error", () => {});
  }

  async query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> {
    try {
      const result = await this.pool.query(sql, params);
      return { rows: result.rows as T[] };
    } catch (cause) {
      throw dbError(this.where, cause);
    }
  }

  async transaction<T>(body: (client: SqlClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (cause) {
      throw dbError(this.where, cause);
    }
    // The server may end the session under us (idle-in-transaction timeout after a pause,
    // a restart): that arrives as an 'error' event, which must not crash the process.
    let broken = false;
    const onError = () => (broken = true);
    client.on("error", onError);
    const tx: SqlClient = {
      query: async <R>(sql: string, params?: unknown[]) => {
        try {
          return { rows: (await client.query(sql, params)).rows as R[] };
        } catch (cause) {
          throw dbError(this.where, cause);
        }
      },
    };
    try {
      await tx.query("BEGIN");
      const result = await body(tx);
      await tx.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => (broken = true));
      throw error;
    } finally {
      client.off("error", onError);
      client.release(broken);
    }
  }

  async listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>> {
    const client = new pg.Client({ connectionString: this.url });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
    } catch (cause) {
      await client.end().catch(() => {});
      throw dbError(this.where, cause);
    }
    client.on("notification", (message) => callback(message.payload ?? ""));
    this.listener = client;
    return async () => {
      this.listener = null;
      await client.end().catch(() => {});
    };
  }

  async close(): Promise<void> {
    await this.listener?.end().catch(() => {});
    await this.pool.end().catch(() => {});
  }
}

export interface PgStoreOptions {
  /** Connections in the pool. Default 8. */
  connections?: number;
}

/** Opens (and migrates) the fleet schema in the PostgreSQL database at `url`. */
export async function openPgStore(url: string, options: PgStoreOptions = {}): Promise<SqlFleetStore> {
  const where = describeUrl(url);
  const store = new SqlFleetStore(new PgDb(url, where, options.connections ?? 8), where);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
