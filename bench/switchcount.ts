// The switch in JIT instructions (part of `npm run bench`): repeatable where time is not.
//
// Three contenders, each making two coroutines ping-pong from a recursion `depth` calls
// deep (depths 1, 10, 50):
//  - stasis: bench/programs/switch.ts with 2 tasklets, driven by rt.step({ budget: n }).
//  - floor: bench/programs/switchfloor.ts, the smallest in-module Asyncify ping-pong
//    (plain asc, -O3, Asyncify, -O3; each coroutine rewinds from its own buffer).
//  - generator: two JS generator chains delegating with `yield*`.
// Method (as bench/callgrind.sh): valgrind --tool=callgrind counts the instructions
// executed in JIT-compiled code (`???:0x…`) on the main thread of
// `node --no-liftoff --no-wasm-lazy-compilation`; per switch = (run(LARGE) − run(SMALL)) /
// (LARGE − SMALL), so start-up, compilation and warm-up cancel. Code outside JIT code
// (V8 builtins, memory.copy's out-of-line routine) is not counted, for every contender
// alike. Skipped with one printed line when valgrind is missing. Takes about 3 minutes.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import binaryen from "binaryen";
import { buildProgram } from "../build/index.ts";
import { FEATURES, withLevels, withPassArguments } from "../build/instrument.ts";
import { packageRoot } from "../build/paths.ts";
import type { ParkedRow } from "./parked.ts";
import { compilePlain } from "./plain.ts";

export const COUNT_CONTENDERS = ["stasis", "floor", "generator"] as const;
export type CountContender = (typeof COUNT_CONTENDERS)[number];

export interface SwitchCountRow {
  depth: number;
  /** JIT instructions per switch. */
  instructions: Record<CountContender, number>;
}

const SMALL = 10_000;
const LARGE = 60_000;

/**
 * asc without its optimizer (keeping names), yieldNow marked never-inlined (inlined into
 * dive it would make dive top-most and uninstrumented), -O3, Asyncify, -O3: the same
 * pipeline as `stasis build`.
 */
export async function buildFloor(): Promise<Uint8Array> {
  const compiled = await compilePlain(join(packageRoot(), "bench", "programs", "switchfloor.ts"), ["--runtime", "stub", "-O0", "--debug"]);
  const module = binaryen.readBinaryWithFeatures(compiled, FEATURES);
  try {
    let yieldNow = "";
    for (let i = 0; i < module.getNumFunctions(); i++) {
      const name = binaryen.getFunctionInfo(module.getFunctionByIndex(i)).name;
      if (name.endsWith("/yieldNow")) yieldNow = name;
    }
    if (!yieldNow) throw new Error("switchfloor.ts: yieldNow is missing");
    withPassArguments({ "no-inline": yieldNow }, () => module.runPasses(["no-inline"]));
    return withLevels(3, 0, false, () => {
      module.optimize();
      withPassArguments({ "asyncify-ignore-imports": "*" }, () => module.runPasses(["asyncify"]));
      module.optimize();
      return module.emitBinary();
    });
  } finally {
    module.dispose();
  }
}

function hasValgrind(): boolean {
  return spawnSync("valgrind", ["--version"]).status === 0 && spawnSync("callgrind_annotate", ["--version"]).error === undefined;
}

/** JIT instructions on the main thread of one run. */
function count(dir: string, kind: CountContender, file: string, depth: number, n: number): number {
  const out = join(dir, "cg.out");
  const runner = join(packageRoot(), "dist", "bench", "switchcount-run.js");
  spawnSync("valgrind", ["--tool=callgrind", "--separate-threads=yes", `--callgrind-out-file=${out}`,
    "node", "--no-liftoff", "--no-wasm-lazy-compilation", runner, kind, file, String(depth), String(n)], { stdio: "ignore" });
  const annotated = execFileSync("callgrind_annotate", ["--threshold=100", `${out}-01`], { encoding: "utf8", maxBuffer: 1 << 28 });
  let sum = 0;
  for (const line of annotated.split("\n")) {
    const m = /^\s*([\d,]+)\s.*\?\?\?:0x/.exec(line);
    if (m) sum += Number(m[1].replaceAll(",", ""));
  }
  rmSync(`${out}-01`, { force: true });
  if (sum === 0) throw new Error(`callgrind counted nothing for ${kind} at depth ${depth}`);
  return sum;
}


/** Null (with one printed line) when valgrind is not installed. */
export async function measureSwitchCount(depths: number[], only: readonly CountContender[] = COUNT_CONTENDERS): Promise<SwitchCountRow[] | null> {
  if (!hasValgrind()) {
    console.log("skipped: valgrind (callgrind) is not installed");
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), "stasis-switchcount-"));
  try {
    const files: Record<CountContender, string> = { stasis: join(dir, "stasis.wasm"), floor: join(dir, "floor.wasm"), generator: "-" };
    writeFileSync(files.stasis, (await buildProgram(join(packageRoot(), "bench", "programs", "switch.ts"))).wasm);
    writeFileSync(files.floor, await buildFloor());
    return depths.map((depth) => {
      const instructions = {} as Record<CountContender, number>;
      for (const kind of only) {
        const delta = count(dir, kind, files[kind], depth, LARGE) - count(dir, kind, files[kind], depth, SMALL);
        instructions[kind] = Math.round(delta / (LARGE - SMALL));
      }
      return { depth, instructions };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node dist/bench/switchcount.js [contender …]`: this section alone (all contenders at
// depths 1, 10, 50 by default), printed.
if (process.argv[1]?.endsWith("switchcount.js")) {
  const only = process.argv.slice(2).filter((a): a is CountContender => (COUNT_CONTENDERS as readonly string[]).includes(a));
  const rows = await measureSwitchCount([1, 10, 50], only.length ? only : COUNT_CONTENDERS);
  if (rows) for (const r of rows) console.log(`depth ${r.depth}: ${Object.entries(r.instructions).map(([k, v]) => `${k} ${v}`).join(", ")}`);
}

/** The RESULTS.md section: counts, ratios to the floor (goal ≤ 1.5×), and memory per parked tasklet. */
export function renderSwitchCount(rows: SwitchCountRow[] | null, parked: ParkedRow | undefined): string[] {
  const s: string[] = ["## Switch in JIT instructions", ""];
  if (!rows) {
    s.push("Not measured: valgrind (callgrind) was not installed.", "");
  } else {
    s.push("JIT-compiled instructions per switch (valgrind callgrind, main thread, `node --no-liftoff`; (run(60,000) − run(10,000)) / 50,000; bench/switchcount.ts). Two coroutines ping-pong from a recursion `depth` calls deep. The floor is the smallest in-module Asyncify ping-pong (bench/programs/switchfloor.ts: no scheduler, no GC, no copy; each coroutine rewinds from its own buffer). Goal: Stasis ≤ 1.5× the floor at every depth. Code outside JIT code is not counted for anyone: the generator's figure leaves out V8's builtins (resuming a generator is one), so it understates a generator's cost.", "");
    s.push("| depth | Stasis | floor | generator (`yield*`) | Stasis / floor | verdict |", "|---|---|---|---|---|---|");
    for (const r of rows) {
      const x = r.instructions.stasis / r.instructions.floor;
      s.push(`| ${r.depth} | ${r.instructions.stasis} | ${r.instructions.floor} | ${r.instructions.generator} | ${x.toFixed(2)}× | ${x <= 1.5 ? "met" : "**missed** (goal 1.5×)"} |`);
    }
    s.push("", "What Stasis pays above the floor at every switch: copying the tasklet's Asyncify frames out of the shared scratch into its own block, and its shadow-stack slots out and back (the floor unwinds into a fixed buffer per coroutine, which Stasis cannot do: Asyncify checks its bound only after an unwind, so a right-sized buffer in the heap would be overrun silently, and a fixed one per tasklet would cost the stack limit in memory each); the run queue and the step loop; the checks that keep a switch safe (no host callback on the stack, scratch still at the end of memory, misuse of the queues); and the shadow stack itself, which the floor, without a collector, does not keep (the benchmark's frames each hold a reference). The frames unwound are the same in number: the optimizer inlines the tasklet's `run()` into `enter`, and `schedule()` starts the unwind itself.", "");
  }
  if (parked) {
    s.push(`Memory per parked tasklet (bench/parked.ts: ${parked.count.toLocaleString("en")} tasklets in \`schedule()\` inside \`run()\`, held in an \`Array<Tasklet>\`): **${parked.heapBytes.toFixed(1)} B** of heap in use after a full GC (goal ≤ 256: ${parked.heapBytes <= 256 ? "met" : "missed"}); linear memory grew by ${parked.growthBytes.toFixed(1)} B per tasklet, since the allocator doubles memory when it grows (the heap in use then lies between two powers of two of memory).`, "");
  }
  return s;
}
