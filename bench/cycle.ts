// The fleet-style cycle (part of `npm run bench`): a computation thawed, answered, stepped
// and frozen once per event. bench/programs/cycle.ts is one tasklet waiting on a host
// call; every cycle thaws the same image (one call pending), answers the call with
// rt.complete, steps until the next call and freezes: `Runtime.restore` → `complete` →
// `step` → `snapshot`. Side by side, in the same run, CPU time per operation:
//   bare    `new WebAssembly.Instance(module, imports)` of the same module (the yardstick)
//   fresh   the cycle on a fresh instance (no pool: Program.load(…, { pool: 0 }))
//   warm    the cycle on a warm instance (rt.release() at the end hands it to the next)
//   resident  no thaw: one runtime stays in memory and answers, steps and freezes a full
//           image per event (the yardstick for the next row)
//   delta   the same resident runtime freezing a delta image per event
//           (rt.snapshot({ since: the previous image })), as a store of chains does
// Each sample runs a batch of operations and reads process.cpuUsage() (user + system,
// so collecting dead instances counts); the kinds take turns sample by sample, so the
// machine's noise falls on all alike. Medians of the samples; ratios against bare.
//
// Second part: thaw of a 64 MiB memory holding 1 MiB of data (bench/programs/heap.ts),
// fresh instance against warm instance, median wall time in ms. The warm instance was
// released right after a snapshot, as a fleet worker releases it.
import { performance } from "node:perf_hooks";
import { DEFER, Program, Runtime, type HostHandler } from "../host/index.ts";
import { envImports } from "../host/imports.ts";
import { exportsOf, loadProgram } from "./load.ts";
import { gc, median } from "./stats.ts";

export interface CycleResults {
  imageBytes: number;
  memoryBytes: number;
  /** CPU µs per operation (median of samples). */
  bareUs: number;
  freshUs: number;
  warmUs: number;
  residentUs: number;
  deltaUs: number;
  /** Wall µs per operation on the main thread (median), in the rows' order: bare, fresh, warm, resident, delta; absent in older results. */
  wallUs?: number[];
  /** Median size of one delta image of the cycle. */
  deltaBytes: number;
  /** Thaw of 64 MiB memory holding 1 MiB, ms (median). */
  bigFreshMs: number;
  bigWarmMs: number;
}

const LINEAGE = "0".repeat(32);
const quiet = (): void => {};


function cpuUs(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

export async function measureCycle(samples = 15, batch = 200): Promise<CycleResults> {
  const base = await loadProgram("bench", "programs", "cycle.ts");
  const warmProgram = await Program.load(base.module, { pool: 1 });
  const freshProgram = await Program.load(base.module, { pool: 0 });
  const handlers: Record<string, HostHandler> = { tick: () => DEFER };
  const options = { handlers, print: quiet, lineage: LINEAGE };
  const first = await Runtime.start(warmProgram, { ...options, seed: 1 });
  first.step();
  const image = first.snapshot();
  const [{ id }] = first.pendingCalls();
  const memoryBytes = first.memory.buffer.byteLength;
  const cycle = async (program: Program, release: boolean): Promise<void> => {
    const rt = await Runtime.restore(program, image, options);
    rt.complete(id, "ok");
    rt.step();
    rt.snapshot();
    if (release) rt.release();
  };
  const late: { memory?: WebAssembly.Memory } = {};
  const env = envImports({ memory: () => late.memory!, heapBase: () => 0, hostFrames: () => ({}) as WebAssembly.Global }, { print: quiet, seed: 1 });
  // Resident runtimes: each event answers the pending call, steps, and freezes.
  const residentCycle = async (freeze: (rt: Runtime) => void): Promise<() => void> => {
    const rt = await Runtime.restore(freshProgram, image, options);
    return () => {
      rt.complete(rt.pendingCalls()[0].id, "ok");
      rt.step();
      freeze(rt);
    };
  };
  let previous: Uint8Array = image;
  const deltaSizes: number[] = [];
  const works: (() => unknown)[] = [
    () => new WebAssembly.Instance(base.module, { env }),
    () => cycle(freshProgram, false),
    () => cycle(warmProgram, true),
    await residentCycle((rt) => rt.snapshot()),
    await residentCycle((rt) => {
      previous = rt.snapshot({ since: previous });
      if (deltaSizes.length < 1000) deltaSizes.push(previous.length);
    }),
  ];
  const times = works.map(() => [] as number[]);
  const walls = works.map(() => [] as number[]);
  for (const work of works) for (let i = 0; i < batch; i++) await work(); // warm-up
  for (let s = 0; s < samples; s++) {
    for (let w = 0; w < works.length; w++) {
      const start = cpuUs();
      const wallStart = performance.now();
      for (let i = 0; i < batch; i++) await works[w]();
      walls[w].push(((performance.now() - wallStart) * 1000) / batch);
      times[w].push((cpuUs() - start) / batch);
    }
  }
  const [bareUs, freshUs, warmUs, residentUs, deltaUs] = times.map(median);
  const wallUs = walls.map(median);
  const big = await measureBigThaw(Math.max(5, Math.floor(samples / 2)));
  return { imageBytes: image.length, memoryBytes, bareUs, freshUs, warmUs, residentUs, deltaUs, wallUs, deltaBytes: median(deltaSizes), bigFreshMs: big.fresh, bigWarmMs: big.warm };
}

/** Thaw of 64 MiB holding 1 MiB: fresh (each sample after a full GC, not timed) against warm. */
async function measureBigThaw(reps: number): Promise<{ fresh: number; warm: number }> {
  const heap = await loadProgram("bench", "programs", "heap.ts");
  const program = await Program.load(heap.module, { pool: 1 });
  const fresh = await Program.load(heap.module, { pool: 0 });
  const rt = await Runtime.start(program, { print: quiet, seed: 1 });
  exportsOf(rt).configure(1);
  rt.step({ budget: 2 });
  rt.memory.grow(64 * 16 - rt.memory.buffer.byteLength / 65536);
  const image = rt.snapshot();
  // The pool holds one 64 MiB instance, released right after a snapshot as a fleet worker
  // does (then the thaw knows its non-zero chunks without scanning 64 MiB: pool.ts).
  const primed = await Runtime.restore(program, image, { print: quiet });
  primed.snapshot();
  primed.release();
  const freshMs: number[] = [];
  const warmMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    gc();
    let start = performance.now();
    await Runtime.restore(fresh, image, { print: quiet });
    freshMs.push(performance.now() - start);
    gc();
    start = performance.now();
    const warm = await Runtime.restore(program, image, { print: quiet });
    warmMs.push(performance.now() - start);
    warm.snapshot();
    warm.release();
  }
  return { fresh: median(freshMs), warm: median(warmMs) };
}

/** The RESULTS.md section. */
export function renderCycle(c: CycleResults): string {
  const us = (x: number) => `${x.toFixed(0)} µs`;
  const r = (x: number) => `${(x / c.bareUs).toFixed(2)}×`;
  const goal = (x: number, target: number) => (x / c.bareUs <= target ? `met (≤ ${target}×)` : `missed by ${(x / c.bareUs / target).toFixed(2)}× (goal ≤ ${target}×)`);
  return [
    "## Fleet-style cycle (issue 12)",
    "",
    `One tasklet waiting on a host call (bench/programs/cycle.ts; image ${(c.imageBytes / 1024).toFixed(1)} KiB, memory ${c.memoryBytes / 1024} KiB). ` +
      "A cycle = `Runtime.restore` → `complete` → `step` → `snapshot`; CPU time of the whole process (user + system, so V8's collection of dead instances on its worker threads counts) per operation, median of interleaved samples; the goals are judged on it. " +
      "Main-thread wall time beside it, for comparison. On an image this small a delta costs more CPU than a full image (the diff against the previous state) but is smaller: it pays off in bytes written and stored, and on images much larger than what one step changes.",
    "",
    "| | CPU per operation | vs bare Instance | goal | main-thread wall per operation | vs bare Instance |",
    "|---|---|---|---|---|---|",
    ...[
      ["bare `new WebAssembly.Instance`", c.bareUs, null],
      ["cycle, full image, fresh instance", c.freshUs, 1.5],
      ["cycle, full image, warm instance (pool + release)", c.warmUs, 1.5],
      ["no thaw: resident runtime, full image", c.residentUs, null],
      [`no thaw: resident runtime, delta image (${(c.deltaBytes / 1024).toFixed(1)} KiB)`, c.deltaUs, 0.75],
    ].map(([name, cpu, target], i) => {
      const wall = c.wallUs ? `${us(c.wallUs[i])} | ${(c.wallUs[i] / c.wallUs[0]).toFixed(2)}×` : "| ";
      return `| ${name} | ${us(cpu as number)} | ${r(cpu as number)} | ${target === null ? "" : goal(cpu as number, target as number)} | ${wall} |`;
    }),
    "",
    `Thaw of a 64 MiB memory holding 1 MiB: fresh instance ${c.bigFreshMs.toFixed(2)} ms, warm instance ${c.bigWarmMs.toFixed(2)} ms (goal ≤ 2 ms: ${c.bigWarmMs <= 2 ? "met by the warm thaw" : "missed"}).`,
    "",
  ].join("\n");
}

// `node dist/bench/cycle.js`: this section alone.
if (process.argv[1]?.endsWith("cycle.js")) {
  const c = await measureCycle();
  console.log(renderCycle(c));
}
