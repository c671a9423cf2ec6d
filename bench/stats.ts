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

export interface Timing {
  median: number;
  min: number;
  max: number;
}

/**
 * Nanoseconds per operation of `work(n)`, which performs n operations: n is doubled
 * until one call takes 20 ms (warm-up and calibration), then scaled so a call takes
 * about `targetMs`; median, min and max of `reps` calls.
 */
export async function nsPerOp(work: (n: number) => unknown, reps: number, targetMs: number): Promise<Timing> {
  let n = 1000;
  let ms = 0;
  for (; ; n *= 2) {
    ms = await timeMsAsync(async () => work(n));
    if (ms >= 20) break;
  }
  n = Math.max(1, Math.round((n * targetMs) / ms));
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) samples.push(((await timeMsAsync(async () => work(n))) * 1e6) / n);
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
}
