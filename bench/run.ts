// `npm run bench`: Stasis tasklets against JavaScript generators, measured in one run.
//
// 1. Switch latency (ns per switch). bench/programs/switch.ts spawns T tasklets that
//    each recurse D calls deep (every frame holds an int and a managed reference) and
//    then call schedule() forever from the deepest frame. A first step (budget T + 1)
//    runs main and brings every tasklet to its first schedule(); after that every
//    resumption the scheduler makes is exactly one switch (unwind the yielding tasklet,
//    pick the next from the run queue, rewind it). So we time rt.step({ budget: n })
//    alone and divide by n: no spawning, start-up or baseline subtraction is involved.
//    JS: T generators, each a chain of D generators delegating with yield* (the
//    innermost yields forever), round-robined by a loop calling next(); time / n calls.
//    n is calibrated so one repetition takes ~TARGET_MS; we print the median (and the
//    min-max) of REPS repetitions after a warm-up, the ratio of the medians Stasis / JS,
//    and the mean stackBytes a suspended tasklet saves (rt.tasklets(): the depth is real).
//    Stasis depth D = Task#run plus D nested calls; JS depth D = D generator frames.
// 2. Memory per suspended tasklet. bench/programs/suspended.ts spawns K tasklets that
//    each schedule() once and then block on a channel nobody sends on. The program
//    itself reports the heap in use (memory size minus TLSF free-list bytes, after a
//    full GC) before spawning and once all K are blocked; we print that delta / K, the
//    linear-memory growth / K (coarser: the allocator grows memory by doubling), and
//    the mean `stackBytes` of the suspended tasklets from rt.tasklets(). JS: heapUsed
//    delta / K around creating K generators suspended at their first yield, after gc().
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { buildProgram } from "../build/index.ts";
import { measureFreeze } from "./freeze.ts";
import { measureKernels } from "./kernels.ts";
import { median } from "./stats.ts";
import { packageRoot } from "../build/paths.ts";
import { Program, Runtime, type TaskletInfo } from "../host/index.ts";

const REPS = 7;
const TARGET_MS = 200;
const K = 100_000;
const CONFIGS = [
  { tasklets: 2, depth: 1 },
  { tasklets: 1000, depth: 1 },
  { tasklets: 2, depth: 20 },
  { tasklets: 1000, depth: 20 },
];

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

interface Timing {
  median: number;
  min: number;
  max: number;
}

/** ns per operation of `work(n)`, which performs n operations: median, min and max of REPS runs. */
function nsPerOp(work: (n: number) => void): Timing {
  let n = 1000;
  let ms = 0;
  for (; ; n *= 2) { // warm-up and calibration
    const start = performance.now();
    work(n);
    ms = performance.now() - start;
    if (ms >= 20) break;
  }
  n = Math.max(1, Math.round((n * TARGET_MS) / ms));
  const samples: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const start = performance.now();
    work(n);
    samples.push(((performance.now() - start) * 1e6) / n);
  }
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
}

async function load(name: string): Promise<Program> {
  const { wasm } = await buildProgram(join(packageRoot(), "bench", "programs", name), { mode: "release" });
  return Program.load(wasm);
}

type Exports = Record<string, (...args: number[]) => number>;

/** ns per switch, and the stack bytes each suspended tasklet saves. */
async function stasisSwitch(program: Program, tasklets: number, depth: number): Promise<{ ns: Timing; stack: number }> {
  const rt = await Runtime.start(program);
  (rt.exports as Exports).configure(tasklets, depth);
  rt.step({ budget: tasklets + 1 });
  const ns = nsPerOp((n) => rt.step({ budget: n }));
  return { ns, stack: meanStackBytes(rt.tasklets().filter((t) => t.status === "suspended")) };
}

const meanStackBytes = (list: TaskletInfo[]): number => list.reduce((sum, t) => sum + t.stackBytes, 0) / list.length;

function* jsDive(level: number): Generator<void, number, void> {
  const frame = { level }; // a reference kept alive across the yield
  let acc = level * 7;
  if (level > 1) acc += yield* jsDive(level - 1);
  else for (;;) yield;
  return acc + frame.level;
}

function jsSwitch(tasklets: number, depth: number): Timing {
  const gens = Array.from({ length: tasklets }, () => jsDive(depth));
  for (const g of gens) g.next();
  let k = 0;
  return nsPerOp((n) => {
    for (let i = 0; i < n; i++) {
      gens[k].next();
      if (++k === tasklets) k = 0;
    }
  });
}

async function stasisMemory(program: Program): Promise<{ heap: number; growth: number; stack: number }> {
  const rt = await Runtime.start(program);
  const exports = rt.exports as Exports;
  exports.configure(K);
  const startBytes = rt.memory.buffer.byteLength;
  while (!exports.measured()) rt.step({ budget: 1_000_000 });
  const growth = rt.memory.buffer.byteLength - startBytes;
  const stack = meanStackBytes(rt.tasklets().filter((t) => t.waitingFor === "receive"));
  return { heap: (exports.heapAfter() - exports.heapBefore()) / K, growth: growth / K, stack };
}

function jsMemory(): number {
  function* sleeper(): Generator<void, void, void> {
    yield;
  }
  gc();
  const before = process.memoryUsage().heapUsed;
  const gens: Generator<void, void, void>[] = [];
  for (let i = 0; i < K; i++) {
    const g = sleeper();
    g.next();
    gens.push(g);
  }
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / K;
  gens.length = 0; // used after the measurement, so gc() above cannot collect them
  return bytes;
}

const fmt = (x: number, digits = 1): string => x.toFixed(digits);
const cell = (t: Timing): string => `${fmt(t.median)} (${t.min.toFixed(0)}-${t.max.toFixed(0)})`;
const row = (cells: string[], widths: number[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");

async function main(): Promise<void> {
  console.log(`machine: ${cpus()[0].model}, ${cpus().length} cores, node ${process.version}, ${process.platform}/${process.arch}`);
  console.log(`medians (min-max) of ${REPS} repetitions (~${TARGET_MS} ms each) after warm-up\n`);

  const switchProgram = await load("switch.ts");
  const memoryProgram = await load("suspended.ts");

  console.log("switch latency (ns per switch)");
  const w1 = [16, 22, 22, 10, 18];
  console.log(row(["tasklets x depth", "stasis (min-max)", "js generator (min-max)", "stasis/js", "stasis stackBytes"], w1));
  for (const { tasklets, depth } of CONFIGS) {
    const stasis = await stasisSwitch(switchProgram, tasklets, depth);
    const js = jsSwitch(tasklets, depth);
    console.log(row([`${tasklets} x depth ${depth}`, cell(stasis.ns), cell(js), fmt(stasis.ns.median / js.median, 2), String(stasis.stack)], w1));
  }

  console.log(`\nmemory per suspended tasklet (bytes, K = ${K}, depth 1)`);
  const m = await stasisMemory(memoryProgram);
  const js = jsMemory();
  const w2 = [52, 10];
  console.log(row(["stasis heap in use / K (TLSF, after full GC)", fmt(m.heap)], w2));
  console.log(row(["stasis linear memory growth / K", fmt(m.growth)], w2));
  console.log(row(["stasis mean stackBytes (rt.tasklets())", fmt(m.stack)], w2));
  console.log(row(["js generator heapUsed / K (after gc)", fmt(js)], w2));
  console.log(row(["stasis heap / js", fmt(m.heap / js, 2)], w2));

  console.log("\nfreeze and thaw (ms; medians of 7)");
  const heapProgram = await load("heap.ts");
  const w3 = [28, 11, 11, 9, 9, 9, 12, 12];
  console.log(row(["case", "memory MiB", "image MiB", "freeze", "thaw", "copy", "freeze/copy", "thaw-copy"], w3));
  for (const [data, grow] of [[1, null], [16, null], [64, null], [1, 64]] as const) {
    const r = await measureFreeze(heapProgram, data, grow, 7);
    const mib = (n: number) => fmt(n / 2 ** 20);
    console.log(row([r.label, mib(r.memoryBytes), mib(r.imageBytes), fmt(r.freezeMs, 2), fmt(r.thawMs, 2), fmt(r.copyMs, 2), fmt(r.freezeMs / r.copyMs, 2), fmt(r.thawMs - r.copyMs, 2)], w3));
  }

  console.log("\ninstrumentation overhead: kernels that never switch (ms, median of 7; size in bytes; ratio to plain)");
  const w4 = [10, 14, 10, 10, 10, 10, 12];
  console.log(row(["kernel", "build", "ms", "time/plain", "bytes", "size/plain", "result"], w4));
  const kernels = await measureKernels();
  for (const r of kernels) {
    const plainRow = kernels.find((k) => k.kernel === r.kernel && k.variant === "plain")!;
    console.log(row([r.kernel, r.variant, fmt(r.ms), fmt(r.ms / plainRow.ms, 3), String(r.bytes), fmt(r.bytes / plainRow.bytes, 2), String(r.result)], w4));
  }
}

await main();
