// The FleetStore conformance suite: the same behaviour from the embedded store (PGlite +
// image files) and from PostgreSQL (a throw-away cluster, see pg-cluster.ts).
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openEmbeddedStore } from "../host/node/fleet/embedded-store.ts";
import { openPgStore } from "../host/node/fleet/pg-store.ts";
import { SCHEMA_VERSION } from "../host/node/fleet/schema.ts";
import type { FleetStore, StepCommit } from "../host/node/fleet/store.ts";
import { postgresAvailable, startPgCluster, type PgCluster } from "./pg-cluster.ts";
import { DEFER, decodeImage, encodeImage, Runtime, verifyImageSignature } from "../host/index.ts";
import { loadProgram } from "./helpers.ts";

interface Backend {
  name: string;
  enabled: () => boolean;
  /** Opens the store; `second` opens another handle on the same database where the backend allows it. */
  open(): Promise<{ store: FleetStore; second: () => Promise<FleetStore | null>; done: () => Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: "embedded (PGlite + image files)",
    enabled: () => true,
    async open() {
      const store = await openEmbeddedStore(await mkdtemp(join(tmpdir(), "stasis-fleet-store-")));
      return { store, second: async () => null, done: () => store.close() };
    },
  },
  {
    name: "PostgreSQL",
    enabled: postgresAvailable,
    async open() {
      const cluster: PgCluster = await startPgCluster();
      const store = await openPgStore(cluster.url);
      const others: FleetStore[] = [];
      return {
        store,
        second: async () => {
          const other = await openPgStore(cluster.url);
          others.push(other);
          return other;
        },
        done: async () => {
          for (const other of others) await other.close();
          await store.close();
          await cluster.stop();
        },
      };
    },
  },
];

const MODULE = "m".repeat(64);
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let counter = 0;

function step(over: Partial<StepCommit> = {}): StepCommit {
  return { image: bytes("image"), output: [], consumed: [], pending: [], status: "runnable", wakeAt: null, leaseMs: 10_000, ...over };
}

for (const backend of backends) {
  describe.skipIf(!backend.enabled())(`FleetStore: ${backend.name}`, () => {
    let store: FleetStore;
    let second: () => Promise<FleetStore | null>;
    let done: () => Promise<void>;

    beforeAll(async () => {
      ({ store, second, done } = await backend.open());
      await store.putModule(MODULE, bytes("wasm"));
    });
    afterAll(async () => {
      await done?.();
    });

    /** A new computation, alone in being runnable (earlier ones are claimed or finished). */
    async function fresh(): Promise<string> {
      for (const c of await store.claim("sweeper", 100, 60_000)) await store.commit(c.id, c.epoch, step({ status: "done" }));
      const id = `c${++counter}`;
      await store.create(id, MODULE, 42);
      return id;
    }

    it("migrates on open and records the schema version; modules are stored by id, once", async () => {
      await store.putModule(MODULE, bytes("other bytes, same id"));
      expect(text((await store.getModule(MODULE))!)).toBe("wasm");
      expect(await store.getModule("nope")).toBeNull();
      const other = await second();
      if (other) expect(await other.list()).toEqual(await store.list());
      expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(1);
    });

    it("keeps a chain: a delta commit joins the image (a row, also where the image is a side file), a full commit replaces both", async () => {
      const rt = await Runtime.start(await loadProgram("churn.ts"), { print: () => {}, handlers: { op: () => DEFER, main: () => DEFER }, seed: 3 });
      const advance = () => {
        for (const call of rt.pendingCalls()) rt.complete(call.id, call.name === "main" ? "0" : "a2000");
        rt.step();
      };
      advance();
      const id = await fresh();
      const claimOf = async () => (await store.claim("chain", 10, 60_000)).find((c) => c.id === id)!;
      let claim = await claimOf();
      const base = rt.snapshot();
      expect((await store.commit(id, claim.epoch, step({ image: base }))).ok).toBe(true);
      claim = await claimOf();
      expect(claim.deltas).toEqual([]);
      advance();
      const delta = rt.snapshot({ since: base });
      expect(claim.maxDeltas).toBeGreaterThan(0);
      expect((await store.commit(id, claim.epoch, step({ image: delta, delta: true }))).ok).toBe(true);
      claim = await claimOf();
      expect(Buffer.from(claim.image!).equals(Buffer.from(base))).toBe(true);
      expect(claim.deltas.map((d) => Buffer.from(d).equals(Buffer.from(delta)))).toEqual([true]);
      const latest = (await store.image(id))!;
      await verifyImageSignature(latest, await store.imageKey());
      expect(Buffer.from(encodeImage(await decodeImage(latest))).equals(Buffer.from(rt.snapshot()))).toBe(true);
      // A fenced-off delta changes nothing; a full image clears the chain.
      expect((await store.commit(id, claim.epoch - 1, step({ image: delta, delta: true }))).ok).toBe(false);
      advance();
      const full = rt.snapshot();
      expect((await store.commit(id, claim.epoch, step({ image: full }))).ok).toBe(true);
      claim = await claimOf();
      expect(claim.deltas).toEqual([]);
      expect(Buffer.from(claim.image!).equals(Buffer.from(full))).toBe(true);
      await store.commit(id, claim.epoch, step({ image: full, status: "done" }));
    }, 60_000);

    it("claim bumps the epoch, sets owner and lease, and hands a computation to one claimer only", async () => {
      const id = await fresh();
      const [claim] = await store.claim("w1", 10, 10_000);
      expect(claim).toMatchObject({ id, moduleId: MODULE, epoch: 1, seed: 42, image: null });
      expect(await store.claim("w2", 10, 10_000)).toEqual([]);
      const row = (await store.get(id))!;
      expect(row).toMatchObject({ status: "running", owner: "w1", epoch: 1 });
      expect(row.leaseUntil! - claim.now).toBeGreaterThan(9000);
      expect((await store.commit(id, 1, step({ status: "runnable", output: ["hello"] }))).ok).toBe(true);
      const [again] = await store.claim("w2", 10, 10_000);
      expect(again).toMatchObject({ id, epoch: 2 });
      expect(text(again.image!)).toBe("image");
      await store.commit(id, 2, step({ status: "done" }));
    });

    it("two workers racing for one computation: exactly one wins", async () => {
      const id = await fresh();
      const a = store;
      const b = (await second()) ?? store;
      const results = await Promise.all([a.claim("wa", 1, 10_000), b.claim("wb", 1, 10_000), a.claim("wa2", 1, 10_000), b.claim("wb2", 1, 10_000)]);
      const winners = results.flat();
      expect(winners.map((c) => c.id)).toEqual([id]);
      await store.commit(id, winners[0].epoch, step({ status: "done" }));
    });

    it("rejects_zombie_writer: after its lease expires and another worker claims, the old claim writes nothing", async () => {
      const id = await fresh();
      const [old] = await store.claim("zombie", 1, 150);
      await sleep(300);
      const [taker] = await store.claim("taker", 1, 10_000);
      expect(taker).toMatchObject({ id, epoch: old.epoch + 1 });
      expect(await store.heartbeat(id, old.epoch, 10_000)).toBe(false);
      expect(await store.commit(id, old.epoch, step({ image: bytes("zombie image"), output: ["zombie line"], status: "done" }))).toEqual({ ok: false, status: null });
      expect(await store.fail(id, old.epoch, "zombie failure", 1)).toBeNull();
      expect(await store.commit(id, taker.epoch, step({ image: bytes("taker image"), output: ["taker line"], status: "done" }))).toEqual({ ok: true, status: "done" });
      expect(text((await store.image(id))!)).toBe("taker image");
      expect(await store.output(id)).toBe("taker line\n");
      expect((await store.get(id))!).toMatchObject({ status: "done", owner: null, attempts: 0 });
    });

    it("rejects_expired_lease_commit even when nobody took over; heartbeat keeps a lease alive", async () => {
      const id = await fresh();
      const [kept] = await store.claim("w", 1, 1000);
      for (let i = 0; i < 5; i++) {
        await sleep(300);
        expect(await store.heartbeat(id, kept.epoch, 1000)).toBe(true);
      }
      expect((await store.commit(id, kept.epoch, step({ status: "running", leaseMs: 150 }))).ok).toBe(true);
      await sleep(300);
      expect((await store.commit(id, kept.epoch, step({ status: "done" }))).ok).toBe(false);
      expect((await store.get(id))!.status).toBe("running");
    });

    it("the reaper returns expired leases to runnable", async () => {
      const id = await fresh();
      await store.claim("crashed", 1, 100);
      await sleep(250);
      expect(await store.reap()).toBeGreaterThanOrEqual(1);
      expect((await store.get(id))!).toMatchObject({ status: "runnable", owner: null, leaseUntil: null });
      const [c] = await store.claim("w", 1, 10_000);
      await store.commit(c.id, c.epoch, step({ status: "done" }));
    });

    it("poison: N failed attempts end failed with the last error, and never block the others", async () => {
      const bad = await fresh();
      const good = `c${++counter}`;
      await store.create(good, MODULE, 1);
      const seen = new Set<string>();
      for (let attempt = 1; attempt <= 3; attempt++) {
        for (const c of await store.claim("w", 10, 10_000)) {
          seen.add(c.id);
          if (c.id === bad) expect(await store.fail(bad, c.epoch, `trap ${attempt}`, 3)).toBe(attempt < 3 ? "runnable" : "failed");
          else await store.commit(c.id, c.epoch, step({ status: "done" }));
        }
      }
      expect(seen).toEqual(new Set([bad, good]));
      expect((await store.get(bad))!).toMatchObject({ status: "failed", attempts: 3, lastError: "trap 3" });
      expect((await store.get(good))!.status).toBe("done");
      expect(await store.claim("w", 10, 10_000)).toEqual([]);
    });

    it("completions: stored once, wake a waiting computation, consumed once inside the commit", async () => {
      const id = await fresh();
      const woke: string[] = [];
      const unlisten = await store.listen((payload) => woke.push(payload));
      const [c] = await store.claim("w", 1, 10_000);
      const call = { callId: 7, name: "approval", tasklet: 1, payload: bytes("order-7") };
      expect(await store.commit(id, c.epoch, step({ status: "waiting", pending: [call] }))).toEqual({ ok: true, status: "waiting" });
      expect(await store.calls(id)).toEqual([{ ...call, deferred: false }]);
      await store.markDeferred(id, 7);
      expect((await store.calls(id))[0].deferred).toBe(true);
      expect(await store.claim("w", 1, 10_000)).toEqual([]);
      await expect(store.complete(id, 8, true, bytes("x"), true)).rejects.toMatchObject({ code: "FLEET_CONFLICT" });
      await expect(store.complete("nope", 7, true, bytes("x"), true)).rejects.toMatchObject({ code: "FLEET_NOT_FOUND" });
      expect(await store.complete(id, 7, true, bytes("approved"), true)).toBe(true);
      await expect(store.complete(id, 7, true, bytes("again"), true)).rejects.toMatchObject({ code: "FLEET_CONFLICT" });
      expect(await store.complete(id, 7, true, bytes("handler again"), false)).toBe(false);
      expect((await store.get(id))!.status).toBe("runnable");
      for (let i = 0; i < 50 && !woke.some((p) => p.startsWith(`${id} completion`)); i++) await sleep(20);
      expect(woke).toContain(`${id} completion`);
      await unlisten();

      const [again] = await store.claim("w", 1, 10_000);
      expect(again.calls.map((x) => ({ ...x, payload: text(x.payload) }))).toEqual([{ callId: 7, name: "approval", tasklet: 1, payload: "order-7", deferred: true }]);
      expect(again.completions.map((x) => ({ ...x, value: text(x.value) }))).toEqual([{ callId: 7, ok: true, value: "approved" }]);
      const completions = await store.completions(id, again.epoch);
      expect(completions.map((x) => ({ ...x, value: text(x.value) }))).toEqual([{ callId: 7, ok: true, value: "approved" }]);
      expect(await store.completions(id, again.epoch - 1)).toEqual([]);
      await store.commit(id, again.epoch, step({ status: "running", consumed: [7] }));
      expect(await store.completions(id, again.epoch)).toEqual([]);
      expect(await store.calls(id)).toEqual([]);
      await store.commit(id, again.epoch, step({ status: "done" }));
    });

    it("a commit to waiting turns runnable when a completion arrived meanwhile (no lost wake-up)", async () => {
      const id = await fresh();
      const [c] = await store.claim("w", 1, 10_000);
      const long = new Uint8Array(300).map((_, i) => (i * 37) & 255);
      const call = { callId: 1, name: "work", tasklet: 1, payload: long };
      await store.commit(id, c.epoch, step({ status: "running", pending: [call] }));
      expect(await store.complete(id, 1, true, bytes("42"), false)).toBe(true);
      expect(await store.commit(id, c.epoch, step({ status: "waiting", pending: [call] }))).toEqual({ ok: true, status: "runnable" });
      const [d] = await store.claim("w", 1, 10_000);
      expect(d.calls).toEqual([{ ...call, deferred: false }]);
      expect(d.completions).toEqual([{ callId: 1, ok: true, value: bytes("42") }]);
      await store.commit(id, d.epoch, step({ status: "done", consumed: [1] }));
    });

    it("sleepers: claimable once wake_at has passed by the database clock, not before", async () => {
      const id = await fresh();
      const [c] = await store.claim("w", 1, 10_000);
      await store.commit(id, c.epoch, step({ status: "waiting", wakeAt: c.now + 400 }));
      expect(await store.claim("w", 1, 10_000)).toEqual([]);
      const wait = (await store.nextWake())!;
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(400);
      await sleep(wait + 50);
      const [woken] = await store.claim("w", 1, 10_000);
      expect(woken.id).toBe(id);
      await store.commit(id, woken.epoch, step({ status: "done" }));
    });

    it("output: exactly the committed steps' lines, in order; a refused commit's lines are gone", async () => {
      const id = await fresh();
      const [c] = await store.claim("w", 1, 10_000);
      await store.commit(id, c.epoch, step({ status: "running", output: ["one", "two"] }));
      await store.commit(id, c.epoch, step({ status: "running", output: [] }));
      await store.commit(id, c.epoch, step({ status: "runnable", output: ["three"] }));
      await store.commit(id, c.epoch, step({ status: "runnable", output: ["never"] }));
      expect(await store.output(id)).toBe("one\ntwo\nthree\n");
      const [d] = await store.claim("w", 1, 10_000);
      await store.commit(id, d.epoch, step({ status: "done", output: ["four"] }));
      expect(await store.output(id)).toBe("one\ntwo\nthree\nfour\n");
      expect((await store.get(id))!.steps).toBe(4);
    });

    it("cancel fails the computation and fences its claim", async () => {
      const id = await fresh();
      const [c] = await store.claim("w", 1, 10_000);
      expect(await store.cancel(id)).toBe(true);
      expect((await store.commit(id, c.epoch, step({ status: "done" }))).ok).toBe(false);
      expect((await store.get(id))!).toMatchObject({ status: "failed", lastError: "cancelled" });
      expect(await store.cancel(id)).toBe(false);
    });
  });
}
