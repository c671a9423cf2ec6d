// How the command line steps a program so that checkpoints come on time.
//
// A step runs `budget` tasklet resumptions; how long that takes depends on the program,
// so the budget is adapted after every step to keep a step near `target` ms (10 ms, or
// half of --every when that is shorter), never above --budget (default 10,000). So
// --every is honoured whatever --budget and --fuel are, as long as one resumption is
// shorter than it: a resumption that never yields cannot be cut short unless the
// program was built with --preempt.
//
// Programs built with --preempt are time-sliced by default: each resumption gets fuel
// adapted to last about --slice ms (default 10 ms), one resumption per step. With
// --fuel N the fuel is fixed and the budget adapts as above.
import { StasisError, type Runtime } from "../host/index.ts";

export interface SliceOptions {
  every: number;
  budget?: number;
  fuel?: number;
  slice?: number;
}

export const DEFAULT_SLICE_MS = 10;
const MAX_BUDGET = 10_000;

/** Scales `value` by target/took (at most ×2 or ×½ per step), within [min, max]. */
function adapt(value: number, target: number, took: number, min: number, max: number): number {
  if (took <= 0) return Math.min(max, value * 2);
  return Math.round(Math.min(Math.max(value * Math.min(Math.max(target / took, 0.5), 2), min), max));
}

/** Returns the options for the next step; call it once per step. */
export function slicer(rt: Runtime, options: SliceOptions): () => { budget: number; fuel?: number } {
  const preempt = rt.program.metadata.preempt === true;
  if (!preempt && (options.fuel !== undefined || options.slice !== undefined)) {
    throw new StasisError("BAD_OPTION", "--fuel and --slice need a program built with --preempt");
  }
  if (options.fuel !== undefined && options.slice !== undefined) throw new StasisError("BAD_OPTION", "pass --fuel or --slice, not both");
  const target = Math.max(1, Math.min(DEFAULT_SLICE_MS, options.every / 2));
  let last = performance.now();
  const took = () => {
    const now = performance.now();
    const ms = now - last;
    last = now;
    return ms;
  };
  if (preempt && options.fuel === undefined) {
    const slice = Math.min(options.slice ?? DEFAULT_SLICE_MS, target * 2);
    let fuel = 100_000;
    let first = true;
    return () => {
      const ms = took();
      if (!first) fuel = adapt(fuel, slice, ms, 1000, 0x7fffffff);
      first = false;
      return { budget: 1, fuel };
    };
  }
  const cap = options.budget ?? MAX_BUDGET;
  let budget = Math.min(cap, 100);
  let first = true;
  return () => {
    const ms = took();
    if (!first) budget = adapt(budget, target, ms, 1, cap);
    first = false;
    return options.fuel === undefined ? { budget } : { budget, fuel: options.fuel };
  };
}
