// bench/RESULTS.md, written by `npm run bench` from one run's measurements: the
// environment, a verdict for every target of the issues "Tasklets", "Freeze and thaw",
// "Preemption" and "Proof of speed", and the tables behind them.
import { CONTENDERS, CONTENDER_LABELS, type SwitchRow } from "./switch.ts";
import type { MemoryRow, SpawnParkRow } from "./memory.ts";
import type { FreezeRow } from "./freeze.ts";
import type { ReplayRow } from "./replay.ts";
import type { KernelRow, Variant } from "./kernels.ts";
import { renderFleet, type FleetBenchRow } from "./fleet.ts";
import type { PreemptSizeRow } from "./preemptsize.ts";
import { renderCycle, type CycleResults } from "./cycle.ts";
import { renderSwitchCount, type SwitchCountRow } from "./switchcount.ts";
import type { ParkedRow } from "./parked.ts";

export interface Environment {
  date: string;
  cpu: string;
  cores: number;
  node: string;
  v8: string;
  assemblyscript: string;
  binaryen: string;
  platform: string;
}

export interface BenchResults {
  env: Environment;
  seconds: number;
  reps: number;
  switchRows: SwitchRow[];
  memory: MemoryRow[];
  spawnPark: SpawnParkRow;
  freeze: FreezeRow[];
  replay: ReplayRow;
  kernels: KernelRow[];
  /** Absent in results from before the section existed. */
  preemptSizes?: PreemptSizeRow[];
  /** bench/callgrind.txt (instruction counts from bench/callgrind.sh), if it exists. */
  callgrind: string | null;
  /** Switch in JIT instructions (bench/switchcount.ts; null without valgrind) and memory per parked tasklet; absent in older results. */
  switchCount?: SwitchCountRow[] | null;
  parked?: ParkedRow;
  /** The fleet section (bench/fleet.ts); absent in results written before it existed. */
  fleet?: FleetBenchRow[];
  /** The fleet-style cycle (bench/cycle.ts); absent in results written before it existed. */
  cycle?: CycleResults;
}

/** One kernel row of bench/callgrind.txt: `kernel build instructions ratio`. */
export interface InstructionRow {
  kernel: string;
  build: string;
  instructions: number;
  ratio: number;
}

export function parseCallgrind(text: string): InstructionRow[] {
  return text.split("\n").flatMap((line) => {
    const m = /^(\w+)\s+(plain|default|preempt)\s+(\d+)\s+([\d.]+)\s*$/.exec(line);
    return m ? [{ kernel: m[1], build: m[2], instructions: Number(m[3]), ratio: Number(m[4]) }] : [];
  });
}

const f = (x: number, digits = 1): string => x.toFixed(digits);
const ratio = (x: number): string => `${x.toFixed(2)}×`;
const table = (head: string[], rows: string[][]): string =>
  [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

function kernelRow(r: BenchResults, kernel: string, variant: Variant): KernelRow {
  return r.kernels.find((row) => row.kernel === kernel && row.variant === variant)!;
}

interface Verdict {
  target: string;
  measured: string;
  met: boolean;
  /** How far off, when missed. */
  by?: string;
  /** Why it is missed and what would close it (shown when missed). */
  why?: string;
}

function verdicts(r: BenchResults): Verdict[] {
  const out: Verdict[] = [];
  const sw = r.switchRows;
  const depth1 = sw.filter((row) => row.depth === 1);
  const worst1 = Math.max(...depth1.map((row) => row.ns.stasis.median / row.ns.generator.median));
  out.push({ target: "switch at depth 1 within 1.5× of a generator", measured: depth1.map((row) => `${ratio(row.ns.stasis.median / row.ns.generator.median)} (${row.tasklets} tasklets)`).join(", "), met: worst1 <= 1.5, by: `${ratio(worst1)} against 1.5×`, why: "A generator resumes one heap-allocated frame natively. A Stasis switch unwinds and rewinds every wasm frame of the tasklet through Asyncify (each stores and reloads its locals in linear memory), copies the shadow stack out and back, and runs the scheduler: about 610 instructions at depth 1 against 240 for the smallest in-module Asyncify ping-pong (callgrind, JIT code only; see \"Switch in JIT instructions\"). Closing it needs the engine to switch stacks (the WebAssembly stack-switching proposal) instead of Asyncify." });
  const deep = sw.filter((row) => row.depth >= 10);
  const slowDeep = deep.filter((row) => row.ns.stasis.median >= row.ns.generator.median);
  out.push({ target: "depth ≥ 10 faster than `yield*` generators", measured: deep.map((row) => `${ratio(row.ns.stasis.median / row.ns.generator.median)} (${row.tasklets} × ${row.depth})`).join(", "), met: slowDeep.length === 0, by: `slower in ${slowDeep.length} of ${deep.length} cases`, why: "Per extra level a Stasis switch costs one Asyncify frame (about 15 ns) and `yield*` re-enters every delegating generator (20–35 ns, more with many chains), so Stasis overtakes generators past depth 10; at depth 10 its fixed cost still dominates. Cutting the fixed cost (fewer frames between the scheduler and the task, a cheaper step loop) would move the crossover below 10." });
  const speedups = sw.map((row) => row.ns.jsAsyncify.median / row.ns.stasis.median);
  out.push({ target: "≥ 5× faster than the JS-driven Asyncify switch", measured: `${f(Math.min(...speedups), 2)}–${f(Math.max(...speedups), 2)}× as fast`, met: Math.min(...speedups) >= 5, by: `${ratio(Math.min(...speedups))} against ≥ 5×`, why: "In V8 a call between JavaScript and wasm costs a few ns, so unwinding to JavaScript is cheap; both approaches pay the same Asyncify cost per frame. The in-module switch additionally copies the shadow stack (so a suspended tasklet takes only the bytes it uses and the collector sees its references) and runs a scheduler, which the JS-driven fibers leave out (each owns a fixed stack region the collector does not scan). Only engine-level stack switching would make the switch several times cheaper." });
  const shallow = r.memory[0];
  const next = r.memory[1];
  out.push({ target: "≤ 256 bytes per shallow suspended tasklet", measured: `${f(shallow.heapBytes)} B at depth ${shallow.depth} (parked in Task#run)${next ? `, ${f(next.heapBytes)} B at depth ${next.depth}` : ""}`, met: shallow.heapBytes <= 256, by: `${f(shallow.heapBytes - 256)} B over` });
  const sp = r.spawnPark;
  out.push({ target: "spawn and park 1,000,000 tasklets in under 1 s", measured: `${f(sp.stasisMs / 1000, 2)} s`, met: sp.stasisMs < 1000, by: `${f(sp.stasisMs / 1000 - 1, 2)} s over`, why: "A CPU profile of the run (a build with names) puts most of the time in the TLSF allocator, largely the first touch of fresh pages as linear memory grows (touching 512 MiB of new wasm memory alone takes about 0.36 s here), and about a quarter in the incremental collector's marking. Smaller tasklet records (fewer pages to fault in) and allocating a tasklet's record and its first saved stack as one block would cut it." });
  const sparse = r.freeze.find((row) => row.sparse);
  if (sparse) {
    out.push({ target: "freeze a 64 MiB memory holding 1 MiB in under 5 ms", measured: `${f(sparse.freezeMs, 2)} ms`, met: sparse.freezeMs < 5, by: `${f(sparse.freezeMs - 5, 2)} ms over`, why: "Finding the non-zero chunks reads all 64 MiB (inside the module, 32 bytes per step), which is bound by memory bandwidth: 3.3–7.5 ms between runs on this shared machine. Scanning with 128-bit SIMD loads (not enabled in builds yet) would give it room." });
    const limit = 2 + sparse.copyMs * (sparse.imageBytes / sparse.memoryBytes);
    out.push({ target: "thaw it (fresh instance) within 2 ms plus the time to copy its data", measured: `${f(sparse.thawMs, 2)} ms (limit ${f(limit, 2)} ms)`, met: sparse.thawMs <= limit, by: `${f(sparse.thawMs - limit, 1)} ms over`, why: "Decoding with the checksum takes about 1 ms per MiB of image and writing back under 1 ms; most of the rest is giving the fresh instance 64 MiB of memory, 0.3–9 ms in Node 20 because it sets off a garbage collection on V8's worker threads (with --single-threaded-gc the same grow takes 0.3 ms). Creating the memory at full size instead (a module that imports its memory) measured no better. A thaw into a warm instance (rt.release(), the pool) skips it and meets 2 ms: see \"Fleet-style cycle\"." });
  }
  const instructions = r.callgrind ? parseCallgrind(r.callgrind) : [];
  const overhead = (build: string): { worst: number; text: string; source: string } => {
    const fromCallgrind = instructions.filter((row) => row.build === build);
    if (fromCallgrind.length > 0) {
      return { worst: Math.max(...fromCallgrind.map((row) => row.ratio)), text: fromCallgrind.map((row) => `${row.kernel} ${ratio(row.ratio)}`).join(", "), source: "instructions" };
    }
    const rows = r.kernels.filter((row) => row.variant === build);
    const time = (row: KernelRow) => row.ms / kernelRow(r, row.kernel, "plain").ms;
    return { worst: Math.max(...rows.map(time)), text: rows.map((row) => `${row.kernel} ${ratio(time(row))}`).join(", "), source: "wall clock" };
  };
  for (const [build, limit] of [["default", 1.05], ["preempt", 1.15]] as const) {
    const o = overhead(build);
    out.push({ target: `${build === "default" ? "default pipeline" : "`--preempt`"} within ${Math.round((limit - 1) * 100)}% of plain (${o.source})`, measured: o.text, met: o.worst <= limit, by: `${f((o.worst - limit) * 100)} points at worst`, why: build === "default" ? "Wall-clock ratios on a shared machine move by ±10 points between runs; the instruction counts of bench/callgrind.sh are the reliable figure." : "Every loop header costs a decrement and a test of the fuel counter; see bench/callgrind.txt for instruction counts." });
  }
  const built = r.kernels.filter((row) => row.variant === "preempt" || row.variant === "default");
  const sizes = built.map((row) => row.bytes / kernelRow(r, row.kernel, "plain").bytes);
  const instrumentation = built.map((row) => row.bytes / kernelRow(r, row.kernel, "default").uninstrumentedBytes);
  out.push({ target: "code size within 1.3× of plain", measured: `${f(Math.min(...sizes), 2)}–${f(Math.max(...sizes), 2)}× (instrumentation alone: ${f(Math.min(...instrumentation), 2)}–${f(Math.max(...instrumentation), 2)}×)`, met: Math.max(...sizes) <= 1.3, by: `${ratio(Math.max(...sizes))} against 1.3×`, why: "Every Stasis module carries the Stasis runtime (scheduler, channels, host calls, freeze helpers; an empty program builds to about 20 KB) that a 4–6 KB kernel does not; the instrumentation itself — Asyncify, and the fuel checks of `--preempt` — is the second figure: each build against the same program and runtime as asc emits them, before any instrumentation. A build that leaves out the parts of the runtime a program does not use (host calls alone are about a fifth of it) would shrink the first figure; it cannot reach 1.3× for kernels this small." });
  return out;
}

export function renderResults(r: BenchResults): string {
  const e = r.env;
  const s: string[] = [];
  s.push("# Benchmark results", "");
  s.push(`Written by \`npm run bench\` on ${e.date} in ${Math.round(r.seconds)} s. Machine: ${e.cpu}, ${e.cores} cores, ${e.platform}; Node ${e.node} (V8 ${e.v8}); AssemblyScript ${e.assemblyscript}; Binaryen ${e.binaryen}.`);
  s.push(`Medians of ${r.reps} repetitions unless stated; every table compares figures measured side by side in this one run. The machine may be shared: single figures can move by 10–30% between runs, ratios move less.`, "");
  s.push("![Switch latency](switch-latency.svg)", "");

  s.push("## Targets", "");
  const all = verdicts(r);
  s.push(table(["target", "measured", "verdict"], all.map((v) => [v.target, v.measured, v.met ? "met" : `**missed** (${v.by})`])), "");
  const missed = all.filter((v) => !v.met && v.why);
  if (missed.length > 0) {
    s.push("Why the misses, and what would close them:", "");
    for (const v of missed) s.push(`- **${v.target}**: ${v.why}`);
    s.push("");
  }

  s.push("## Switch latency (ns per switch)", "");
  s.push("One switch = one resumption of the next parked coroutine in round-robin order, which runs until it yields again. Each coroutine recursed `depth` calls deep before yielding (every frame holds an int and a reference): a Stasis tasklet at depth d is `Task#run` plus d calls, a generator or async chain is d frames. See bench/switch.ts for how each contender is driven.", "");
  s.push(table(["tasklets × depth", ...CONTENDERS.map((c) => CONTENDER_LABELS[c]), "Stasis / generators", "speed-up over JS-driven Asyncify", "Stasis saved bytes"],
    r.switchRows.map((row) => [`${row.tasklets} × ${row.depth}`, ...CONTENDERS.map((c) => f(row.ns[c].median)), ratio(row.ns.stasis.median / row.ns.generator.median), ratio(row.ns.jsAsyncify.median / row.ns.stasis.median), f(row.stasisStackBytes, 0)])), "");

  if (r.switchCount !== undefined) s.push(...renderSwitchCount(r.switchCount, r.parked));

  s.push("## Memory per suspended tasklet", "");
  s.push(table(["depth", "Stasis heap in use (after full GC)", "Stasis memory growth", "saved stack", "JS generator chain (V8 heap)", "Stasis / JS"],
    r.memory.map((m) => [String(m.depth), f(m.heapBytes), f(m.growthBytes), f(m.stackBytes), f(m.jsBytes), ratio(m.heapBytes / m.jsBytes)])), "");
  s.push(`Bytes per tasklet, 100,000 tasklets parked on a channel. Depth 0 parks in \`Task#run\` itself; depth d recurses d calls, each holding a small object.`, "");
  s.push(`Spawning and parking ${r.spawnPark.count.toLocaleString("en")} shallow tasklets (depth 0: spawn, then run each until it blocks on a channel): **${f(r.spawnPark.stasisMs)} ms**; creating as many JS generators and running each to its first yield: ${f(r.spawnPark.jsMs)} ms.`, "");

  s.push("## Freeze and thaw (ms)", "");
  s.push("`freeze` = `rt.snapshot()`; `thaw` = `Runtime.restore()` (checksum, decode, instantiate, grow, write back); `copy` = `Uint8Array.slice()` of the whole memory, same run.", "");
  s.push(table(["case", "memory MiB", "image MiB", "freeze", "thaw", "copy", "freeze / copy", "thaw / copy"],
    r.freeze.map((row) => [row.label, f(row.memoryBytes / 2 ** 20), f(row.imageBytes / 2 ** 20), f(row.freezeMs, 2), f(row.thawMs, 2), f(row.copyMs, 2), ratio(row.freezeMs / row.copyMs), ratio(row.thawMs / row.copyMs)])), "");
  if (r.cycle) s.push(renderCycle(r.cycle));
  const rp = r.replay;
  s.push("### Resume from an image against re-running from the start", "");
  s.push(`The main demo (examples/primes, the concurrent prime sieve) ran ${rp.steps} steps of 10,000 switches — ${rp.primesFound} primes found, ${rp.tasklets} live tasklets — and was frozen into a ${f(rp.imageBytes / 1024)} KiB image. Getting back to that point: **resume ${f(rp.resumeMs, 2)} ms** (\`Runtime.restore\`), re-run from the start ${f(rp.rerunMs)} ms — ${f(rp.rerunMs / rp.resumeMs, 0)}× faster. Re-running grows with the computation's age; resuming grows with its live state.`, "");

  s.push("## Instrumentation overhead: kernels that never switch", "");
  s.push("Each kernel (bench/programs/kernels) built four ways and its `run(n)` called directly, the builds interleaved: `plain` = `asc -O3` alone; `default` = `stasis build`; `unrestricted` = Asyncify as most tools run it (any import or indirect call may unwind); `preempt` = `stasis build --preempt`.", "");
  const kernels = [...new Set(r.kernels.map((k) => k.kernel))];
  const row = (kernel: string, variant: Variant) => kernelRow(r, kernel, variant);
  s.push(table(["kernel", "plain ms", "default", "unrestricted", "preempt", "bytes: plain / uninstrumented / default / preempt"],
    kernels.map((k) => [k, f(row(k, "plain").ms), ratio(row(k, "default").ms / row(k, "plain").ms), ratio(row(k, "unrestricted").ms / row(k, "plain").ms), ratio(row(k, "preempt").ms / row(k, "plain").ms), [row(k, "plain").bytes, row(k, "default").uninstrumentedBytes, row(k, "default").bytes, row(k, "preempt").bytes].join(" / ")])), "");
  if (r.callgrind) {
    s.push("Instruction counts (repeatable on a shared machine), from `bench/callgrind.txt`, written by `npm run build && bash bench/callgrind.sh` (not part of `npm run bench`; about five minutes):", "");
    s.push("```", r.callgrind.trim(), "```", "");
  }
  s.push("Module sizes include the Stasis runtime (an empty program builds to about 20 KB), which a 4–6 KB kernel does not carry. `uninstrumented` is the program with that runtime as asc emits it, before Asyncify or fuel checks; `stasis build` prints the size before and after instrumentation.", "");
  if (r.fleet) s.push(...renderFleet(r.fleet));
  if (r.preemptSizes) {
    s.push("### Code size of `--preempt`, per program", "");
    s.push("Each program built with `stasis build` and with `--preempt` (bench/preemptsize.ts). The growth is the fuel checks in the program's and its libraries' code, the guard around the runtime's entries, and Asyncify over the code that can now switch; AssemblyScript's runtime and the code it calls back into (GC visitors) never can, so they stay uninstrumented.", "");
    s.push(table(["program", "uninstrumented", "default", "--preempt", "growth"],
      r.preemptSizes.map((row) => [row.program, String(row.compiledBytes), String(row.defaultBytes), String(row.preemptBytes), `+${f((row.preemptBytes / row.defaultBytes - 1) * 100)}%`])), "");
  }
  return s.join("\n");
}
