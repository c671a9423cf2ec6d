// The scheduler: a FIFO run queue driven from inside wasm.
//
// The host calls step(budget) (exported through host.ts). step() resumes runnable
// tasklets one at a time, in FIFO order, until the budget of resumptions is spent,
// nothing is runnable, or main has returned. Every switch happens inside this loop; the
// host is entered once per step().
//
// Program lifetime (Go semantics): the program ends when main returns; tasklets still
// alive then are abandoned. If main is alive but nothing is runnable, every live
// tasklet is blocked: step() reports BLOCKED and the host decides (a deadlock, until
// host calls exist that can wake a tasklet from outside).
//
// Registry: every live tasklet is in a doubly linked list (Tasklet.prevLive/nextLive)
// so the host can list them and deadlocks can be explained; dead tasklets leave it and
// are then reachable only through user references, except failed ones, which retire()
// moves to a second list (failedHead, singly linked through nextLive) for the host to report.
import { Task, Tasklet, TaskletStatus, WaitReason } from "./tasklet";
import { TaskletQueue, queueOf, runQueue } from "./queue";
import { resume, runningTasklet } from "./switch";
import { pendingCallCount } from "./hostcall";

export { runQueue } from "./queue";
/** Gives the CPU to the next runnable tasklet; the current one goes to the back of the queue. */
export { schedule } from "./switch";
let liveHead: Tasklet | null = null;
let liveCount: i32 = 0;
/** Failed tasklets, newest first, linked through nextLive: kept so the host can list them. */
let failedHead: Tasklet | null = null;
let failedCount: i32 = 0;
let nextId: i32 = 1;
let mainTasklet: Tasklet | null = null;
let inStep = false;

/** step() results, mirrored in host/abi.ts. */
export const STEP_DONE = 0;
export const STEP_BUDGET = 1;
/** Nothing runnable and no host call pending: a deadlock. */
export const STEP_BLOCKED = 2;
/** Nothing runnable, but tasklets wait on host calls. */
export const STEP_WAITING = 3;

/** Starts a tasklet running `task`. It runs when the scheduler reaches it. */
export function spawn(task: Task): Tasklet {
  const t = new Tasklet(nextId++, task);
  const head = liveHead;
  t.nextLive = head;
  if (head) head.prevLive = t;
  liveHead = t;
  liveCount++;
  runQueue.push(t);
  return t;
}

export function spawnMain(task: Task): void {
  if (mainTasklet) throw new Error("stasis internal: main already started");
  mainTasklet = spawn(task);
}

/** The running tasklet. Only tasklets run user code, so outside one this is a bug. */
export function current(): Tasklet {
  const t = runningTasklet();
  if (!t) throw new Error("current(): no tasklet is running (called from outside the scheduler)");
  return t;
}

export function makeRunnable(t: Tasklet): void {
  t.status = TaskletStatus.Suspended;
  t.waitingFor = WaitReason.None;
  runQueue.push(t);
}

export function liveTasklets(): Tasklet | null {
  return liveHead;
}

export function liveTaskletCount(): i32 {
  return liveCount;
}

// @ts-ignore: decorator
@inline export function mainFinished(): bool {
  const main = mainTasklet;
  return main !== null && main.status == TaskletStatus.Dead;
}

/** Runs up to `budget` tasklet resumptions. Returns STEP_DONE, STEP_BUDGET or STEP_BLOCKED. */
export function step(budget: i32): i32 {
  if (!mainTasklet) throw new Error("step(): the program was not started");
  if (inStep) throw new Error("step(): already stepping (re-entered from a host callback)");
  inStep = true;
  let result = STEP_BUDGET;
  // Raw addresses (see TaskletQueue.shiftAddress): no shadow-stack traffic per switch.
  const main = changetype<usize>(mainTasklet);
  const queue = changetype<usize>(runQueue);
  while (true) {
    if (load<i32>(main + offsetof<Tasklet>("status")) == TaskletStatus.Dead) { result = STEP_DONE; break; }
    if (budget <= 0) break;
    const t = TaskletQueue.shiftAddress(queue);
    if (!t) { result = pendingCallCount() > 0 ? STEP_WAITING : STEP_BLOCKED; break; }
    budget--;
    store<i32>(t + offsetof<Tasklet>("status"), TaskletStatus.Running);
    store<i32>(t + offsetof<Tasklet>("waitingFor"), WaitReason.None);
    if (!resume(t)) finish(changetype<Tasklet>(t));
    else if (load<i32>(t + offsetof<Tasklet>("status")) == TaskletStatus.Running) suspendedWithoutWaiting(t);
  }
  inStep = false;
  return result;
}

/** Out of line, so the step loop carries no string building. */
function suspendedWithoutWaiting(t: usize): void {
  throw new Error("stasis internal: tasklet " + changetype<Tasklet>(t).id.toString() + " suspended without waiting for anything");
}

/** Marks `t` dead, wakes its joiners (and the tasklet parked switching to it) and drops it from the registry. */
export function finish(t: Tasklet): void {
  t.status = TaskletStatus.Dead;
  t.waitingFor = WaitReason.None;
  const saved = t.saved;
  if (saved) {
    saved.release();
    t.saved = null;
  }
  const q = queueOf(t);
  if (q) q.remove(t);
  const from = t.switchedFrom;
  t.switchedFrom = null;
  if (from && from.status == TaskletStatus.Normal && from.waitingFor == WaitReason.Switch) makeRunnable(from);
  const joiners = t.joiners;
  if (joiners) {
    while (true) {
      const j = joiners.shift();
      if (!j) break;
      makeRunnable(j);
    }
  }
  const prev = t.prevLive;
  const next = t.nextLive;
  if (prev) prev.nextLive = next;
  else liveHead = next;
  if (next) next.prevLive = prev;
  t.prevLive = null;
  t.nextLive = null;
  liveCount--;
}

/** Finishes a tasklet that failed (`why`) and keeps it in the failed list. */
export function retire(t: Tasklet, why: string): void {
  t.failed = true;
  t.error = why;
  t.xferRef = null;
  finish(t);
  t.nextLive = failedHead;
  failedHead = t;
  failedCount++;
}

export function failedTasklets(): Tasklet | null {
  return failedHead;
}

export function failedTaskletCount(): i32 {
  return failedCount;
}

/** True for the tasklet running main (its failure ends the program). */
export function isMain(t: Tasklet): bool {
  return t === mainTasklet;
}

/** Clears the in-step flag after the host caught a trap that unwound step(). */
export function resetAfterTrap(): void {
  inStep = false;
}
