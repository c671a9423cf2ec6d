// TaskletQueue: an intrusive, doubly linked FIFO of tasklets.
//
// Every wait in Stasis (the run queue, a channel's senders or receivers, the joiners
// of a tasklet) is one of these queues. A tasklet is in at most one queue at a time, so
// the links live in the tasklet itself (`qprev`, `qnext`, `queue`): pushing, shifting
// and removing are O(1) and never allocate, which keeps a switch allocation-free.
//
//   head ──► [t1] ⇄ [t2] ⇄ [t3] ◄── tail        t.queue === this for each member
//
// Contracts: push() requires that the tasklet is in no queue; remove() requires that it
// is in this queue. Both are checked, because a tasklet in two queues would be resumed
// twice and corrupt its stack.
import { Tasklet } from "./tasklet";

export class TaskletQueue {
  head: Tasklet | null = null;
  tail: Tasklet | null = null;
  length: i32 = 0;

  get isEmpty(): bool {
    return this.head === null;
  }

  push(t: Tasklet): void {
    if (t.queue !== null) throw new Error("stasis internal: tasklet " + t.id.toString() + " is already queued");
    t.queue = this;
    t.qnext = null;
    const tail = this.tail;
    t.qprev = tail;
    if (tail) tail.qnext = t;
    else this.head = t;
    this.tail = t;
    this.length++;
  }

  /** Puts `t` first, so it is the next one shift() returns. */
  unshift(t: Tasklet): void {
    if (t.queue !== null) throw new Error("stasis internal: tasklet " + t.id.toString() + " is already queued");
    t.queue = this;
    t.qprev = null;
    const head = this.head;
    t.qnext = head;
    if (head) head.qprev = t;
    else this.tail = t;
    this.head = t;
    this.length++;
  }

  shift(): Tasklet | null {
    const t = this.head;
    if (t) this.remove(t);
    return t;
  }

  remove(t: Tasklet): void {
    if (t.queue !== this) throw new Error("stasis internal: tasklet " + t.id.toString() + " is not in this queue");
    const prev = t.qprev;
    const next = t.qnext;
    if (prev) prev.qnext = next;
    else this.head = next;
    if (next) next.qprev = prev;
    else this.tail = prev;
    t.qprev = null;
    t.qnext = null;
    t.queue = null;
    this.length--;
  }
}
