// Runtime: one running instance of a Program, driven by the host.
//
// State machine:
//
//   start() or restore(image) ─► ready ─step()/run()─► ready … ─► done (main returned)
//   snapshot() in ready or done: freezes memory + globals + host record into an image
//
// After each step the runtime dispatches the host calls the program made (hostcalls.ts);
// a step reports "waiting" when every live tasklet waits on a host call, and run()
// sleeps until a handler settles or rt.complete() answers one.
//                 │
//                 ├─ a tasklet (not main) fails in its own code ► ready (that tasklet alone; isolate.ts)
//                 ├─ main or the runtime traps or aborts ────► poisoned (TRAP/ABORT/MISUSE)
//                 ├─ a tasklet outgrows its stack ─► ready    (STACK_LIMIT; tasklet stopped)
//                 └─ every tasklet blocked ─────────► ready   (DEADLOCK thrown; nothing runs)
//
// step() enters the module once: the scheduler inside wasm switches tasklets until the
// budget of resumptions is spent, main returns, or nothing is runnable. A poisoned
// runtime refuses every call with POISONED: after a trap the wasm state is not safe to
// run (AssemblyScript cannot unwind an error), so start a new runtime instead.
//
// Warm instances (pool.ts): rt.release() hands the instance to its Program's pool and
// leaves the runtime "released", where every public method throws RELEASED (release()
// itself is then a no-op). Runtime.restore thaws into a pooled instance when one fits,
// into a fresh one otherwise; the images that follow are the same bytes either way.
//
//   ready / done ─release()─► released (instance pooled, unless the pool is full or code
//   poisoned ─────release()─► released  outside holds rt.exports/rt.memory; dropped if poisoned)
//
// Exception boundary: every public method either works or throws (rejects with) a
// StasisError. Calls into wasm go through enter(), which classifies whatever escapes
// (failure.ts); handlers run through dispatch.ts, which turns anything they do into a
// reply or an error result; restore treats the image and any module it embeds as
// untrusted (decode checks, module id recomputed, globals validated).
import {
  STEP_BLOCKED, STEP_BUDGET, STEP_DONE, STEP_WAITING, TASKLET_RECORD_BYTES, TASKLET_STATUS, WAIT_REASON,
  type StasisExports, type TaskletStatus, type WaitReason,
} from "./abi.ts";
import { BUILTIN_HANDLERS, readCalls, type HostCall, type HostHandler, type HostReply } from "./hostcalls.ts";
import { describe, findHandler, hasHandler, invoke, toOutcome, type Outcome } from "./dispatch.ts";
import { StasisError } from "./errors.ts";
import { classifyFailure } from "./failure.ts";
import { consolePrint, type PrintLevel } from "./imports.ts";
import { newArrayBuffer, newInstance, publicExports, type InstanceSlot } from "./instance.ts";
import { legacyLineage, Lineage, newLineage } from "./lineage.ts";
import { Program } from "./program.ts";
import type { ImageKey } from "./image/auth.ts";
import { encodeImage } from "./image/encode.ts";
import type { HostRecord, ImageLimits } from "./image/format.ts";
import { ABI_VERSION } from "./abi.ts";
import { applyState, captureState, nonzeroChunks, type Instance } from "./state.ts";
import { CHUNK_LOG2 } from "./image/format.ts";
import { scratchChunks } from "./scratch.ts";
import { withStacks, type TaskletStack } from "./stacks.ts";
import { isolationContext, type TaskletFailure } from "./isolate.ts";
import { decodeForThaw, ImageTrail } from "./dirty.ts";

export interface HostOptions {
  /** Receives each line the program prints (console.log, .warn, …) with its level. Default: the host's console. */
  print?: (line: string, level: PrintLevel) => void;
  /** The functions the program's hostCall(name, payload) reach, by name. */
  handlers?: Record<string, HostHandler>;
  /** Told when a tasklet other than main throws or traps and is stopped alone (host/isolate.ts). Default: nothing. */
  onTaskletFailure?: (failure: TaskletFailure) => void;
}

export interface RuntimeOptions extends HostOptions {
  /** Most bytes of stack one tasklet may suspend with. Default 65536. */
  stackLimit?: number;
  /** Seed of the program's Math.random. Default: the current time. */
  seed?: number;
  /**
   * The lineage host-call keys are issued under (32 hex digits). Default: a random one,
   * so no two computations share keys. Set it only for reproducible images (tests that
   * compare bytes); two computations started with one lineage issue the same keys.
   */
  lineage?: string;
}

export interface RestoreOptions extends ImageLimits, HostOptions {
  /** Thaw only images signed with this key (signImage); others fail UNSIGNED / BAD_SIGNATURE. */
  key?: ImageKey;
  /** Thaw even if pending host calls have no handler (for tools that only look, like `stasis inspect`). */
  allowMissingHandlers?: boolean;
  /**
   * Start a new lineage: the thaw is a different computation from any other thaw of the
   * image, so the host calls it makes get keys no other lineage uses (see HostCall.key).
   * Without it, a restore continues the image's lineage and re-issues the same keys.
   */
  fork?: boolean;
}

export interface SnapshotOptions {
  /** Put the program's .wasm inside the image, so the image alone can be thawed. */
  embed?: boolean;
  /**
   * Write a delta image: only what changed since `since`, the last image this runtime
   * produced or thawed from (or any full uncompressed image of the same module). Thaw it
   * with its chain, Runtime.restore(program, [base, ...deltas]); see host/dirty.ts.
   */
  since?: Uint8Array;
}

export interface StepOptions {
  /** Most tasklet resumptions in this step. Default 10000. */
  budget?: number;
  /**
   * For programs built with --preempt: units of fuel (function entries and loop
   * iterations) a tasklet may run before it is preempted. Stays in force until changed.
   */
  fuel?: number;
}

/** "waiting": every live tasklet waits on a host call. */
export type StepStatus = "done" | "yielded" | "waiting";

/** A pending host call, as rt.pendingCalls() lists it (key: see HostCall.key). */
export type PendingCall = Omit<HostCall, "text">;

/** An answer given with rt.complete(): a value, or an error the tasklet sees as !ok. */
export type Completion = HostReply | { error: string };

export interface TaskletInfo {
  id: number;
  status: TaskletStatus;
  /** For a "normal" tasklet: what it waits for. */
  waitingFor: WaitReason;
  /** Bytes its suspended stack occupies (Asyncify frames + shadow-stack slots). */
  stackBytes: number;
  /** It threw or trapped and was stopped alone (host/isolate.ts), or outgrew its stack. */
  failed: boolean;
  /** For a failed tasklet: the message and, for a throw, file:line:column. */
  error?: string;
  /** Its call chain and what it waits on; null for modules built without frame tables. */
  stack?: TaskletStack | null;
}

export const DEFAULT_STACK_LIMIT = 65536;
const DEFAULT_BUDGET = 10000;
const CHUNK_BYTES = 2 ** CHUNK_LOG2;
/** run() gives the event loop a turn at least this often (ms). */
const RUN_SLICE_MS = 10;

export class Runtime {
  private state: "ready" | "stepping" | "done" | "poisoned" = "ready";
  private poison: StasisError | null = null;
  /** Calls whose handler promise has not settled yet. */
  private readonly inFlight = new Set<number>();
  private wakers: (() => void)[] = [];
  private failureListener: HostOptions["onTaskletFailure"];
  /** rt.release() was called: the instance is no longer this runtime's. */
  private released = false;
  /** rt.exports or rt.memory was handed out: code outside may still reach the instance, so it is not pooled. */
  private exposed = false;
  private readonly stasis: StasisExports;
  /** The last image produced or thawed from, for snapshot({ since }) (dirty.ts). */
  private readonly trail = new ImageTrail();

  private constructor(
    readonly program: Program,
    /** Handed to the program's Math.random when it first asks; kept in images. */
    private readonly seed: number,
    private readonly slot: InstanceSlot,
    private readonly handlers: Record<string, HostHandler>,
    /** Whose host-call keys this runtime issues (lineage.ts). */
    private lineage: Lineage,
  ) {
    this.stasis = slot.stasis;
  }

  static async start(program: Program, options: RuntimeOptions = {}): Promise<Runtime> {
    const stackLimit = options.stackLimit ?? DEFAULT_STACK_LIMIT;
    if (!Number.isInteger(stackLimit) || stackLimit < 1024 || stackLimit > 256 * 1024 * 1024) {
      throw new StasisError("BAD_OPTION", `stackLimit must be a whole number of bytes from 1024 to 268435456, got ${stackLimit}`);
    }
    if (options.seed !== undefined && !Number.isFinite(options.seed)) throw new StasisError("BAD_OPTION", `seed must be a finite number, got ${options.seed}`);
    if (options.lineage !== undefined && !/^[0-9a-f]{32}$/.test(options.lineage)) throw new StasisError("BAD_OPTION", `lineage must be 32 lowercase hex digits, got ${String(options.lineage)}`);
    const seed = options.seed ?? Date.now();
    const rt = Runtime.create(program, options, seed, await newInstance(program, options.print ?? consolePrint, seed), new Lineage(options.lineage ?? newLineage()));
    rt.enter(() => {
      rt.stasis._initialize();
      rt.stasis.__stasis_init(stackLimit);
      rt.stasis.__stasis_start();
    });
    return rt;
  }

  /**
   * Thaws an image into a new runtime that continues where the frozen one stopped.
   * `program` must be the module the image was taken from (checked by module id); pass
   * null to use the module embedded in the image. Each call gives an independent runtime.
   * `image` may be a chain [full image, ...deltas] (snapshot({ since })), applied in order.
   */
  static async restore(program: Program | null, image: Uint8Array | readonly Uint8Array[], options: RestoreOptions = {}): Promise<Runtime> {
    try {
      return await Runtime.thaw(program, image, options);
    } catch (error) {
      if (error instanceof StasisError) throw error;
      // A path this host did not foresee: the image passed every check yet something broke.
      throw new StasisError("CORRUPT", `the image could not be thawed (${describe(error)}); use an earlier checkpoint`, { cause: error });
    }
  }

  private static async thaw(program: Program | null, image: Uint8Array | readonly Uint8Array[], options: RestoreOptions): Promise<Runtime> {
    const { contents, chain } = await decodeForThaw(image, options);
    if (contents.abi !== ABI_VERSION) {
      throw new StasisError("UNSUPPORTED_VERSION", `the image was frozen under Stasis ABI ${contents.abi}, this host speaks ABI ${ABI_VERSION}; thaw it with the Stasis version that wrote it`);
    }
    if (!program) {
      if (!contents.module) throw new StasisError("MODULE_MISMATCH", `the image does not embed its program; pass the program built as module ${contents.moduleId}${contents.host.program ? ` (${contents.host.program})` : ""}`);
      program = await Program.load(contents.module as Uint8Array<ArrayBuffer>, { source: contents.host.program });
    }
    if (program.id !== contents.moduleId) {
      throw new StasisError(
        "MODULE_MISMATCH",
        `the image needs module ${contents.moduleId}${contents.host.program ? ` (${contents.host.program})` : ""}, but the program given is ${program.id}; thaw it with the exact .wasm it was frozen from`,
      );
    }
    const { seed, lineage, inherited } = contents.host;
    const print = options.print ?? consolePrint;
    const warm = program.pool.take(contents.memory.pages);
    // A warm instance may hold non-zero bytes anywhere it held data before (pool.ts), and
    // in its Asyncify scratch, which images leave out (scratch.ts): zeroed too, so nothing
    // of the previous computation stays readable by this one.
    let dirty: [number, number][] | undefined;
    if (warm) {
      warm.io.rebind(print, seed);
      const scratch = scratchChunks(warm.stasis, CHUNK_LOG2);
      const held = warm.nonzero ?? nonzeroChunks(warm.stasis);
      dirty = (scratch ? [...held, scratch].sort((a, b) => a[0] - b[0]) : held).map(([first, end]) => [first * CHUNK_BYTES, end * CHUNK_BYTES]);
    }
    const slot = warm ?? (await newInstance(program, print, seed));
    const rt = Runtime.create(program, options, seed, slot, new Lineage(lineage ?? legacyLineage(seed), new Map(inherited ?? [])));
    rt.enter(() => {
      applyState(rt.instance, contents, dirty);
      // Pending calls are dispatched again, with their ids, after the next step.
      rt.stasis.__stasis_reannounce_calls();
    });
    rt.state = contents.host.done ? "done" : "ready";
    rt.trail.thawed(chain, contents);
    const pending = rt.pendingCalls();
    if (options.fork) rt.lineage = rt.lineage.fork(pending.map((c) => c.id));
    const missing = [...new Set(pending.map((c) => c.name))].filter((name) => !hasHandler(rt.handlers, name));
    if (missing.length > 0 && !options.allowMissingHandlers) {
      throw new StasisError("MISSING_HANDLER", `the image waits on host calls to ${missing.map((n) => `"${n}"`).join(", ")}, which have no handler here; pass them in the handlers option`);
    }
    return rt;
  }

  private static create(program: Program, options: HostOptions, seed: number, slot: InstanceSlot, lineage: Lineage): Runtime {
    const rt = new Runtime(program, seed, slot, { ...BUILTIN_HANDLERS, ...options.handlers }, lineage);
    rt.failureListener = options.onTaskletFailure;
    return rt;
  }

  /**
   * Gives the instance back to its Program's pool (pool.ts) for the next Runtime.restore,
   * and ends this runtime: every later call throws RELEASED (a second release() does
   * nothing). Handlers still in flight are ignored when they settle; a run() waiting on
   * them wakes and rejects with RELEASED. The instance is dropped instead of pooled when
   * the runtime is poisoned, when rt.exports or rt.memory was read (code outside could
   * still reach it) or when the pool is full. Not from inside a host callback (BUSY).
   */
  release(): void {
    if (this.released) return;
    if (this.state === "stepping") throw new StasisError("BUSY", "release() was called from inside a host callback while the runtime runs; call it after step() returns");
    this.released = true;
    this.inFlight.clear();
    this.failureListener = undefined;
    if (this.state !== "poisoned" && !this.exposed) this.program.pool.give(this.slot);
    this.wake();
  }

  /** Throws RELEASED once release() was called. */
  private live(): void {
    if (this.released) {
      throw new StasisError("RELEASED", "this runtime was released (rt.release()) and its instance may serve another runtime now; thaw the image again with Runtime.restore, or do not release a runtime you still use");
    }
  }

  /** The program's own exports (functions it exports besides main), for the host to call between steps. */
  get exports(): Record<string, unknown> {
    this.live();
    this.exposed = true;
    return publicExports(this.slot);
  }

  /**
   * Freezes the whole computation into an image: linear memory (all-zero chunks left
   * out), every mutable global, and the host's record. Only between steps.
   */
  snapshot(options: SnapshotOptions = {}): Uint8Array<ArrayBuffer> {
    if (options.embed && !this.program.bytes) throw new StasisError("BAD_OPTION", "embed needs a program loaded from bytes (Program.load(bytes)), not from a compiled WebAssembly.Module");
    const done = this.state === "done";
    const host: HostRecord = { done, seed: this.seed, lineage: this.lineage.id };
    const inherited = this.lineage.inheritedEntries();
    if (inherited.length > 0) host.inherited = inherited;
    if (this.program.source !== undefined) host.program = this.program.source;
    if (options.since !== undefined && options.embed) throw new StasisError("BAD_OPTION", "a delta image (since) cannot embed the module; embed it in the full image the chain starts from");
    let nonzero: [number, number][] = [];
    const image = this.enter(() => {
      const contents = captureState(this.instance, host, options.embed ? this.program.bytes : undefined);
      const chunk = 2 ** contents.memory.chunkLog2;
      nonzero = contents.memory.runs.map((run) => [run.firstChunk, run.firstChunk + run.data.length / chunk]);
      if (options.since !== undefined) return this.trail.delta(options.since, contents);
      const full = encodeImage(contents);
      this.trail.produced(full, contents);
      return full;
    });
    // Until the module runs again, its non-zero chunks are the image's (pool.ts reuse).
    this.slot.nonzero = nonzero;
    return image;
  }

  private get instance(): Instance {
    return { program: this.program, stasis: this.stasis, exports: this.slot.raw, globals: this.slot.globals };
  }

  /** True once main has returned. */
  get done(): boolean {
    this.live();
    return this.state === "done";
  }

  /** The program's linear memory (make a fresh view on every use: it can grow). */
  get memory(): WebAssembly.Memory {
    this.live();
    this.exposed = true;
    return this.stasis.memory;
  }

  get stackLimit(): number {
    this.live();
    return this.stasis.__stasis_stack_limit();
  }

  /** Runs tasklets until the budget is spent ("yielded") or main returns ("done"). */
  step(options: StepOptions = {}): StepStatus {
    this.live();
    const budget = options.budget ?? DEFAULT_BUDGET;
    if (!Number.isInteger(budget) || budget < 1 || budget > 0x7fffffff) {
      throw new StasisError("BAD_OPTION", `budget must be a whole number from 1 to 2147483647, got ${budget}`);
    }
    if (options.fuel !== undefined) {
      if (!Number.isInteger(options.fuel) || options.fuel < 1 || options.fuel > 0x7fffffff) {
        throw new StasisError("BAD_OPTION", `fuel must be a whole number from 1 to 2147483647, got ${options.fuel}`);
      }
      if (!this.program.metadata.preempt) throw new StasisError("BAD_OPTION", "fuel needs a program built with --preempt (buildProgram(..., { preempt: true }))");
      this.enter(() => this.stasis.__stasis_set_fuel!(options.fuel!));
    }
    if (this.state === "done") return "done";
    // A tasklet that failed alone (isolate.ts) ended this step early: the rest go on.
    const result = this.enter(() => this.stasis.__stasis_step(budget), () => STEP_BUDGET);
    const answeredAtOnce = this.dispatch(this.enter(() => readCalls(this.stasis, false, this.keyOf)));
    if (result === STEP_DONE) {
      this.state = "done";
      return "done";
    }
    if (result === STEP_BUDGET) return "yielded";
    if (result === STEP_WAITING) return answeredAtOnce ? "yielded" : "waiting";
    if (result === STEP_BLOCKED) throw this.deadlock();
    throw this.fatal(new StasisError("TRAP", `stasis internal: unknown step result ${result}`));
  }

  /**
   * Steps until main returns ("done"), giving the event loop a turn every few
   * milliseconds and sleeping while tasklets wait on handlers. Returns "waiting" when
   * the only calls left were deferred (DEFER): nothing happens until rt.complete().
   */
  async run(options: StepOptions = {}): Promise<"done" | "waiting"> {
    let sliceStart = Date.now();
    for (;;) {
      const status = this.step(options);
      if (status === "done") return "done";
      if (status === "waiting") {
        if (this.inFlight.size === 0) return "waiting";
        await this.settled();
        sliceStart = Date.now();
      } else if (Date.now() - sliceStart >= RUN_SLICE_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        sliceStart = Date.now();
      }
    }
  }

  /** Resolves when the next host call is answered (or a handler defers). */
  settled(): Promise<void> {
    this.live();
    return new Promise<void>((resolve) => this.wakers.push(resolve));
  }

  /** Host calls waiting for an answer (dispatched or deferred). */
  pendingCalls(): PendingCall[] {
    return this.enter(() => readCalls(this.stasis, true, this.keyOf)).map(({ id, key, name, tasklet, payload }) => ({ id, key, name, tasklet, payload }));
  }

  private readonly keyOf = (id: number): string => this.lineage.keyOf(id);

  /** The lineage this runtime issues host-call keys under (see RestoreOptions.fork). */
  get lineageId(): string {
    this.live();
    return this.lineage.id;
  }

  /** How many dispatched calls still wait for their handler to settle. */
  get callsInFlight(): number {
    this.live();
    return this.inFlight.size;
  }

  /** Answers pending host call `id` from outside its handler (e.g. a webhook). */
  complete(id: number, completion: Completion): void {
    this.live();
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new StasisError("BAD_OPTION", `a host call id is a whole number, got ${String(id)}`);
    let outcome: Outcome;
    if (typeof completion === "object" && completion !== null && !(completion instanceof Uint8Array) && typeof (completion as { error?: unknown }).error === "string") {
      outcome = { ok: false, bytes: new TextEncoder().encode((completion as { error: string }).error) };
    } else {
      outcome = toOutcome(completion, `call ${id}`);
      if (!("ok" in outcome) || !outcome.ok) throw new StasisError("BAD_OPTION", "complete() takes a string, a Uint8Array or { error: string }");
    }
    if (!this.deliver(id, outcome.ok, outcome.bytes)) throw new StasisError("BAD_OPTION", `no host call ${id} is pending; it may have been answered already`);
  }

  /** Starts the handlers of new calls; returns whether some call was answered at once. */
  private dispatch(calls: HostCall[]): boolean {
    let answeredAtOnce = false;
    for (const call of calls) {
      const handler = findHandler(this.handlers, call);
      if (typeof handler !== "function") {
        if ("ok" in handler) this.deliver(call.id, handler.ok, handler.bytes);
        answeredAtOnce = true;
        continue;
      }
      this.inFlight.add(call.id);
      // invoke() never rejects; settle() never throws: no unhandled rejection can come of a call.
      void invoke(handler, call).then((outcome) => this.settle(call.id, outcome));
    }
    return answeredAtOnce;
  }

  /** A handler finished: deliver its answer (or note that it deferred) and wake run(). */
  private settle(id: number, outcome: Outcome): void {
    if (!this.inFlight.delete(id)) return;
    try {
      if ("ok" in outcome && this.state !== "poisoned") this.deliver(id, outcome.ok, outcome.bytes);
    } catch {
      // deliver() failed inside the module: the runtime is poisoned now, and the next
      // step() or run() reports why (POISONED, with the failure as its cause).
    } finally {
      this.wake();
    }
  }

  /** Writes an answer into the program and wakes run(). False if `id` is not pending. */
  private deliver(id: number, ok: boolean, bytes: Uint8Array): boolean {
    try {
      const delivered = this.enter(() => {
        const ptr = this.stasis.__pin(newArrayBuffer(this.stasis, bytes));
        try {
          return this.stasis.__stasis_complete(id, ok ? 1 : 0, ptr) !== 0;
        } finally {
          this.stasis.__unpin(ptr);
        }
      });
      if (delivered) this.lineage.answered(id);
      return delivered;
    } finally {
      this.inFlight.delete(id);
      this.wake();
    }
  }

  /** Lets a waiting run() look again. */
  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  /** How many tasklets are alive (cheaper than tasklets().length). */
  taskletCount(): number {
    return this.enter(() => this.stasis.__stasis_live_count());
  }

  /**
   * Every live tasklet, newest first, then every failed one (status "dead", `failed`,
   * `error`); tasklets that returned are gone. Each with its decoded stack (host/stacks.ts).
   */
  tasklets(): TaskletInfo[] {
    const list = this.enter(() => {
      const block = this.stasis.__stasis_tasklets() >>> 0;
      try {
        const view = new DataView(this.stasis.memory.buffer);
        const count = view.getUint32(block, true);
        const list: TaskletInfo[] = [];
        for (let i = 0, at = block + 4; i < count; i++, at += TASKLET_RECORD_BYTES) {
          list.push({
            id: view.getInt32(at, true),
            status: TASKLET_STATUS[view.getUint8(at + 4)],
            waitingFor: WAIT_REASON[view.getUint8(at + 5)],
            stackBytes: view.getUint32(at + 8, true),
            failed: view.getUint8(at + 6) !== 0,
          });
        }
        return list;
      } finally {
        this.stasis.__stasis_free(block);
      }
    });
    return withStacks(list, this.program.frames, this.stasis.memory, this.slot.raw);
  }

  /** Calls into the module, turning any failure into a StasisError. */
  private enter<T>(call: () => T, afterIsolated?: () => T): T {
    this.live();
    // The module may write anywhere now: what the last snapshot knew of its memory is stale.
    this.slot.nonzero = null;
    if (this.state === "poisoned") {
      throw new StasisError("POISONED", `this runtime stopped after an earlier error (${this.poison?.code}: ${this.poison?.message}); start a new one`, { cause: this.poison });
    }
    if (this.state === "stepping") {
      throw new StasisError("BUSY", "the runtime is already running (called from inside a host callback); call it again after step() returns");
    }
    const previous = this.state;
    this.state = "stepping";
    try {
      const result = call();
      this.state = previous;
      return result;
    } catch (error) {
      this.state = previous;
      const { error: classified, fatal, isolated } = classifyFailure(error, this.stasis, afterIsolated && isolationContext(this.stasis, this.program.frames));
      if (!isolated || !afterIsolated) throw fatal ? this.fatal(classified) : classified;
      try {
        this.failureListener?.(isolated);
      } catch {
        // The listener's own failure must not undo the isolation (the boundary holds).
      }
      return afterIsolated();
    }
  }

  private fatal(error: StasisError): StasisError {
    this.state = "poisoned";
    this.poison = error;
    error.message += ". The instance can no longer be used: start a new runtime.";
    return error;
  }

  private deadlock(): StasisError {
    const blocked = this.tasklets()
      .filter((t) => t.status === "normal")
      .map((t) => `tasklet ${t.id} (${t.waitingFor})`);
    return new StasisError(
      "DEADLOCK",
      `deadlock: main has not returned and every live tasklet is blocked: ${blocked.join(", ")}. ` +
        "Nothing can wake them; check for a receive without a sender, a join cycle, or a switchTo that is never answered.",
    );
  }
}
