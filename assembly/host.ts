// The host ABI: the functions the TypeScript host calls. `stasis build` re-exports them
// from the program's entry; their meaning is mirrored in host/abi.ts (keep in step).
//
// All of them are called only while no tasklet runs (between step() calls), except
// __stasis_current, which the host also calls after a trap to name the tasklet.
import { failedTaskletCount, failedTasklets, isMain, liveTaskletCount, liveTasklets, mainFinished, resetAfterTrap, retire, step } from "./scheduler";
import { initSwitch, resetStacks, runningTasklet, scratchRange, stackLimitBytes, takeRunning, trappedInRewind } from "./switch";
import { Tasklet } from "./tasklet";
import { completeCall, pendingCallCount, reannounceCalls, takeCalls } from "./hostcall";
import { leaveRuntimeAfterTrap, preempt, setFuelSlice } from "./preempt";
export * from "./layout";

/** ABI version: bump when any function here or a record layout changes meaning. */
export const STASIS_ABI: i32 = 1;

/** Bytes per record written by __stasis_tasklets: id i32, status u8, waitingFor u8, failed u8, pad u8, stackBytes u32. */
const RECORD_BYTES: usize = 12;

/**
 * How many host callbacks (JavaScript called from wasm, like console.log's printer) are
 * on the stack now. The host raises it around every callback that could call back into
 * the program; suspend() refuses to switch while it is non-zero, because a wasm → JS →
 * wasm stack cannot be unwound.
 */
export let __stasis_host_frames: i32 = 0;

export function __stasis_abi(): i32 {
  return STASIS_ABI;
}

export function __stasis_init(stackLimit: u32): void {
  initSwitch(stackLimit);
}

export function __stasis_step(budget: i32): i32 {
  return step(budget);
}

export function __stasis_done(): bool {
  return mainFinished();
}

/**
 * Freezing helper: the index of the first chunk at or after `from` (chunks of
 * 1 << chunkLog2 bytes, which must be a multiple of 8) holding a non-zero byte, or
 * `end`. Runs here, over the program's own memory, because a scan in JavaScript is
 * several times slower.
 */
export function __stasis_next_nonzero(from: u32, end: u32, chunkLog2: u32): u32 {
  for (let chunk = from; chunk < end; chunk++) {
    let at = <usize>chunk << chunkLog2;
    const stop = at + (<usize>1 << chunkLog2);
    while (at < stop) {
      if (load<u64>(at) | load<u64>(at, 8) | load<u64>(at, 16) | load<u64>(at, 24)) return chunk;
      at += 32;
    }
  }
  return end;
}

/** Freezing helper: the first all-zero chunk at or after `from`, or `end` (see above). */
export function __stasis_next_zero(from: u32, end: u32, chunkLog2: u32): u32 {
  for (let chunk = from; chunk < end; chunk++) {
    let at = <usize>chunk << chunkLog2;
    const stop = at + (<usize>1 << chunkLog2);
    let bits: u64 = 0;
    while (at < stop) {
      bits |= load<u64>(at) | load<u64>(at, 8) | load<u64>(at, 16) | load<u64>(at, 24);
      at += 32;
    }
    if (!bits) return chunk;
  }
  return end;
}

export function __stasis_current(): i32 {
  const t = runningTasklet();
  return t ? t.id : 0;
}

export function __stasis_stack_limit(): u32 {
  return <u32>stackLimitBytes();
}

export function __stasis_heap_base(): usize {
  return __heap_base;
}

/**
 * The Asyncify scratch region, [start, end): dead between steps (every unwind writes
 * before it reads, and nothing else reads it), so images may leave it out and a thaw
 * may zero it (assembly/switch.ts).
 */
export function __stasis_scratch_start(): usize {
  return scratchRange(false);
}

export function __stasis_scratch_end(): usize {
  return scratchRange(true);
}

/**
 * After the host caught a trap out of __stasis_step, first call: resets the stacks and
 * returns whether the trap hit an unwind (the tasklet's stack outgrew the limit). Must
 * be called directly by the host (see resetStacks).
 */
export function __stasis_reset(): bool {
  resetAfterTrap();
  leaveRuntimeAfterTrap();
  return resetStacks();
}

/**
 * Second call, only when __stasis_reset returned true: stops the tasklet that was
 * suspending (its joiners are woken) and returns its id. The runtime can go on.
 */
export function __stasis_recover(): i32 {
  const t = takeRunning();
  if (!t) return 0;
  retire(t, "needed more than the stack limit of " + stackLimitBytes().toString() + " bytes to suspend");
  return t.id;
}

/**
 * Instead of __stasis_recover, after __stasis_reset returned false, when the host judged
 * the failure recoverable (host/isolate.ts): stops the running tasklet alone, recording
 * `error`; its joiners are woken and the runtime goes on. Refuses (returns 0, nothing
 * changed) when no tasklet was running, when it is main, or when the trap hit a rewind.
 */
export function __stasis_fail(error: string): i32 {
  const t = runningTasklet();
  if (!t || isMain(t) || trappedInRewind()) return 0;
  takeRunning();
  retire(t, error);
  return t.id;
}

export function __stasis_live_count(): i32 {
  return liveTaskletCount();
}

/**
 * Writes one record per live tasklet, then one per failed tasklet, into a fresh block;
 * the host frees it with __stasis_free.
 */
export function __stasis_tasklets(): usize {
  const count = <usize>(liveTaskletCount() + failedTaskletCount());
  const block = heap.alloc(4 + count * RECORD_BYTES);
  store<u32>(block, <u32>count);
  const out = writeRecords(liveTasklets(), block + 4);
  writeRecords(failedTasklets(), out);
  return block;
}

function writeRecords(first: Tasklet | null, out: usize): usize {
  let t = first;
  while (t) {
    store<i32>(out, t.id);
    store<u8>(out, <u8>t.status, 4);
    store<u8>(out, <u8>t.waitingFor, 5);
    store<u8>(out, t.failed ? 1 : 0, 6);
    store<u8>(out, 0, 7);
    store<u32>(out, t.stackBytes, 8);
    out += RECORD_BYTES;
    t = t.nextLive;
  }
  return out;
}

/** New host calls (all pending ones when `all`): a block of records for the host to free. */
export function __stasis_take_calls(all: bool): usize {
  return takeCalls(all);
}

export function __stasis_reannounce_calls(): void {
  reannounceCalls();
}

export function __stasis_pending_calls(): i32 {
  return pendingCallCount();
}

/** Answers host call `id` with `bytes` (the result, or an error message when !ok). */
export function __stasis_complete(id: u32, ok: bool, bytes: ArrayBuffer): bool {
  return completeCall(id, ok, bytes);
}

/** Units of fuel per resumption for programs built with --preempt (i32.MAX_VALUE: no slicing). */
export function __stasis_set_fuel(units: i32): void {
  setFuelSlice(units);
}

/** The target of the calls `--preempt` inserts (exported so the compiler keeps it). */
export function __stasis_preempt(): void {
  preempt();
}

export function __stasis_free(block: usize): void {
  heap.free(block);
}
