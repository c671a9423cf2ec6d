// Preemption: taking the CPU back from code that never calls schedule().
//
// `stasis build --preempt` (build/preempt.ts) makes the program's own functions and
// those of its library packages (not AssemblyScript's runtime and standard library, not
// Stasis itself, not anything the runtime calls back into) burn one unit of `fuel` at
// every loop header and at the entry of every function that makes calls:
// `fuel -= 1; if (fuel < 0) preempt()`, the call of a loop header's check being kept
// outside the loop. preempt() yields the running tasklet, exactly as schedule() would,
// so a tight loop can be time-sliced and frozen mid-loop. The scheduler refuels at every
// resumption; the host sets the slice (rt.step({ fuel })). Without --preempt nothing
// calls preempt() and fuel is unused.
//
// Contracts.
//  - Fuel is valid before any program code runs: both globals start at the largest
//    slice as constant initializers (so they hold it before the start function runs
//    the program's top-level code), and preempt() never leaves fuel below 1. A loop
//    check runs before the loop body, so fuel 0 after preempt() would re-enter the
//    check forever without running the body.
//  - preempt() switches only where a switch is safe. It refuses (and returns, with
//    fuel 1 so the next check passes and the one after asks again) when
//      * no tasklet runs (start-up code, exports the host calls between steps),
//      * a host callback is on the stack (wasm → JS → wasm cannot be unwound),
//      * the allocator or collector is on the stack (`runtimeDepth` > 0). The build
//        wraps every entry into AssemblyScript's runtime (~lib/rt) from which other
//        code is reachable — `__new` (whose collector step calls the GC visitors and
//        `__finalize`), `__collect`, `__renew`, … — in `runtimeDepth += 1 … -= 1`.
//        Switching there would suspend a collector step half done; the switch itself
//        allocates, so the collector would re-enter. The build already puts no checks
//        in code reachable from the runtime; this guard is the second line, kept
//        independent of how the compiler names that code.
import { schedule } from "./scheduler";
import { runningTasklet } from "./switch";
import { __stasis_host_frames } from "./host";

// A literal, not i32.MAX_VALUE: asc folds only literal initializers into the global's
// declaration; anything else is assigned by the start function, after the program's
// own top-level code (which may already burn fuel) has run.
/** Units of fuel a tasklet gets per resumption (the slice); always ≥ 1. */
let slice: i32 = 0x7fffffff;
/** Units left in the current slice; instrumented code decrements it. */
export let fuel: i32 = 0x7fffffff;
/**
 * How many runtime entries (allocator, collector) are on the stack. Maintained by the
 * code `--preempt` wraps around them (build/preempt.ts); 0 between steps.
 */
export let runtimeDepth: i32 = 0;

export function setFuelSlice(units: i32): void {
  slice = units > 0 ? units : 1;
  fuel = slice;
}

/** Gives the resumed tasklet a full slice. */
// @ts-ignore: decorator
@inline export function refuel(): void {
  fuel = slice;
}

/** After a trap the wasm stack is empty: no runtime entry can still be on it. */
export function leaveRuntimeAfterTrap(): void {
  runtimeDepth = 0;
}

/** Called by instrumented code when the fuel runs out. */
export function preempt(): void {
  if (runtimeDepth > 0 || __stasis_host_frames > 0 || runningTasklet() === null) {
    // Not here: let the code run on to the next check but one, and ask again there.
    fuel = 1;
    return;
  }
  fuel = slice;
  schedule();
}
