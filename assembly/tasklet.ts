// Task and Tasklet: what a user writes and the handle the runtime gives back.
//
// AssemblyScript has no capturing closures, so a tasklet's code and state live in an
// object: subclass Task, keep state in fields, implement run(). spawn(task) wraps it in
// a Tasklet, the unit the scheduler switches.
//
// Status (after Stackless Python and Lua coroutines):
//
//   spawn ─► SUSPENDED ─(scheduler picks it)─► RUNNING ─(run() returns)─► DEAD
//                ▲                               │
//                │ woken (value sent, joined     │ blocks: channel, join(),
//                │ tasklet died, switched to)    ▼ parked by switchTo()
//                └──────────────────────────── NORMAL
//
//   SUSPENDED  runnable: in the run queue, waiting for its turn (or not started yet)
//   RUNNING    the tasklet executing now (exactly one while the scheduler is inside one)
//   NORMAL     alive but waiting for another tasklet (see `waitingFor`)
//   DEAD       run() has returned, or the tasklet failed (`failed`, `error`): a throw or
//              trap inside it stops it alone (the host unwinds it; host/isolate.ts)
//
// Misuse (join on itself, switchTo a dead or blocked tasklet) throws, which the host
// reports as a MISUSE error; nothing is changed before the check.
import { TaskletQueue, queueOf } from "./queue";
import { SavedStack, suspend } from "./switch";
import { current, runQueue } from "./scheduler";

export abstract class Task {
  /** The tasklet's body. Runs on its own stack; may block and switch freely. */
  abstract run(): void;
}

export enum TaskletStatus {
  Suspended = 0,
  Running = 1,
  Normal = 2,
  Dead = 3,
}

/** Why a NORMAL tasklet is waiting (also reported to the host). */
export enum WaitReason {
  None = 0,
  Send = 1,
  Receive = 2,
  Join = 3,
  Switch = 4,
  Host = 5,
}

@final export class Tasklet {
  status: TaskletStatus = TaskletStatus.Suspended;
  waitingFor: WaitReason = WaitReason.None;
  /** Set when the tasklet failed: it threw (aborted), trapped, or outgrew its stack. */
  failed: bool = false;
  /** Why it failed: the message and, for a throw, file:line:column. Null otherwise. */
  error: string | null = null;
  /**
   * While waiting on a host call (WaitReason.Host): the PendingCall's address, for the
   * stack decoder (host/stacks.ts). A raw address: the call is reachable from `pending`.
   */
  hostCallAddress: usize = 0;
  /** Suspended stack; null before the first switch and after death. */
  saved: SavedStack | null = null;
  /** The tasklets blocked in join() on this one; created on first use. */
  joiners: TaskletQueue | null = null;
  /** The tasklet that last switched to this one (woken when this one dies, as in greenlet). */
  switchedFrom: Tasklet | null = null;

  // Intrusive links of the queue this tasklet waits in: raw addresses (see queue.ts).
  queueAddress: usize = 0;
  prevAddress: usize = 0;
  nextAddress: usize = 0;
  // Registry of live tasklets (see scheduler.ts).
  prevLive: Tasklet | null = null;
  nextLive: Tasklet | null = null;

  // A value in transit through a channel while this tasklet is blocked on it.
  xferRef: Object | null = null;
  xferBits: u64 = 0;
  xferOk: bool = false;

  constructor(public readonly id: i32, public readonly task: Task) {}

  /** Bytes this tasklet's suspended stack occupies (0 when not suspended). */
  get stackBytes(): u32 {
    const saved = this.saved;
    return saved ? saved.bytes : 0;
  }

  /** Blocks the current tasklet until this one is dead. */
  join(): void {
    const me = current();
    if (me === this) throw new Error("join: tasklet " + this.id.toString() + " cannot join itself");
    if (this.status == TaskletStatus.Dead) return;
    let joiners = this.joiners;
    if (!joiners) this.joiners = joiners = new TaskletQueue();
    me.block(WaitReason.Join, joiners);
    suspend();
  }

  /**
   * Switches directly to this tasklet (greenlet style): it runs next, and the current
   * tasklet is parked (NORMAL) until some tasklet switches back to it, or until this
   * one dies (then, like a greenlet's parent, it resumes). A no-op on the current
   * tasklet. The target must be runnable or parked by switchTo().
   */
  switchTo(): void {
    const me = current();
    if (me === this) return;
    if (this.status == TaskletStatus.Dead) throw new Error("switchTo: tasklet " + this.id.toString() + " is dead and cannot be resumed");
    if (this.status == TaskletStatus.Normal && this.waitingFor != WaitReason.Switch) {
      throw new Error("switchTo: tasklet " + this.id.toString() + " is blocked (" + waitReasonName(this.waitingFor) + ") and can only be woken by that event");
    }
    const q = queueOf(this);
    if (q) q.remove(this);
    this.status = TaskletStatus.Suspended;
    this.waitingFor = WaitReason.None;
    runQueue.unshift(this);
    this.switchedFrom = me;
    me.block(WaitReason.Switch, null);
    suspend();
  }

  /** Marks the current tasklet as waiting (in `queue`, if any). The caller then suspends. */
  block(reason: WaitReason, queue: TaskletQueue | null): void {
    this.status = TaskletStatus.Normal;
    this.waitingFor = reason;
    if (queue) queue.push(this);
  }

  @inline putValue<T>(value: T, ok: bool): void {
    if (isReference<T>()) {
      this.xferRef = changetype<Object | null>(changetype<usize>(value));
    } else if (isFloat<T>()) {
      this.xferBits = sizeof<T>() == 8 ? reinterpret<u64>(<f64>value) : <u64>reinterpret<u32>(<f32>value);
    } else {
      this.xferBits = <u64>value;
    }
    this.xferOk = ok;
  }

  @inline takeValue<T>(): T {
    let value: T;
    if (isReference<T>()) {
      value = changetype<T>(changetype<usize>(this.xferRef));
      this.xferRef = null;
    } else if (isFloat<T>()) {
      value = sizeof<T>() == 8 ? <T>reinterpret<f64>(this.xferBits) : <T>reinterpret<f32>(<u32>this.xferBits);
    } else {
      value = <T>this.xferBits;
    }
    this.xferBits = 0;
    return value;
  }
}

export function waitReasonName(reason: WaitReason): string {
  switch (reason) {
    case WaitReason.Send: return "channel send";
    case WaitReason.Receive: return "channel receive";
    case WaitReason.Join: return "join";
    case WaitReason.Switch: return "parked by switchTo";
    case WaitReason.Host: return "host call";
    default: return "runnable";
  }
}
