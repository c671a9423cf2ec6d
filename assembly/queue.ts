// TaskletQueue: an intrusive, doubly linked FIFO of tasklets.
//
// Every wait in Stasis (the run queue, a channel's senders or receivers, the joiners
// of a tasklet) is one of these queues. A tasklet is in at most one queue at a time, so
// the links live in the tasklet itself (prev/next/queue addresses): pushing, shifting
// and removing are O(1) and never allocate, which keeps a switch allocation-free.
//
//   head ──► [t1] ⇄ [t2] ⇄ [t3] ◄── tail        t.queueAddress = this, for each
//
// The links are raw addresses, not GC references: every tasklet in a queue is alive,
// and every live tasklet is reachable from the scheduler's registry, so the collector
// needs no edge through a queue. Raw links also skip the write barrier, on the hot path
// of every switch.
//
// Contracts: push() requires that the tasklet is in no queue; remove() requires that it
// is in this queue. Both are checked, because a tasklet in two queues would be resumed
// twice and corrupt its stack.
import { Tasklet } from "./tasklet";

// @ts-ignore: decorator
@inline function ref(address: usize): Tasklet | null {
  return changetype<Tasklet | null>(address);
}

/** The contract violations, out of line so the queue operations stay small enough to inline. */
function misuse(t: Tasklet, what: string): void {
  throw new Error("stasis internal: tasklet " + t.id.toString() + what);
}

/** misuse() for callers that hold the tasklet as a raw address (see pushAddress). */
function misuseAt(t: usize, what: string): void {
  misuse(changetype<Tasklet>(t), what);
}

export class TaskletQueue {
  private head: usize = 0;
  private tail: usize = 0;

  push(t: Tasklet): void {
    if (t.queueAddress != 0) misuse(t, " is already queued");
    const self = changetype<usize>(this);
    const address = changetype<usize>(t);
    t.queueAddress = self;
    t.nextAddress = 0;
    const tail = this.tail;
    t.prevAddress = tail;
    if (tail) ref(tail)!.nextAddress = address;
    else this.head = address;
    this.tail = address;
  }

  /**
   * push() on raw addresses and raw loads and stores, for schedule(): a managed local
   * or argument would give it a shadow-stack frame, pushed, zeroed and popped at every
   * switch.
   */
  // @ts-ignore: decorator
  @inline static pushAddress(queue: usize, t: usize): void {
    if (load<usize>(t + offsetof<Tasklet>("queueAddress"))) misuseAt(t, " is already queued");
    store<usize>(t + offsetof<Tasklet>("queueAddress"), queue);
    store<usize>(t + offsetof<Tasklet>("nextAddress"), 0);
    const tail = load<usize>(queue + offsetof<TaskletQueue>("tail"));
    store<usize>(t + offsetof<Tasklet>("prevAddress"), tail);
    if (tail) store<usize>(tail + offsetof<Tasklet>("nextAddress"), t);
    else store<usize>(queue + offsetof<TaskletQueue>("head"), t);
    store<usize>(queue + offsetof<TaskletQueue>("tail"), t);
  }

  /**
   * shift() on raw addresses (0 when empty), for the scheduler's step loop, which
   * would otherwise spill every managed temporary to the shadow stack at each switch.
   */
  // @ts-ignore: decorator
  @inline static shiftAddress(queue: usize): usize {
    const t = load<usize>(queue + offsetof<TaskletQueue>("head"));
    if (!t) return 0;
    if (load<usize>(t + offsetof<Tasklet>("queueAddress")) != queue) misuseAt(t, " is not in this queue");
    const next = load<usize>(t + offsetof<Tasklet>("nextAddress"));
    store<usize>(queue + offsetof<TaskletQueue>("head"), next);
    if (next) store<usize>(next + offsetof<Tasklet>("prevAddress"), 0);
    else store<usize>(queue + offsetof<TaskletQueue>("tail"), 0);
    store<usize>(t + offsetof<Tasklet>("nextAddress"), 0);
    store<usize>(t + offsetof<Tasklet>("queueAddress"), 0);
    return t;
  }

  /** Puts `t` first, so it is the next one shift() returns. */
  unshift(t: Tasklet): void {
    if (t.queueAddress != 0) misuse(t, " is already queued");
    const address = changetype<usize>(t);
    t.queueAddress = changetype<usize>(this);
    t.prevAddress = 0;
    const head = this.head;
    t.nextAddress = head;
    if (head) ref(head)!.prevAddress = address;
    else this.tail = address;
    this.head = address;
  }

  shift(): Tasklet | null {
    return this.shiftInline();
  }

  /**
   * shift(), inlined: for the scheduler's step loop, which never suspends. Code that can
   * suspend must call shift(): inlined code adds locals to the caller's Asyncify frame,
   * and so bytes to every tasklet suspended there (inlining shift() into the channels
   * made a parked tasklet 48 bytes bigger).
   */
  // @ts-ignore: decorator
  @inline shiftInline(): Tasklet | null {
    const t = ref(this.head);
    if (t) this.unlink(t);
    return t;
  }

  remove(t: Tasklet): void {
    this.unlink(t);
  }

  // @ts-ignore: decorator
  @inline private unlink(t: Tasklet): void {
    if (t.queueAddress != changetype<usize>(this)) misuse(t, " is not in this queue");
    const prev = t.prevAddress;
    const next = t.nextAddress;
    if (prev) ref(prev)!.nextAddress = next;
    else this.head = next;
    if (next) ref(next)!.prevAddress = prev;
    else this.tail = prev;
    t.prevAddress = 0;
    t.nextAddress = 0;
    t.queueAddress = 0;
  }
}

/** The runnable tasklets, in the order the scheduler resumes them (scheduler.ts). */
export const runQueue = new TaskletQueue();

/** The queue a tasklet waits in, or null. */
export function queueOf(t: Tasklet): TaskletQueue | null {
  return changetype<TaskletQueue | null>(t.queueAddress);
}
