// The FleetStore in SQL, shared by PostgreSQL (pg-store.ts) and PGlite (embedded-store.ts):
// both speak PostgreSQL, so one set of statements serves both, through a small adapter
// (SqlDb) that runs a query, a transaction, and LISTEN.
//
// Images live either in the row (`image` bytea: PostgreSQL) or in a side store of files
// (`image_ref` names a file: the embedded store, where PGlite writes a 256 KiB bytea in
// ~230 ms but a file + fsync + row update takes ~12 ms). A side-store image is written
// under a fresh name *before* the commit transaction; the transaction switches the row
// to it; the old file is removed after the commit, the new one if the commit is refused.
// A crash in between leaves an unreferenced file, removed when the store next opens.
//
// Delta images: a step may commit a delta taken since the chain's last image instead of
// a full image; it is appended to fleet_deltas (rows in both stores, also where the base
// is a side-store file) in the commit's transaction, and a full image clears them in the
// same transaction, so every committed
// state is a loadable chain [image, ...deltas] (at most MAX_DELTAS deltas: the step
// thread compacts by writing a full image, also once the deltas outweigh the image).
//
// Fencing (see store.ts): every write of a claim locks the row with
//   SELECT … WHERE id = $1 AND epoch = $2 AND status = 'running' AND lease_until >= now() FOR UPDATE
// or puts the same condition in its UPDATE's WHERE, so a stale claim changes nothing.
// complete() locks the same row first, so a commit and a completion serialize: a commit
// that leaves the computation "waiting" sees any completion committed before it and
// makes it "runnable" instead (no lost wake-up).
import { randomBytes } from "node:crypto";
import { StasisError } from "../../errors.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "./schema.ts";
import { mergeImages } from "../../image/delta.ts";
import { signImage } from "../../image/auth.ts";
import type { CallRow, Claim, CommitResult, CompletionRow, ComputationRow, ComputationStatus, FleetStore, StepCommit } from "./store.ts";

export interface SqlClient {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

export interface SqlDb extends SqlClient {
  transaction<T>(body: (client: SqlClient) => Promise<T>): Promise<T>;
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Deltas a computation's chain holds before a step writes a full image again. */
export const MAX_DELTAS = 8;

/** Where the embedded store keeps images: files named by the store. */
export interface ImageFiles {
  write(name: string, bytes: Uint8Array): Promise<void>;
  read(name: string): Promise<Uint8Array>;
  remove(name: string): Promise<void>;
  list(): Promise<string[]>;
}

export const CHANNEL = "stasis_fleet";

const MS = (column: string, as = column) => `(extract(epoch from ${column}) * 1000)::float8 AS ${as}`;
const ROW_COLUMNS = [
  "id", "module_id", "status", "attempts", MS("wake_at"), "owner", MS("lease_until"), "epoch", "last_error", "steps", "image_bytes",
  MS("created_at"), MS("updated_at"),
].join(", ");
const FENCE = "id = $1 AND epoch = $2 AND status = 'running' AND lease_until >= now()";

interface RawRow {
  id: string; module_id: string; status: ComputationStatus; attempts: number; wake_at: number | null; owner: string | null;
  lease_until: number | null; epoch: number; last_error: string | null; steps: number; image_bytes: number | null;
  created_at: number; updated_at: number;
}

function toRow(r: RawRow): ComputationRow {
  return {
    id: r.id, moduleId: r.module_id, status: r.status, attempts: Number(r.attempts), wakeAt: r.wake_at, owner: r.owner,
    leaseUntil: r.lease_until, epoch: Number(r.epoch), lastError: r.last_error, steps: Number(r.steps),
    imageBytes: r.image_bytes === null ? null : Number(r.image_bytes), createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

function bytes(value: unknown): Uint8Array {
  const view = value as Uint8Array;
  return new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

/** A json column: parsed by the driver, or text. */
type JsonList<T> = T[] | string;

function json<T>(value: JsonList<T>): T[] {
  return typeof value === "string" ? (JSON.parse(value) as T[]) : value;
}

function base64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/\s/g, ""), "base64"));
}

export class SqlFleetStore implements FleetStore {
  constructor(
    private readonly db: SqlDb,
    readonly location: string,
    /** The side store for images; without it they live in the rows. */
    private readonly files?: ImageFiles,
  ) {}

  /** Applies the migrations this database lacks, one process at a time. */
  async migrate(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(7361736973)");
      await tx.query("CREATE TABLE IF NOT EXISTS fleet_schema (version integer NOT NULL)");
      const { rows } = await tx.query<{ version: number | null }>("SELECT max(version) AS version FROM fleet_schema");
      const version = Number(rows[0]?.version ?? 0);
      if (version > SCHEMA_VERSION) {
        throw new StasisError("FLEET_DB", `the fleet database ${this.location} has schema version ${version}, this Stasis knows up to ${SCHEMA_VERSION}; use the newer Stasis that wrote it`);
      }
      for (let v = version; v < SCHEMA_VERSION; v++) {
        for (const statement of MIGRATIONS[v].split(";").map((s) => s.trim()).filter(Boolean)) await tx.query(statement);
        await tx.query("INSERT INTO fleet_schema (version) VALUES ($1)", [v + 1]);
      }
    });
    if (this.files) await this.removeOrphanImages();
  }

  private async removeOrphanImages(): Promise<void> {
    const { rows } = await this.db.query<{ image_ref: string }>("SELECT image_ref FROM fleet_computations WHERE image_ref IS NOT NULL");
    const live = new Set(rows.map((r) => r.image_ref));
    for (const name of await this.files!.list()) if (!live.has(name)) await this.files!.remove(name);
  }

  async putModule(id: string, moduleBytes: Uint8Array): Promise<void> {
    await this.db.query("INSERT INTO fleet_modules (id, bytes) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", [id, moduleBytes]);
  }

  async getModule(id: string): Promise<Uint8Array | null> {
    const { rows } = await this.db.query<{ bytes: Uint8Array }>("SELECT bytes FROM fleet_modules WHERE id = $1", [id]);
    return rows.length ? bytes(rows[0].bytes) : null;
  }

  async imageKey(): Promise<Uint8Array> {
    await this.db.query("INSERT INTO fleet_secrets (name, value) VALUES ('image_key', $1) ON CONFLICT (name) DO NOTHING", [randomBytes(32)]);
    const { rows } = await this.db.query<{ value: Uint8Array }>("SELECT value FROM fleet_secrets WHERE name = 'image_key'");
    return bytes(rows[0].value);
  }

  async create(id: string, moduleId: string, seed: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query("INSERT INTO fleet_computations (id, module_id, status, seed) VALUES ($1, $2, 'runnable', $3)", [id, moduleId, seed]);
      await tx.query("SELECT pg_notify($1, $2)", [CHANNEL, `${id} runnable`]);
    });
  }

  async claim(owner: string, limit: number, leaseMs: number): Promise<Claim[]> {
    // The claim's pending calls and unconsumed completions come back in the same statement
    // (as JSON), saving two round trips per claim.
    const { rows } = await this.db.query<{
      id: string; module_id: string; epoch: number; seed: number; image: Uint8Array | null; image_ref: string | null; now: number;
      calls: JsonList<{ callId: number; name: string; tasklet: number; payload: string; deferred: boolean }>;
      completions: JsonList<{ callId: number; ok: boolean; value: string }>;
      deltas: JsonList<string>;
    }>(
      `WITH picked AS (
         SELECT id FROM fleet_computations
         WHERE status = 'runnable' OR (status = 'waiting' AND wake_at <= now()) OR (status = 'running' AND lease_until < now())
         LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE fleet_computations c
       SET status = 'running', owner = $1, lease_until = now() + $3::float8 * interval '1 millisecond', epoch = c.epoch + 1, wake_at = NULL, updated_at = now()
       FROM picked WHERE c.id = picked.id
       RETURNING c.id, c.module_id, c.epoch, c.seed, c.image, c.image_ref, ${MS("now()", "now")},
         (SELECT coalesce(json_agg(json_build_object('callId', k.call_id, 'name', k.name, 'tasklet', k.tasklet, 'payload', encode(k.payload, 'base64'),
            'deferred', k.deferred) ORDER BY k.call_id), '[]') FROM fleet_calls k WHERE k.computation_id = c.id) AS calls,
         (SELECT coalesce(json_agg(json_build_object('callId', p.call_id, 'ok', p.ok, 'value', encode(p.value, 'base64'))
            ORDER BY p.created_at, p.call_id), '[]') FROM fleet_completions p WHERE p.computation_id = c.id AND NOT p.consumed) AS completions,
         (SELECT coalesce(json_agg(encode(d.image, 'base64') ORDER BY d.seq), '[]') FROM fleet_deltas d WHERE d.computation_id = c.id) AS deltas`,
      [owner, limit, leaseMs],
    );
    const claims: Claim[] = [];
    for (const r of rows) {
      const image = r.image_ref ? await this.files!.read(r.image_ref) : r.image ? bytes(r.image) : null;
      const calls = json(r.calls).map((c) => ({ ...c, payload: base64(c.payload) }));
      const completions = json(r.completions).map((c) => ({ ...c, value: base64(c.value) }));
      const deltas = image ? json(r.deltas).map(base64) : [];
      claims.push({ id: r.id, moduleId: r.module_id, epoch: Number(r.epoch), seed: Number(r.seed), image, deltas, maxDeltas: MAX_DELTAS, now: r.now, calls, completions });
    }
    return claims;
  }

  async heartbeat(id: string, epoch: number, leaseMs: number): Promise<boolean> {
    const { rows } = await this.db.query(`UPDATE fleet_computations SET lease_until = now() + $3::float8 * interval '1 millisecond' WHERE ${FENCE} RETURNING id`, [id, epoch, leaseMs]);
    return rows.length === 1;
  }

  async completions(id: string, epoch: number): Promise<CompletionRow[]> {
    const { rows } = await this.db.query<{ call_id: number; ok: boolean; value: Uint8Array }>(
      `SELECT call_id, ok, value FROM fleet_completions
       WHERE computation_id = $1 AND NOT consumed AND EXISTS (SELECT 1 FROM fleet_computations WHERE ${FENCE})
       ORDER BY created_at, call_id`,
      [id, epoch],
    );
    return rows.map((r) => ({ callId: Number(r.call_id), ok: r.ok, value: bytes(r.value) }));
  }

  async commit(id: string, epoch: number, step: StepCommit): Promise<CommitResult> {
    // A full image in the side store goes to a new file first; deltas (small) are rows in both stores.
    const ref = this.files && !step.delta ? `${id}-${epoch}-${randomBytes(6).toString("hex")}.img` : null;
    if (ref) await this.files!.write(ref, step.image);
    let result: CommitResult & { previous: string | null };
    try {
      result = await this.db.transaction(async (tx) => {
        const locked = await tx.query<{ image_ref: string | null }>(`SELECT image_ref FROM fleet_computations WHERE ${FENCE} FOR UPDATE`, [id, epoch]);
        if (locked.rows.length === 0) return { ok: false, status: null, previous: null };
        const previous = locked.rows[0].image_ref;
        const hasOutput = step.output.length > 0;
        if (hasOutput) {
          await tx.query("INSERT INTO fleet_output (computation_id, seq, text) SELECT id, output_seq + 1, $2 FROM fleet_computations WHERE id = $1", [id, step.output.join("\n") + "\n"]);
        }
        if (step.consumed.length > 0) {
          await tx.query("UPDATE fleet_completions SET consumed = true WHERE computation_id = $1 AND call_id IN (SELECT jsonb_array_elements_text($2::jsonb)::integer)", [id, JSON.stringify(step.consumed)]);
        }
        await tx.query("DELETE FROM fleet_calls WHERE computation_id = $1 AND call_id NOT IN (SELECT jsonb_array_elements_text($2::jsonb)::integer)", [id, JSON.stringify(step.pending.map((c) => c.callId))]);
        if (step.pending.length > 0) {
          const calls = step.pending.map((c) => ({ id: c.callId, name: c.name, tasklet: c.tasklet, payload: Buffer.from(c.payload).toString("base64") }));
          await tx.query(
            `INSERT INTO fleet_calls (computation_id, call_id, name, tasklet, payload)
             SELECT $1, (c->>'id')::integer, c->>'name', (c->>'tasklet')::integer, decode(c->>'payload', 'base64') FROM jsonb_array_elements($2::jsonb) c
             ON CONFLICT (computation_id, call_id) DO NOTHING`,
            [id, JSON.stringify(calls)],
          );
        }
        let status: ComputationStatus = step.status;
        if (status === "waiting") {
          const ready = await tx.query("SELECT 1 FROM fleet_completions WHERE computation_id = $1 AND NOT consumed LIMIT 1", [id]);
          if (ready.rows.length > 0) status = "runnable";
        }
        const holding = status === "running";
        // A delta joins the chain after the image; a full image replaces image and chain.
        if (step.delta) {
          await tx.query("INSERT INTO fleet_deltas (computation_id, seq, image) SELECT $1, coalesce(max(seq), 0) + 1, $2 FROM fleet_deltas WHERE computation_id = $1", [id, step.image]);
        } else {
          await tx.query("DELETE FROM fleet_deltas WHERE computation_id = $1", [id]);
        }
        await tx.query(
          `UPDATE fleet_computations SET status = $2::text,
             image = CASE WHEN $10::boolean THEN image ELSE $3 END, image_ref = CASE WHEN $10::boolean THEN image_ref ELSE $4 END,
             image_bytes = CASE WHEN $10::boolean THEN image_bytes + $5::integer ELSE $5::integer END,
             wake_at = CASE WHEN $2::text = 'waiting' THEN to_timestamp($6::float8 / 1000) ELSE NULL END,
             attempts = 0, steps = steps + 1, output_seq = output_seq + $7::integer, updated_at = now(),
             owner = CASE WHEN $8::boolean THEN owner ELSE NULL END,
             lease_until = CASE WHEN $8::boolean THEN now() + $9::float8 * interval '1 millisecond' ELSE NULL END
           WHERE id = $1`,
          [id, status, ref || step.delta ? null : step.image, ref, step.image.length, step.wakeAt, hasOutput ? 1 : 0, holding, step.leaseMs, step.delta === true],
        );
        if (!holding) await tx.query("SELECT pg_notify($1, $2)", [CHANNEL, `${id} ${status}`]);
        return { ok: true, status, previous };
      });
    } catch (error) {
      if (ref) await this.files!.remove(ref).catch(() => {});
      throw error;
    }
    if (ref) {
      const stale = result.ok ? result.previous : ref;
      if (stale) await this.files!.remove(stale).catch(() => {});
    }
    return { ok: result.ok, status: result.status };
  }

  async fail(id: string, epoch: number, error: string, maxAttempts: number): Promise<ComputationStatus | null> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ status: ComputationStatus }>(
        `UPDATE fleet_computations SET attempts = attempts + 1, last_error = $3,
           status = CASE WHEN attempts + 1 >= $4 THEN 'failed' ELSE 'runnable' END,
           owner = NULL, lease_until = NULL, wake_at = NULL, updated_at = now()
         WHERE ${FENCE} RETURNING status`,
        [id, epoch, error, maxAttempts],
      );
      if (rows.length === 0) return null;
      await tx.query("SELECT pg_notify($1, $2)", [CHANNEL, `${id} ${rows[0].status}`]);
      return rows[0].status;
    });
  }

  async complete(id: string, callId: number, ok: boolean, value: Uint8Array, strict: boolean): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const row = await tx.query<{ status: ComputationStatus }>("SELECT status FROM fleet_computations WHERE id = $1 FOR UPDATE", [id]);
      if (row.rows.length === 0) {
        if (strict) throw new StasisError("FLEET_NOT_FOUND", `no computation ${id} in the fleet at ${this.location}; list them with \`stasis fleet ls\``);
        return false;
      }
      const status = row.rows[0].status;
      if (strict) {
        if (status === "done" || status === "failed") throw new StasisError("FLEET_CONFLICT", `computation ${id} has ${status === "done" ? "finished" : "failed"}; it takes no more answers`);
        const pending = await tx.query("SELECT 1 FROM fleet_calls WHERE computation_id = $1 AND call_id = $2", [id, callId]);
        if (pending.rows.length === 0) {
          throw new StasisError("FLEET_CONFLICT", `computation ${id} has no pending call ${callId}; \`stasis fleet show ${id}\` lists the calls it waits on`);
        }
      }
      const inserted = await tx.query(
        "INSERT INTO fleet_completions (computation_id, call_id, ok, value) VALUES ($1, $2, $3, $4) ON CONFLICT (computation_id, call_id) DO NOTHING RETURNING call_id",
        [id, callId, ok, value],
      );
      if (inserted.rows.length === 0) {
        if (strict) throw new StasisError("FLEET_CONFLICT", `call ${callId} of computation ${id} was already answered; an answer enters a computation once`);
        return false;
      }
      if (status === "waiting") await tx.query("UPDATE fleet_computations SET status = 'runnable', wake_at = NULL, updated_at = now() WHERE id = $1", [id]);
      await tx.query("SELECT pg_notify($1, $2)", [CHANNEL, `${id} completion`]);
      return true;
    });
  }

  async markDeferred(id: string, callId: number): Promise<void> {
    await this.db.query("UPDATE fleet_calls SET deferred = true WHERE computation_id = $1 AND call_id = $2", [id, callId]);
  }

  async reap(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        "UPDATE fleet_computations SET status = 'runnable', owner = NULL, lease_until = NULL, updated_at = now() WHERE status = 'running' AND lease_until < now() RETURNING id",
      );
      if (rows.length > 0) await tx.query("SELECT pg_notify($1, $2)", [CHANNEL, "reaped"]);
      return rows.length;
    });
  }

  async get(id: string): Promise<ComputationRow | null> {
    const { rows } = await this.db.query<RawRow>(`SELECT ${ROW_COLUMNS} FROM fleet_computations WHERE id = $1`, [id]);
    return rows.length ? toRow(rows[0]) : null;
  }

  async list(): Promise<ComputationRow[]> {
    const { rows } = await this.db.query<RawRow>(`SELECT ${ROW_COLUMNS} FROM fleet_computations ORDER BY created_at, id`);
    return rows.map(toRow);
  }

  async calls(id: string): Promise<CallRow[]> {
    const { rows } = await this.db.query<{ call_id: number; name: string; tasklet: number; payload: Uint8Array; deferred: boolean }>(
      "SELECT call_id, name, tasklet, payload, deferred FROM fleet_calls WHERE computation_id = $1 ORDER BY call_id",
      [id],
    );
    return rows.map((r) => ({ callId: Number(r.call_id), name: r.name, tasklet: Number(r.tasklet), payload: bytes(r.payload), deferred: r.deferred }));
  }

  async output(id: string): Promise<string> {
    const { rows } = await this.db.query<{ text: string }>("SELECT text FROM fleet_output WHERE computation_id = $1 ORDER BY seq", [id]);
    return rows.map((r) => r.text).join("");
  }

  async image(id: string): Promise<Uint8Array | null> {
    const { rows } = await this.db.query<{ image: Uint8Array | null; image_ref: string | null }>("SELECT image, image_ref FROM fleet_computations WHERE id = $1", [id]);
    if (rows.length === 0) return null;
    const base = rows[0].image_ref ? await this.files!.read(rows[0].image_ref) : rows[0].image ? bytes(rows[0].image) : null;
    if (!base) return null;
    // With deltas after it, the chain merged into the full image of the latest state, signed
    // with the fleet's key like every image a step commits.
    const deltas = await this.db.query<{ image: Uint8Array }>("SELECT image FROM fleet_deltas WHERE computation_id = $1 ORDER BY seq", [id]);
    if (deltas.rows.length === 0) return base;
    return signImage(await mergeImages(base, ...deltas.rows.map((r) => bytes(r.image))), await this.imageKey());
  }

  async cancel(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `UPDATE fleet_computations SET status = 'failed', last_error = 'cancelled', epoch = epoch + 1, owner = NULL, lease_until = NULL, wake_at = NULL, updated_at = now()
         WHERE id = $1 AND status NOT IN ('done', 'failed') RETURNING id`,
        [id],
      );
      if (rows.length > 0) await tx.query("SELECT pg_notify($1, $2)", [CHANNEL, `${id} failed`]);
      return rows.length > 0;
    });
  }

  async nextWake(): Promise<number | null> {
    const { rows } = await this.db.query<{ ms: number | null }>(
      "SELECT (extract(epoch from min(wake_at) - now()) * 1000)::float8 AS ms FROM fleet_computations WHERE status = 'waiting' AND wake_at IS NOT NULL",
    );
    return rows[0]?.ms ?? null;
  }

  listen(wake: (payload: string) => void): Promise<() => Promise<void>> {
    return this.db.listen(CHANNEL, wake);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
