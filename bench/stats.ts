// Timing helpers shared by the benchmark scripts.
import { performance } from "node:perf_hooks";

export function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[values.length >> 1];
}

/** Milliseconds `work` takes, once. */
export function timeMs(work: () => unknown): number {
  const start = performance.now();
  work();
  return performance.now() - start;
}

export async function timeMsAsync(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/** Median over `reps` timings of `work`. */
export function medianMs(reps: number, work: () => unknown): number {
  return median(Array.from({ length: reps }, () => timeMs(work)));
}
