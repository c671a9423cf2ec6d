// Timing helpers shared by the benchmark scripts.
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
/** A full garbage collection of the JS heap (and of dead wasm instances and memories). */
export const gc = runInNewContext("gc") as () => void;

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
 * Operations per call of `work(n)` (which performs n operations) so that one call takes
 * about `targetMs`: n is doubled until a call takes 20 ms (also the warm-up), then scaled.
 */
export async function calibrate(work: (n: number) => unknown, targetMs: number): Promise<number> {
  for (let n = 1000; ; n *= 2) {
    const ms = await timeMsAsync(async () => work(n));
    if (ms >= 20) return Math.max(1, Math.round((n * targetMs) / ms));
  }
}

/**
 * Nanoseconds per operation of each of `works`, median, min and max of `reps` calls
 * each. The works take turns, one call each per round, so the machine's noise falls on
 * all of them alike and their ratios stay meaningful.
 */
export async function nsPerOpInterleaved(works: ((n: number) => unknown)[], reps: number, targetMs: number): Promise<Timing[]> {
  const counts: number[] = [];
  for (const work of works) counts.push(await calibrate(work, targetMs));
  const samples = works.map(() => [] as number[]);
  for (let rep = 0; rep < reps; rep++) {
    for (let i = 0; i < works.length; i++) samples[i].push(((await timeMsAsync(async () => works[i](counts[i]))) * 1e6) / counts[i]);
  }
  return samples.map((list) => ({ median: median(list), min: Math.min(...list), max: Math.max(...list) }));
}
