// Channel<T>: typed, blocking message passing between tasklets (Go semantics).
//
//   new Channel<T>(0)   unbuffered: send() blocks until a receiver takes the value
//                       (a rendezvous); receive() blocks until a sender offers one.
//   new Channel<T>(n)   buffered: send() blocks only while n values are queued;
//                       receive() blocks only while none are.
//   close()             no more sends. Receivers drain what is buffered; after that
//                       receive() returns T's zero value at once and sets `ok` to false.
//                       Blocked senders (and later sends) fail: sending on a closed
//                       channel is a program error, as in Go.
//
// State: `values` holds buffered values (at most `capacity`). `senders` holds tasklets
// blocked in send(), each carrying its value in Tasklet.putValue; `receivers` holds
// tasklets blocked in receive(). Invariant: receivers is empty unless values and senders
// are both empty, and senders is empty unless values is full. A blocked operation
// allocates nothing: the tasklet itself carries the value.
//
// `ok` is per receive: read it right after receive() returns (nothing can switch in
// between, so it belongs to the tasklet that just received).
import { WaitReason } from "./tasklet";
import { TaskletQueue } from "./queue";
import { current, makeRunnable } from "./scheduler";
import { suspend } from "./switch";

export class Channel<T> {
  private values: StaticArray<T>;
  private first: i32 = 0;
  private count: i32 = 0;
  private senders: TaskletQueue = new TaskletQueue();
  private receivers: TaskletQueue = new TaskletQueue();
  private isClosed: bool = false;
  /** False when the last receive() returned because the channel is closed and drained. */
  ok: bool = true;

  constructor(public readonly capacity: i32 = 0) {
    if (capacity < 0) throw new Error("Channel: capacity must be >= 0, got " + capacity.toString());
    this.values = new StaticArray<T>(capacity);
  }

  /** Values buffered now. */
  get length(): i32 {
    return this.count;
  }

  get closed(): bool {
    return this.isClosed;
  }

  send(value: T): void {
    if (this.isClosed) throw new Error("Channel.send: the channel is closed");
    const receiver = this.receivers.shift();
    if (receiver) {
      receiver.putValue<T>(value, true);
      makeRunnable(receiver);
      return;
    }
    if (this.count < this.capacity) {
      this.pushValue(value);
      return;
    }
    const me = current();
    me.putValue<T>(value, true);
    me.block(WaitReason.Send, this.senders);
    suspend();
    if (!me.xferOk) throw new Error("Channel.send: the channel was closed while tasklet " + me.id.toString() + " was sending");
  }

  receive(): T {
    if (this.count > 0) {
      const value = this.shiftValue();
      // A slot is free: the longest-waiting sender's value moves into the buffer.
      const sender = this.senders.shift();
      if (sender) {
        this.pushValue(sender.takeValue<T>());
        makeRunnable(sender);
      }
      this.ok = true;
      return value;
    }
    const sender = this.senders.shift();
    if (sender) {
      const value = sender.takeValue<T>();
      makeRunnable(sender);
      this.ok = true;
      return value;
    }
    if (this.isClosed) {
      this.ok = false;
      return zero<T>();
    }
    const me = current();
    me.block(WaitReason.Receive, this.receivers);
    suspend();
    const ok = me.xferOk;
    const value = me.takeValue<T>();
    this.ok = ok;
    return value;
  }

  close(): void {
    if (this.isClosed) throw new Error("Channel.close: the channel is already closed");
    this.isClosed = true;
    while (true) {
      const r = this.receivers.shift();
      if (!r) break;
      r.putValue<T>(zero<T>(), false);
      makeRunnable(r);
    }
    while (true) {
      const s = this.senders.shift();
      if (!s) break;
      s.takeValue<T>();
      s.xferOk = false;
      makeRunnable(s);
    }
  }

  private pushValue(value: T): void {
    let index = this.first + this.count;
    if (index >= this.capacity) index -= this.capacity;
    unchecked(this.values[index] = value);
    this.count++;
  }

  private shiftValue(): T {
    const value = unchecked(this.values[this.first]);
    unchecked(this.values[this.first] = zero<T>());
    this.first++;
    if (this.first == this.capacity) this.first = 0;
    this.count--;
    return value;
  }
}

// @ts-ignore: decorator
@inline function zero<T>(): T {
  if (isReference<T>()) return changetype<T>(0);
  return <T>0;
}

