// Resume from an image against re-running from the start (part of `npm run bench`): the
// replay-based durability baseline. The main demo's program (examples/primes, the
// concurrent prime sieve: thousands of tasklets on channels) runs for a fixed number
// of steps, about `targetMs` of computation, and is frozen there. We then time
// Runtime.restore() of that image (decode, checksum, instantiate, write back) against
// Runtime.start() plus the same steps (re-running to the same point, as a system that
// replays a log must), and check both reach the same state.
import { performance } from "node:perf_hooks";
import { Runtime, type Program } from "../host/index.ts";
import { exportsOf, loadProgram } from "./load.ts";
import { median, timeMs, timeMsAsync } from "./stats.ts";

const BUDGET = 10_000;
const LIMIT = 1_000_000;

export interface ReplayRow {
  steps: number;
  primesFound: number;
  tasklets: number;
  imageBytes: number;
  rerunMs: number;
  resumeMs: number;
}

async function started(program: Program): Promise<Runtime> {
  const rt = await Runtime.start(program, { print: () => {} });
  exportsOf(rt).setLimit(LIMIT);
  return rt;
}

export async function measureReplay(targetMs: number, reps: number): Promise<ReplayRow> {
  const program = await loadProgram("examples", "primes", "program.ts");
  const rt = await started(program);
  let steps = 0;
  const start = performance.now();
  while (performance.now() - start < targetMs) {
    if (rt.step({ budget: BUDGET }) !== "yielded") throw new Error("the sieve finished early; raise LIMIT");
    steps++;
  }
  const image = rt.snapshot();
  const found = exportsOf(rt).primesFound();
  const reruns: number[] = [];
  const resumes: number[] = [];
  for (let i = 0; i < reps; i++) {
    const rerun = await started(program);
    reruns.push(timeMs(() => {
      for (let s = 0; s < steps; s++) rerun.step({ budget: BUDGET });
    }));
    let resumed: Runtime | undefined;
    resumes.push(await timeMsAsync(async () => (resumed = await Runtime.restore(program, image, { print: () => {} }))));
    for (const other of [rerun, resumed!]) {
      if (exportsOf(other).primesFound() !== found) throw new Error("re-run and resume disagree with the frozen run");
    }
  }
  return { steps, primesFound: found, tasklets: rt.taskletCount(), imageBytes: image.length, rerunMs: median(reruns), resumeMs: median(resumes) };
}
