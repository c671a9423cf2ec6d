// `npm run bench`: Stasis against the alternatives, every comparison measured side by
// side in one run; writes bench/RESULTS.md and bench/switch-latency.svg and prints the
// results. Sections (each file's header says exactly what it measures):
//   switch.ts   switch latency at depths 1, 10, 50: Stasis, generators, async/await,
//               JS-driven Asyncify
//   switchcount.ts  the switch in JIT instructions (callgrind) beside the Asyncify floor
//               and generators; parked.ts: memory per parked tasklet
//   memory.ts   bytes per suspended tasklet (depth 0, 1, 10); spawn and park 1,000,000
//   freeze.ts   freeze/thaw against a memory copy
//   cycle.ts    the fleet-style cycle (thaw, answer, step, freeze): fresh and warm
//               instances, a resident runtime freezing full or delta images, against a
//               bare WebAssembly.Instance; 64 MiB/1 MiB thaw
//   replay.ts   resume from an image against re-running from the start
//   kernels.ts  instrumentation overhead on compute kernels (plus bench/callgrind.txt)
//   fleet.ts    fleet computations stepped per second, embedded and PostgreSQL, against
//               the raw claim + write-back rate of the same database
//   preemptsize.ts  code size of --preempt per program
// Takes about nine minutes on two cores (five of them the callgrind switch count). The raw figures go to bench/results.json;
// `node dist/bench/run.js --render` writes RESULTS.md and the chart again from it,
// without measuring (after a change to the report's wording).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { packageRoot } from "../build/paths.ts";
import { switchChart } from "./chart.ts";
import { measureFleet } from "./fleet.ts";
import { measureFreeze } from "./freeze.ts";
import { measureCycle } from "./cycle.ts";
import { measureKernels } from "./kernels.ts";
import { measurePreemptSizes } from "./preemptsize.ts";
import { measureMemory, measureSpawnPark } from "./memory.ts";
import { measureReplay } from "./replay.ts";
import { renderResults, type BenchResults, type Environment } from "./report.ts";
import { gc } from "./stats.ts";
import { measureSwitch } from "./switch.ts";
import { measureSwitchCount } from "./switchcount.ts";
import { measureParked } from "./parked.ts";

const REPS = 7;
const SAMPLE_MS = 200;
const SWITCH_CONFIGS = [2, 1000].flatMap((tasklets) => [1, 10, 50].map((depth) => ({ tasklets, depth })));

function versionOf(pkg: string): string {
  return (JSON.parse(readFileSync(join(packageRoot(), "node_modules", pkg, "package.json"), "utf8")) as { version: string }).version;
}

function environment(): Environment {
  return {
    date: new Date().toISOString().slice(0, 10),
    cpu: cpus()[0].model.trim(),
    cores: cpus().length,
    node: process.version,
    v8: process.versions.v8,
    assemblyscript: versionOf("assemblyscript"),
    binaryen: versionOf("binaryen"),
    platform: `${process.platform}/${process.arch}`,
  };
}

async function section<T>(title: string, measure: () => Promise<T>): Promise<T> {
  gc(); // what the previous section left behind (big wasm memories) is freed before, not during, this one
  const start = performance.now();
  process.stdout.write(`${title} … `);
  const result = await measure();
  console.log(`${((performance.now() - start) / 1000).toFixed(0)} s`);
  return result;
}

function write(benchDir: string, results: BenchResults): string {
  const markdown = renderResults(results);
  writeFileSync(join(benchDir, "RESULTS.md"), markdown);
  writeFileSync(join(benchDir, "switch-latency.svg"), switchChart(results.switchRows));
  return markdown;
}

async function measureAll(benchDir: string): Promise<BenchResults> {
  const start = performance.now();
  const env = environment();
  console.log(`${env.cpu}, ${env.cores} cores, Node ${env.node}; medians of ${REPS}\n`);
  const switchRows = await section("switch latency", () => measureSwitch(SWITCH_CONFIGS, REPS, SAMPLE_MS));
  const switchCount = await section("switch in JIT instructions (callgrind)", () => measureSwitchCount([1, 10, 50]));
  const parked = await section("memory per parked tasklet", () => measureParked(1_000_000));
  const memory = await section("memory per suspended tasklet", () => measureMemory([0, 1, 10], 100_000));
  const spawnPark = await section("spawn and park 1,000,000", () => measureSpawnPark(1_000_000, 3));
  const freeze = await section("freeze and thaw", () => measureFreeze(REPS));
  const cycle = await section("fleet-style cycle", () => measureCycle());
  const replay = await section("resume against re-run", () => measureReplay(1000, 3));
  const kernels = await section("instrumentation overhead", () => measureKernels(REPS));
  const fleet = await section("fleet: computations stepped per second", () => measureFleet());
  const preemptSizes = await section("--preempt code size", () => measurePreemptSizes());
  const callgrindFile = join(benchDir, "callgrind.txt");
  const callgrind = existsSync(callgrindFile) ? readFileSync(callgrindFile, "utf8") : null;
  return { env, seconds: (performance.now() - start) / 1000, reps: REPS, switchRows, memory, spawnPark, freeze, replay, kernels, preemptSizes, callgrind, fleet, cycle, switchCount, parked };
}

async function main(): Promise<void> {
  const benchDir = join(packageRoot(), "bench");
  const json = join(benchDir, "results.json");
  if (process.argv.includes("--render")) {
    write(benchDir, JSON.parse(readFileSync(json, "utf8")) as BenchResults);
    console.log("wrote bench/RESULTS.md and bench/switch-latency.svg from bench/results.json");
    return;
  }
  const results = await measureAll(benchDir);
  writeFileSync(json, JSON.stringify(results, null, 1) + "\n");
  console.log(`\n${write(benchDir, results)}\nwrote bench/results.json, bench/RESULTS.md and bench/switch-latency.svg`);
}

await main();
