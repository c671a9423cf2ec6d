// FleetWorker: claims computations from the store and steps them until they wait, finish
// or fail, `concurrency` at a time, each in its own step thread.
//
// One claim, start to end (runClaim):
//
//   claim (epoch e) ─► thaw in a step thread (or start, before the first commit)
//     loop: read unconsumed completions ─► step one slice in the thread (wall-clock limit)
//           ─► fenced commit(e): image + output + consumed completions + pending calls + status
//           ─► dispatch the new host calls to their handlers (here, at least once)
//           ─► keep the claim ("running") while the program has work or handlers are in
//              flight; give it back as "runnable" after holdMs (fairness), as "waiting"
//              when it only waits for sleeps (wake_at) or DEFERred calls, or "done"
//   a trap, abort or timeout ─► fail(e): attempts + 1, "failed" after maxAttempts
//   a refused commit or heartbeat (lease lost) ─► drop everything of this claim
//
// Handlers answer through store.complete (stored once per call id); the answer enters
// the computation at its next step, consumed by that step's commit: exactly once.
// sleep() never occupies a worker: its deadline becomes wake_at and the computation is
// claimable again when the database clock passes it. Idle workers wake on LISTEN/NOTIFY
// and poll every pollMs as a fallback; each claim takes at most the free slots, so
// 10,000 computations due at once are taken in batches, never all at once.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { DEFER, type HostCall, type HostReply } from "../../hostcalls.ts";
import { StasisError } from "../../errors.ts";
import { hasHandler, invoke } from "../../dispatch.ts";
import type { Fleet } from "./fleet.ts";
import { StepRunner } from "./step-runner.ts";
import { SLEEP, type FromThread, type ThreadCall } from "./step-protocol.ts";
import type { Claim, FleetStore } from "./store.ts";

/** What a fleet handler receives: the call, and which computation made it. */
/** A host call as fleet handlers see it: `key` is `<computation>.<call id>`, unique in the fleet and the same on every delivery. */
export interface FleetCall extends HostCall {
  /** The computation's id. */
  computation: string;
}

export type FleetHandler = (call: FleetCall) => HostReply | typeof DEFER | Promise<HostReply | typeof DEFER>;

export interface FleetWorkerOptions {
  handlers?: Record<string, FleetHandler>;
  /** Computations stepped at once (one step thread each). Default 4. */
  concurrency?: number;
  /** Lease of a claim; renewed every leaseMs/3 while held. Default 30000. */
  leaseMs?: number;
  /** Wall-clock limit of one step slice; past it the step is stopped and counts as a failed attempt. Default 30000. */
  stepTimeoutMs?: number;
  /** Failed attempts (trap, abort, timeout) after which a computation is failed. Default 5. */
  maxAttempts?: number;
  /** Polling interval when no notification arrives. Default 1000. */
  pollMs?: number;
  /** Time a slice runs before its image is committed. Default 50. */
  sliceMs?: number;
  /** Time a computation that still has work is held before it is given back (fairness). Default 1000. */
  holdMs?: number;
  /** The owner name written into claims. Default host:pid:random. */
  name?: string;
  /** Called for each thing the worker does (for logs and tests). */
  onEvent?: (event: FleetEvent) => void;
  /**
   * The key images are signed with (HMAC-SHA-256) and verified against before a thaw.
   * Default: STASIS_IMAGE_KEY, else the fleet's own key, made on first use and kept in
   * the store, so every worker of the fleet shares it.
   */
  imageKey?: Uint8Array | string;
}

export interface FleetEvent {
  type: "claimed" | "committed" | "refused" | "failed" | "lost" | "handler-error" | "error";
  computation?: string;
  epoch?: number;
  status?: string;
  message?: string;
}

const SLICE_BUDGET = 1000;

export class FleetWorker {
  private readonly store: FleetStore;
  private readonly handlers: Record<string, FleetHandler>;
  readonly name: string;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly stepTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly pollMs: number;
  private readonly sliceMs: number;
  private readonly holdMs: number;
  private readonly onEvent: (event: FleetEvent) => void;
  private readonly idle: StepRunner[] = [];
  /** Claims held now: id → epoch and whether the lease was lost. */
  private readonly held = new Map<string, { epoch: number; lost: boolean; commits: number; poke: () => void }>();
  private readonly tasks = new Set<Promise<void>>();
  private stopping = false;
  private running: Promise<void> | null = null;
  private wakeLoop: () => void = () => {};
  private key: Promise<Uint8Array | string> | null = null;
  private readonly explicitKey: Uint8Array | string | undefined;

  constructor(fleet: Fleet, options: FleetWorkerOptions = {}) {
    this.store = fleet.store;
    this.handlers = options.handlers ?? {};
    const whole = (value: number | undefined, fallback: number, name: string, min = 1) => {
      const v = value ?? fallback;
      if (!Number.isInteger(v) || v < min) throw new StasisError("BAD_OPTION", `${name} must be a whole number ≥ ${min}, got ${value}`);
      return v;
    };
    this.concurrency = whole(options.concurrency, 4, "concurrency");
    this.leaseMs = whole(options.leaseMs, 30_000, "leaseMs", 100);
    this.stepTimeoutMs = whole(options.stepTimeoutMs, 30_000, "stepTimeoutMs", 10);
    this.maxAttempts = whole(options.maxAttempts, 5, "maxAttempts");
    this.pollMs = whole(options.pollMs, 1000, "pollMs", 10);
    this.sliceMs = whole(options.sliceMs, 50, "sliceMs");
    this.holdMs = whole(options.holdMs, 1000, "holdMs", 0);
    this.name = options.name ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
    this.onEvent = options.onEvent ?? (() => {});
    this.explicitKey = options.imageKey ?? (process.env.STASIS_IMAGE_KEY || undefined);
  }

  /** The image key, read from the store once. */
  private imageKey(): Promise<Uint8Array | string> {
    this.key ??= this.explicitKey !== undefined ? Promise.resolve(this.explicitKey) : this.store.imageKey();
    return this.key;
  }

  /** Works until stop(); resolves once every claim is committed or given back. */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  /** Graceful stop: no new claims; running slices finish and commit; then run() resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeLoop();
    for (const claim of this.held.values()) claim.poke();
    await this.running;
  }

  private async loop(): Promise<void> {
    let unlisten: (() => Promise<void>) | null = null;
    let notified = false;
    try {
      unlisten = await this.store.listen(() => {
        notified = true;
        this.wakeLoop();
      });
    } catch (error) {
      this.event({ type: "error", message: `LISTEN failed, polling only: ${(error as Error).message}` });
    }
    const heartbeat = setInterval(() => void this.heartbeat(), Math.max(50, Math.floor(this.leaseMs / 3)));
    const reaper = setInterval(() => void this.store.reap().catch(() => {}), Math.max(100, Math.floor(this.leaseMs / 2)));
    try {
      while (!this.stopping) {
        notified = false;
        const free = this.concurrency - this.held.size;
        let claimed = 0;
        if (free > 0) {
          try {
            const claims = await this.store.claim(this.name, free, this.leaseMs);
            claimed = claims.length;
            for (const claim of claims) this.start(claim);
          } catch (error) {
            this.event({ type: "error", message: (error as Error).message });
          }
          if (claimed === free && !this.stopping) continue;
        }
        if (notified || this.stopping) continue;
        let wait = this.pollMs;
        if (free - claimed > 0) {
          const next = await this.store.nextWake().catch(() => null);
          if (next !== null) wait = Math.min(wait, Math.max(next + 5, 10));
        }
        if (notified || this.stopping) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.wakeLoop = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeLoop = () => {};
      }
      while (this.tasks.size > 0) await Promise.all([...this.tasks]);
    } finally {
      clearInterval(heartbeat);
      clearInterval(reaper);
      await unlisten?.().catch(() => {});
      for (const runner of this.idle.splice(0)) await runner.close();
    }
  }

  private event(event: FleetEvent): void {
    try {
      this.onEvent(event);
    } catch {
      // a logging callback must not stop the worker
    }
  }

  private async heartbeat(): Promise<void> {
    for (const [id, claim] of this.held) {
      if (claim.lost) continue;
      const commits = claim.commits;
      const ok = await this.store.heartbeat(id, claim.epoch, this.leaseMs).catch(() => true);
      // A commit meanwhile may have given the claim back: not a lost lease.
      if (!ok && claim.commits === commits) {
        claim.lost = true;
        claim.poke();
        this.event({ type: "lost", computation: id, epoch: claim.epoch });
      }
    }
  }

  private start(claim: Claim): void {
    this.event({ type: "claimed", computation: claim.id, epoch: claim.epoch });
    const task = this.runClaim(claim)
      .catch((error: unknown) => this.event({ type: "error", computation: claim.id, message: (error as Error).message }))
      .finally(() => {
        // A computation committed as due at once can be claimed again (by this worker too)
        // while this claim still winds down: forget only this claim, not the newer one.
        if (this.held.get(claim.id)?.epoch === claim.epoch) this.held.delete(claim.id);
        this.tasks.delete(task);
        this.wakeLoop();
      });
    this.tasks.add(task);
  }

  private async runClaim(claim: Claim): Promise<void> {
    const { id, epoch } = claim;
    let signal: () => void = () => {};
    const state = { epoch, lost: false, commits: 0, poke: () => signal() };
    this.held.set(id, state);
    const localStart = Date.now();
    const dbNow = () => claim.now + (Date.now() - localStart);
    const deferred = new Set(claim.calls.filter((c) => c.deferred).map((c) => c.callId));
    const dispatched = new Set<number>();
    const inFlight = new Set<number>();
    let runner = this.idle.pop() ?? new StepRunner();
    const fail = async (error: unknown) => {
      const message = error instanceof StasisError ? `${error.code}: ${error.message}` : String((error as Error)?.message ?? error);
      const status = await this.store.fail(id, epoch, message, this.maxAttempts);
      this.event({ type: status === null ? "refused" : "failed", computation: id, epoch, status: status ?? undefined, message });
    };
    try {
      let loaded: FromThread;
      try {
        const load = {
          type: "load" as const, moduleId: claim.moduleId, image: claim.image, deltas: claim.deltas, maxDeltas: claim.maxDeltas,
          seed: claim.seed, handlers: Object.keys(this.handlers), key: await this.imageKey(),
        };
        loaded = await runner.request({ ...load, module: null }, this.stepTimeoutMs);
        if (loaded.type === "needModule") {
          const module = await this.store.getModule(claim.moduleId);
          if (!module) throw new StasisError("FLEET_NOT_FOUND", `module ${claim.moduleId} is not in the fleet store`);
          loaded = await runner.request({ ...load, module }, this.stepTimeoutMs);
        }
        if (loaded.type === "error") throw new StasisError(loaded.code as StasisError["code"], loaded.message);
      } catch (error) {
        await fail(error);
        return;
      }
      const heldSince = Date.now();
      let first = true;
      for (;;) {
        if (state.lost) return;
        const completions = first ? claim.completions : await this.store.completions(id, epoch);
        first = false;
        let result: FromThread;
        try {
          result = await runner.request({ type: "step", completions, now: dbNow(), sliceMs: this.sliceMs, budget: SLICE_BUDGET }, this.stepTimeoutMs);
          if (result.type === "error") throw new StasisError(result.code as StasisError["code"], result.message);
          if (result.type !== "stepped") throw new StasisError("TRAP", `stasis internal: the step thread answered ${result.type}`);
        } catch (error) {
          if (!runner.usable) runner = new StepRunner();
          await fail(error);
          return;
        }
        const fresh = result.pending.filter((c) => c.name !== SLEEP && !deferred.has(c.callId) && !dispatched.has(c.callId));
        const busy = fresh.length > 0 || inFlight.size > 0;
        let status: "running" | "runnable" | "waiting" | "done";
        if (result.status === "done") status = "done";
        else if (this.stopping) status = busy || result.status === "yielded" ? "runnable" : "waiting";
        else if (result.status === "yielded") status = Date.now() - heldSince < this.holdMs ? "running" : "runnable";
        else status = busy ? "running" : "waiting";
        state.commits++;
        const committed = await this.store.commit(id, epoch, {
          image: result.image, delta: result.delta, output: result.output, consumed: completions.map((c) => c.callId), pending: result.pending,
          status, wakeAt: result.wakeAt, leaseMs: this.leaseMs,
        });
        state.commits++;
        if (!committed.ok) {
          this.event({ type: "refused", computation: id, epoch });
          return;
        }
        this.event({ type: "committed", computation: id, epoch, status: committed.status ?? status });
        if (status !== "running") return;
        for (const call of fresh) {
          dispatched.add(call.callId);
          inFlight.add(call.callId);
          void this.dispatch(id, call).then((outcome) => {
            if (outcome === "deferred") deferred.add(call.callId);
            // The answer could not be stored: dispatch the call again at the next slice.
            if (outcome === "lost") dispatched.delete(call.callId);
            inFlight.delete(call.callId);
            signal();
          });
        }
        if (result.status === "waiting") {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.pollMs);
            signal = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          signal = () => {};
        }
      }
    } finally {
      // The thread forgets the computation: a waiting computation holds no memory here.
      if (runner.usable) {
        await runner.request({ type: "drop" }, this.stepTimeoutMs).catch(() => {});
        if (runner.usable) this.idle.push(runner);
      }
    }
  }

  /** Runs the handler of one call (at least once: again after any crash) and stores its answer. */
  private async dispatch(computation: string, call: ThreadCall): Promise<"answered" | "deferred" | "lost"> {
    const payload = call.payload;
    const fleetCall: FleetCall = {
      id: call.callId, key: `${computation}.${call.callId}`, computation, name: call.name, tasklet: call.tasklet, payload,
      text: () => new TextDecoder().decode(payload),
    };
    try {
      // Only a call restored from an image can lack a handler here: leave it for `fleet complete`.
      // invoke() turns whatever the handler does (throw, reject, a wrong type) into an outcome.
      const outcome = hasHandler(this.handlers, call.name) ? await invoke(this.handlers[call.name], fleetCall) : ({ deferred: true } as const);
      if ("deferred" in outcome) {
        await this.store.markDeferred(computation, call.callId);
        return "deferred";
      }
      await this.store.complete(computation, call.callId, outcome.ok, outcome.bytes, false);
      return "answered";
    } catch (error) {
      this.event({ type: "handler-error", computation, message: (error as Error).message });
      return "lost";
    }
  }
}
