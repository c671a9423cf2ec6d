// Host calls: a tasklet asks the host (JavaScript) for something asynchronous — an HTTP
// request, a timer, a human approval — and blocks until the answer arrives, while the
// other tasklets run on.
//
// A call is a PendingCall object in the wasm heap: id, name, payload, the waiting
// tasklet, and (once answered) the result. Because it lives in linear memory, a freeze
// captures every pending call with its original id; the host re-dispatches them after a
// thaw. State of a call:
//
//   hostCall() ─► new (in `unannounced`) ─__stasis_take_calls─► announced ─complete─► done
//                       ▲                                                     (tasklet woken,
//                       └──── __stasis_reannounce_calls (after a thaw) ────┘   call forgotten)
//
// The host learns of new calls after each step (records written by takeCalls), answers
// them with completeCall, which stores a HostResult and wakes the tasklet.
import { Tasklet, TaskletStatus, WaitReason } from "./tasklet";
import { current, makeRunnable } from "./scheduler";
import { suspend } from "./switch";

/** The answer to a host call: ok with bytes, or an error whose message is in bytes. */
export class HostResult {
  constructor(public readonly ok: bool, public readonly bytes: ArrayBuffer) {}

  /** The bytes as UTF-8 text. */
  text(): string {
    return String.UTF8.decode(this.bytes);
  }

  /** The error message when !ok, else "". */
  get error(): string {
    return this.ok ? "" : this.text();
  }
}

export class PendingCall {
  result: HostResult | null = null;
  announced: bool = false;
  constructor(public readonly id: u32, public readonly name: string, public readonly payload: ArrayBuffer, public readonly tasklet: Tasklet) {}
}

let nextCallId: u32 = 1;
const pending = new Map<u32, PendingCall>();

/**
 * Calls the host function registered as `name` with `payload` (a string, sent as
 * UTF-8, or an ArrayBuffer) and blocks the calling tasklet until it answers.
 */
export function hostCall<T>(name: string, payload: T): HostResult {
  let bytes: ArrayBuffer;
  if (isString<T>()) {
    bytes = String.UTF8.encode(changetype<string>(payload));
  } else if (idof<T>() == idof<ArrayBuffer>()) {
    bytes = changetype<ArrayBuffer>(payload);
  } else {
    ERROR("hostCall: the payload must be a string or an ArrayBuffer");
    bytes = new ArrayBuffer(0);
  }
  const me = current();
  const call = new PendingCall(nextCallId++, name, bytes, me);
  pending.set(call.id, call);
  me.hostCallAddress = changetype<usize>(call);
  me.block(WaitReason.Host, null);
  suspend();
  return call.result!;
}

/** Blocks the calling tasklet for `ms` milliseconds. The deadline is absolute, so after a thaw only the time left is waited. */
export function sleep(ms: i64): void {
  hostCall("stasis.sleep", (Date.now() + ms).toString());
}

export function pendingCallCount(): i32 {
  return pending.size;
}

/** Bytes per record of takeCalls: id u32, tasklet id i32, name ptr, payload ptr. */
const CALL_RECORD_BYTES: usize = 16;

/**
 * Writes a record for every call the host has not been told about, marking them
 * announced (or for every pending call, marking nothing, when `all`), and returns a
 * block the host frees: [count u32][records], or 0 when no call is pending.
 * The pointers stay valid until the call completes (the call object holds them).
 */
export function takeCalls(all: bool): usize {
  // Nothing pending: allocate nothing, so a program that makes no host calls runs the
  // same whether or not the host looks (freeze → thaw stays byte-identical).
  if (pending.size == 0) return 0;
  const calls = pending.values();
  let count: usize = 0;
  for (let i = 0; i < calls.length; i++) if (all || !unchecked(calls[i]).announced) count++;
  const block = heap.alloc(4 + count * CALL_RECORD_BYTES);
  store<u32>(block, <u32>count);
  let out = block + 4;
  for (let i = 0; i < calls.length; i++) {
    const call = unchecked(calls[i]);
    if (!all) {
      if (call.announced) continue;
      call.announced = true;
    }
    store<u32>(out, call.id);
    store<i32>(out, call.tasklet.id, 4);
    store<usize>(out, changetype<usize>(call.name), 8);
    store<usize>(out, changetype<usize>(call.payload), 12);
    out += CALL_RECORD_BYTES;
  }
  return block;
}

/** Marks every pending call as not yet told to the host (after a thaw, to dispatch them again). */
export function reannounceCalls(): void {
  if (pending.size == 0) return;
  const calls = pending.values();
  for (let i = 0; i < calls.length; i++) unchecked(calls[i]).announced = false;
}

/** Answers call `id`; returns false if no such call is pending. */
export function completeCall(id: u32, ok: bool, bytes: ArrayBuffer): bool {
  if (!pending.has(id)) return false;
  const call = pending.get(id);
  pending.delete(id);
  call.result = new HostResult(ok, bytes);
  // A tasklet that failed while its call was being made is gone: the answer is dropped.
  if (call.tasklet.status != TaskletStatus.Dead) makeRunnable(call.tasklet);
  return true;
}
