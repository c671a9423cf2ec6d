// The switch: how a tasklet's stack leaves the wasm call stack and comes back.
//
// Mechanism. Binaryen's Asyncify pass instruments every function that can reach
// `suspend()`. Calling `suspend()` starts an *unwind*: each instrumented frame stores its
// locals and a resume index into the Asyncify buffer and returns, until control is back
// in `resume()` (the scheduler side), which copies the buffer into the tasklet's
// SavedStack. Resuming starts a *rewind* from the SavedStack: the frames are re-entered,
// reload their locals and jump back to the call they were in, down to `suspend()`,
// which stops the rewind and returns normally. All of this runs inside wasm; the host
// is never on the path of a switch.
//
//   host ─► step() ─► resume(t) ─► enter(t) ─► Task#run ─► … ─► schedule() or suspend()
//           not instrumented      ╰── instrumented by Asyncify ──╯  (top-most)
//
// Roles Asyncify infers from the imports each function calls: `resume` calls
// start_rewind/stop_unwind, so it is "bottom-most" (never instrumented, the unwind ends
// there); `suspend` and `schedule` call start_unwind/stop_rewind, so they are
// "top-most" (not instrumented, their callers are). schedule() is its own top-most
// function rather than a caller of suspend() so that yielding adds no instrumented
// frame (unwound and rewound at every switch) to the tasklet's stack. The build marks
// `enter`, `suspend` and `schedule` as never-inlined: inlining a top-most function
// into a caller would make that caller top-most and re-run its body on rewind;
// inlining tasklet code into `resume` would leave it uninstrumented.
//
// State machine (flags are ours: Asyncify's own state cannot be imported):
//
//   normal ──suspend()/schedule()──► unwinding ──resume() sees it──► normal (stack saved)
//   normal ──resume(t) with saved stack──► rewinding ──the same one re-entered──► normal
//
// Memory layout.
//   [static data][shadow stack ↓ … __heap_base][heap …][scratch: stackLimit bytes]| end
// The scratch buffer Asyncify unwinds into sits at the very end of linear memory.
// Asyncify checks its buffer bound only after an unwind has finished, so an overflowing
// unwind would silently overwrite whatever followed the buffer; here nothing follows,
// and the first write past the limit traps instead. The host recognises that trap
// (`unwinding` is set) and reports STACK_LIMIT. When the allocator grows memory the
// scratch is no longer last; the next suspend then reserves a fresh region at the new
// end (the old one is abandoned, zeroed: at most one region per heap doubling).
//
// The scratch is dead between steps: every unwind writes it from its start before
// saveRunning() reads what was written, rewinds read the SavedStack, and nothing else
// reads it (a trap mid-unwind only resets ASYNC_DATA). host.ts exports its range
// (__stasis_scratch_start/end) and images leave it out (host/scratch.ts).
//
// The shadow stack. AssemblyScript keeps every managed reference held in a local in a
// frame of the shadow stack (`__stack_pointer` grows down towards `__data_end`); the GC
// scans [__stack_pointer, __heap_base) as roots. An unwind skips the frames' epilogues,
// so after it the tasklet's frames still occupy [__stack_pointer, base). They are
// copied into the SavedStack next to the Asyncify frames, and copied back to the very
// same addresses before a rewind. A suspended tasklet's references are therefore GC
// roots through SavedStack#__visit, which this library class may define (the compiler
// honours custom visitors only in `~lib/` files, which is where `stasis/assembly`
// resolves to).
//
// No write barrier on the copy: every SavedStack is pinned (__pin) from allocation
// until it is replaced or its tasklet finishes. The incremental collector (itcms) visits
// the members of every pinned object as roots, both when a cycle starts and again
// each time its gray list runs empty, right before it can sweep (visitRoots); so slots
// copied in mid-cycle are found before anything is freed, without graying the block at
// every switch (which the barrier this replaced did, scanning the slots each time).
//
// SavedStack layout (one pinned managed object, right-sized; reused while the size fits):
//   [object header][asyncBytes u32][shadowBytes u32]
//   [Asyncify frames: asyncBytes][shadow-stack slots: shadowBytes][spare]
// Its capacity (frames + slots + spare) is the header's rtSize minus the two fields.
// The slots go back to [base − shadowBytes, base), base being __stack_pointer where
// resume() starts: the same for every resumption (the host calls step() with an empty
// shadow stack), so a block need not record where its slots came from.
import { OBJECT, TOTAL_OVERHEAD } from "rt/common";
import { Tasklet, TaskletStatus } from "./tasklet";
import { TaskletQueue, runQueue } from "./queue";
import { __stasis_host_frames } from "./host";
import { refuel } from "./preempt";

// @ts-ignore: decorator
@external("asyncify", "start_unwind")
declare function asyncify_start_unwind(data: usize): void;
// @ts-ignore: decorator
@external("asyncify", "stop_unwind")
declare function asyncify_stop_unwind(): void;
// @ts-ignore: decorator
@external("asyncify", "start_rewind")
declare function asyncify_start_rewind(data: usize): void;
// @ts-ignore: decorator
@external("asyncify", "stop_rewind")
declare function asyncify_stop_rewind(): void;

/** Asyncify's data structure: { current position, end } of the unwind buffer. */
const ASYNC_DATA: usize = memory.data(2 * sizeof<usize>());

let scratchStart: usize = 0;
let scratchEnd: usize = 0;
/** Largest Asyncify stack (bytes) one tasklet may suspend with. */
let stackLimit: usize = 0;
/** An unwind is in progress (set by suspend, cleared by resume). */
let unwinding = false;
/** A rewind is in progress (set by resume, cleared by suspend). */
let rewinding = false;
/** The tasklet resume() is running, or null when the scheduler runs. */
let running: Tasklet | null = null;

@final export class SavedStack {
  asyncBytes: u32 = 0;
  shadowBytes: u32 = 0;

  @inline get data(): usize {
    return changetype<usize>(this) + offsetof<SavedStack>();
  }

  @inline get bytes(): u32 {
    return this.asyncBytes + this.shadowBytes;
  }

  /** A new block, pinned (see "The shadow stack" above): release() it when dropping it. */
  static alloc(capacity: u32): SavedStack {
    return changetype<SavedStack>(__pin(__new(offsetof<SavedStack>() + capacity, idof<SavedStack>())));
  }

  /** Unpins the block, which the collector then frees once nothing refers to it. */
  release(): void {
    __unpin(changetype<usize>(this));
  }

  /** GC hook: the saved shadow-stack slots are references held by the suspended tasklet. */
  // @ts-ignore: decorator
  @unsafe __visit(cookie: u32): void {
    let slot = this.data + this.asyncBytes;
    const end = slot + this.shadowBytes;
    while (slot < end) {
      const ref = load<usize>(slot);
      if (ref) __visit(ref, cookie);
      slot += sizeof<usize>();
    }
  }
}

/**
 * memory.copy for the small, 4-byte-multiple blocks of a switch: engines implement
 * memory.copy as a call out of generated code, which costs more than a few words. The
 * 64-byte threshold was measured (callgrind, bench/programs/switch.ts): at depth 10 it
 * took 7% fewer instructions per switch than 256, and 32 or 64 made no difference at
 * depth 1.
 */
// @ts-ignore: decorator
@inline function copyStack(dst: usize, src: usize, bytes: usize): void {
  if (bytes > 64) {
    memory.copy(dst, src, bytes);
    return;
  }
  const end = src + bytes;
  while (src + 8 <= end) {
    store<u64>(dst, load<u64>(src));
    src += 8;
    dst += 8;
  }
  if (src < end) store<u32>(dst, load<u32>(src));
}

/** Sets the per-tasklet stack limit and reserves the scratch region. Once, at start-up. */
export function initSwitch(limitBytes: u32): void {
  // Let the allocator claim its initial memory before the scratch region is placed
  // behind it; otherwise it would take the region for heap.
  heap.free(heap.alloc(16));
  stackLimit = (<usize>limitBytes + 15) & ~15;
  if (!reserveScratch()) throw new Error("cannot reserve " + stackLimit.toString() + " bytes of tasklet stack buffer: memory cannot grow");
}

/** Where the scratch region lies now: [start, end). Dead between steps (see the header). */
export function scratchRange(end: bool): usize {
  return end ? scratchEnd : scratchStart;
}

export function stackLimitBytes(): usize {
  return stackLimit;
}

export function runningTasklet(): Tasklet | null {
  return running;
}

/** Keeps the scratch region at the very end of memory (see the layout above). */
function reserveScratch(): bool {
  const top = <usize>memory.size() << 16;
  if (scratchEnd == top) return true;
  const pages = <i32>((stackLimit + 0xffff) >>> 16);
  if (memory.grow(pages) < 0) return false;
  // The old region stays behind, unused: zeroed, so images need not carry it.
  if (scratchEnd) memory.fill(scratchStart, 0, stackLimit);
  scratchEnd = <usize>memory.size() << 16;
  scratchStart = scratchEnd - stackLimit;
  return true;
}

/**
 * Suspends the running tasklet. The caller has already recorded where the tasklet
 * waits (a queue and a status); the scheduler runs something else and, when the
 * tasklet is resumed, suspend() returns. Never inlined (see the header).
 */
export function suspend(): void {
  if (rewinding) {
    rewinding = false;
    asyncify_stop_rewind();
    return;
  }
  if (__stasis_host_frames > 0) inHostCallback();
  startUnwind();
}

/**
 * schedule(): gives the CPU to the next runnable tasklet; the running one goes to the
 * back of the run queue. Like suspend() it starts the unwind itself (top-most, never
 * inlined), so yielding adds no instrumented frame to the tasklet's stack. Works on
 * raw addresses only, so it has no shadow-stack frame either.
 */
export function schedule(): void {
  if (rewinding) {
    rewinding = false;
    asyncify_stop_rewind();
    return;
  }
  const t = changetype<usize>(running);
  if (!t) noTasklet();
  if (__stasis_host_frames > 0) inHostCallback();
  store<i32>(t + offsetof<Tasklet>("status"), TaskletStatus.Suspended);
  TaskletQueue.pushAddress(changetype<usize>(runQueue), t);
  startUnwind();
}

// @ts-ignore: decorator
@inline function startUnwind(): void {
  if (!reserveScratch()) noScratch();
  store<usize>(ASYNC_DATA, scratchStart);
  store<usize>(ASYNC_DATA, scratchEnd, sizeof<usize>());
  unwinding = true;
  asyncify_start_unwind(ASYNC_DATA);
}

// Out of line: string building would give the top-most functions a shadow-stack frame.
function inHostCallback(): void {
  throw new Error("cannot switch tasklets inside a host callback: a wasm → JavaScript → wasm stack cannot be suspended; switch after the callback returns");
}

function noScratch(): void {
  throw new Error("cannot suspend: no memory for the " + stackLimit.toString() + "-byte tasklet stack buffer");
}

function noTasklet(): void {
  throw new Error("current(): no tasklet is running (called from outside the scheduler)");
}

/** The bottom of every tasklet's stack. Never inlined (see the header). */
export function enter(): void {
  running!.task.run();
}

/** Stack pointer the tasklet runs at: its saved innermost frame, or the base. */
let enterSp: usize = 0;

/**
 * Runs tasklet `t` until it suspends (returns true, its stack saved) or its task
 * returns (returns false). Not instrumented: calls the Asyncify runtime directly.
 * Like the other functions of a switch it works on raw addresses: a managed local
 * would give it a shadow-stack frame, pushed, zeroed and popped at every switch.
 */
export function resume(t: usize): bool {
  const base = __stack_pointer;
  running = changetype<Tasklet>(t);
  enterSp = base;
  const saved = load<usize>(t + offsetof<Tasklet>("saved"));
  if (saved) {
    const asyncBytes = <usize>load<u32>(saved + offsetof<SavedStack>("asyncBytes"));
    const shadowBytes = <usize>load<u32>(saved + offsetof<SavedStack>("shadowBytes"));
    const data = saved + offsetof<SavedStack>();
    const sp = base - shadowBytes;
    copyStack(sp, data + asyncBytes, shadowBytes);
    // The live copy is back on the shadow stack; stale slots must not stay GC roots.
    store<u32>(saved + offsetof<SavedStack>("shadowBytes"), 0);
    // Rewind straight from the saved block: a rewind only reads the buffer (downwards
    // from `current`) and nothing allocates until it has finished.
    store<usize>(ASYNC_DATA, data + asyncBytes);
    store<usize>(ASYNC_DATA, data + asyncBytes, sizeof<usize>());
    enterSp = sp;
    rewinding = true;
  }
  refuel();
  const suspended = switchInto(base);
  running = null;
  return suspended;
}

/**
 * The part of resume() that moves __stack_pointer below `base`. It must hold no
 * managed references (AssemblyScript would spill them into the shadow stack at the
 * moved pointer, over the tasklet's frames): it works on globals and raw addresses.
 */
function switchInto(base: usize): bool {
  __stack_pointer = enterSp;
  if (rewinding) asyncify_start_rewind(ASYNC_DATA);
  enter();
  if (!unwinding) {
    __stack_pointer = base;
    return false;
  }
  unwinding = false;
  asyncify_stop_unwind();
  // Read before any callee pushes a frame: the tasklet's frames are [sp, base).
  // __stack_pointer stays below them, so they remain GC roots while saveRunning
  // allocates, and its own frame goes below them.
  saveRunning(__stack_pointer, base);
  __stack_pointer = base;
  return true;
}

function saveRunning(sp: usize, base: usize): void {
  const asyncBytes = <u32>(load<usize>(ASYNC_DATA) - scratchStart);
  const shadowBytes = <u32>(base - sp);
  const need = asyncBytes + shadowBytes;
  // Raw addresses, not managed locals (see resume). The block stays reachable through
  // running.saved.
  let saved = load<usize>(changetype<usize>(running) + offsetof<Tasklet>("saved"));
  // Reuse the block while it fits and wastes less than half; otherwise right-size it.
  if (!saved || savedCapacity(saved) < need || savedCapacity(saved) > need * 2 + 32) saved = replaceSaved(need);
  store<u32>(saved + offsetof<SavedStack>("asyncBytes"), asyncBytes);
  store<u32>(saved + offsetof<SavedStack>("shadowBytes"), shadowBytes);
  const data = saved + offsetof<SavedStack>();
  copyStack(data, scratchStart, asyncBytes);
  copyStack(data + asyncBytes, sp, shadowBytes);
}

// @ts-ignore: decorator
@inline function savedCapacity(saved: usize): u32 {
  return changetype<OBJECT>(saved - TOTAL_OVERHEAD).rtSize - <u32>offsetof<SavedStack>();
}

/** Gives the running tasklet a new, right-sized SavedStack; returns its address. Out of line (rare). */
function replaceSaved(need: u32): usize {
  const t = running!;
  const old = t.saved;
  if (old) old.release();
  const saved = SavedStack.alloc(need);
  t.saved = saved;
  return changetype<usize>(saved);
}

/**
 * After a trap unwound every wasm frame: empties the shadow stack and, if the trap hit
 * an unwind (the Asyncify buffer ran past the end of memory), puts Asyncify back in
 * its normal state and returns true. Like switchInto, it must hold no managed
 * references: it moves __stack_pointer, so the host calls it directly.
 */
export function resetStacks(): bool {
  __stack_pointer = __heap_base;
  trapInRewind = rewinding;
  rewinding = false;
  if (!unwinding) return false;
  unwinding = false;
  store<usize>(ASYNC_DATA, scratchStart);
  asyncify_stop_unwind();
  return true;
}

/** The last trap hit a rewind (Asyncify is then not in its normal state: nothing may run). */
let trapInRewind = false;

export function trappedInRewind(): bool {
  return trapInRewind;
}

/** Forgets the running tasklet after a trap; returns it. */
export function takeRunning(): Tasklet | null {
  const t = running;
  running = null;
  return t;
}
