// The delta cycle (issue 12, deliverable 3): a resident runtime of a small program waiting
// on a host call does complete → step → snapshot({ since: previous image }) per event, the
// cycle a workflow engine runs when it keeps the instance and stores deltas. Reported as
// the median CPU time per cycle (process.cpuUsage: user + system, every thread of the
// process), beside the same cycle with a full rt.snapshot() and a bare
// `new WebAssembly.Instance` of the same module (imports stubbed), measured in the same
// run; plus the image sizes. `measureDeltaCycle` is the hook bench/cycle.ts calls;
// `node dist/bench/delta.js [cycles]` prints it alone.
import { DEFER, Runtime, type Program } from "../host/index.ts";
import { loadProgram } from "./load.ts";
import { performance } from "node:perf_hooks";
import { median } from "./stats.ts";

export interface DeltaCycle {
  /** Median CPU µs of complete → step → snapshot({ since }). */
  deltaCycleUs: number;
  /** Mean CPU µs of the same (collections included). */
  deltaCycleMeanUs: number;
  /** Median bytes of one delta image. */
  deltaBytes: number;
  /** Median CPU µs of complete → step → snapshot() (full image, resident runtime). */
  fullCycleUs: number;
  fullBytes: number;
  /** Median CPU µs of the snapshot alone: delta, full. */
  deltaSnapshotUs: number;
  fullSnapshotUs: number;
  /** Median CPU µs of a bare new WebAssembly.Instance of the module. */
  bareInstanceUs: number;
  /** deltaCycleUs / bareInstanceUs (issue 12's goal: ≤ 0.75). */
  ratio: number;
  /** The same medians in wall-clock µs (performance.now): delta cycle, full cycle, bare instance. */
  wallUs: { deltaCycle: number; fullCycle: number; bareInstance: number };
}

function cpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** [CPU µs, wall µs] of `work`. */
function timed(work: () => void): [number, number] {
  const cpu = cpuUs();
  const wall = performance.now();
  work();
  return [cpuUs() - cpu, (performance.now() - wall) * 1000];
}

/** The program the cycle runs (bench/programs/delta-waiter.ts). */
export function loadDeltaProgram(): Promise<Program> {
  return loadProgram("bench", "programs", "delta-waiter.ts");
}

async function resident(program: Program): Promise<Runtime> {
  const rt = await Runtime.start(program, { print: () => {}, handlers: { event: () => DEFER }, seed: 1 });
  rt.step();
  return rt;
}

/** One cycle: answer the pending call, step until main waits again, freeze. Returns [cycle µs, snapshot µs, image, wall µs]. */
function cycle(rt: Runtime, freeze: () => Uint8Array): [number, number, Uint8Array, number] {
  const wall = performance.now();
  const start = cpuUs();
  rt.complete(rt.pendingCalls()[0].id, "payload");
  rt.step();
  const frozenAt = cpuUs();
  const image = freeze();
  const end = cpuUs();
  return [end - start, end - frozenAt, image, (performance.now() - wall) * 1000];
}

export async function measureDeltaCycle(cycles = 5000, program?: Program): Promise<DeltaCycle> {
  program ??= await loadDeltaProgram();
  const warmup = Math.min(500, cycles);

  const deltaRt = await resident(program);
  let previous: Uint8Array = deltaRt.snapshot();
  const delta: number[][] = [];
  for (let i = 0; i < warmup + cycles; i++) {
    const [us, snapUs, image, wallUs] = cycle(deltaRt, () => deltaRt.snapshot({ since: previous }));
    previous = image;
    if (i >= warmup) delta.push([us, snapUs, image.length, wallUs]);
  }

  const fullRt = await resident(program);
  const full: number[][] = [];
  for (let i = 0; i < warmup + cycles; i++) {
    const [us, snapUs, image, wallUs] = cycle(fullRt, () => fullRt.snapshot());
    if (i >= warmup) full.push([us, snapUs, image.length, wallUs]);
  }

  const imports: WebAssembly.Imports = {};
  for (const { module, name, kind } of WebAssembly.Module.imports(program.module)) {
    if (kind !== "function") continue;
    (imports[module] ??= {})[name] = () => 0;
  }
  const bare: number[][] = [];
  for (let i = 0; i < warmup + cycles; i++) {
    const us = timed(() => new WebAssembly.Instance(program.module, imports));
    if (i >= warmup) bare.push(us);
  }

  const column = (rows: number[][], i: number) => rows.map((row) => row[i]);
  const deltaCycleUs = median(column(delta, 0));
  const bareInstanceUs = median(column(bare, 0));
  return {
    deltaCycleUs,
    deltaCycleMeanUs: column(delta, 0).reduce((a, b) => a + b, 0) / cycles,
    deltaBytes: median(column(delta, 2)),
    fullCycleUs: median(column(full, 0)),
    fullBytes: median(column(full, 2)),
    deltaSnapshotUs: median(column(delta, 1)),
    fullSnapshotUs: median(column(full, 1)),
    bareInstanceUs,
    ratio: deltaCycleUs / bareInstanceUs,
    wallUs: { deltaCycle: median(column(delta, 3)), fullCycle: median(column(full, 3)), bareInstance: median(column(bare, 1)) },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await measureDeltaCycle(Number(process.argv[2] ?? 5000));
  console.log(JSON.stringify(result, null, 2));
}
