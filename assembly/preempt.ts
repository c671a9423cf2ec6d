// Preemption: taking the CPU back from code that never calls schedule().
//
// `stasis build --preempt` (build/preempt.ts) makes the program's own functions (not
// the runtime library) burn one unit of `fuel` at every loop header and at the entry of
// every function that makes calls: `fuel -= 1; if (fuel < 0) preempt()`, the call of a
// loop header's check being kept outside the loop. preempt() yields the running
// tasklet, exactly as schedule() would, so a tight loop can be time-sliced and frozen
// mid-loop. The scheduler refuels at every resumption; the host sets the slice
// (rt.step({ fuel })). Without --preempt nothing calls preempt() and fuel is unused.
import { schedule } from "./scheduler";
import { runningTasklet } from "./switch";
import { __stasis_host_frames } from "./host";

/** Units of fuel a tasklet gets per resumption (the slice). */
let slice: i32 = i32.MAX_VALUE;
/** Units left in the current slice; instrumented code decrements it. */
export let fuel: i32 = i32.MAX_VALUE;

export function setFuelSlice(units: i32): void {
  slice = units;
  fuel = units;
}

/** Gives the resumed tasklet a full slice. */
// @ts-ignore: decorator
@inline export function refuel(): void {
  fuel = slice;
}

/** Called by instrumented code when the fuel runs out. */
export function preempt(): void {
  fuel = slice;
  // Outside a tasklet (start-up code) or inside a host callback nothing can switch.
  if (runningTasklet() === null || __stasis_host_frames > 0) return;
  schedule();
}
