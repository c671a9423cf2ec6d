// Code size of `--preempt` (part of `npm run bench`): each program built with `stasis
// build` and with `stasis build --preempt`; the growth is the --preempt module against
// the default one (both carry Asyncify and the Stasis runtime, so the difference is the
// fuel checks, the runtime guard, and the Asyncify instrumentation of the code that can
// now switch). Since issue 15 neither the collector nor the code it calls back into can
// switch, so Asyncify leaves AssemblyScript's runtime uninstrumented.
//
// Standalone: `node dist/bench/preemptsize.js` measures this section alone, stores it in
// bench/results.json and renders bench/RESULTS.md again (no other section is re-measured).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildProgram } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";

export interface PreemptSizeRow {
  program: string;
  /** The default build's module before instrumentation (asc's output). */
  compiledBytes: number;
  defaultBytes: number;
  preemptBytes: number;
}

/** Paths relative to the package root. */
export const SIZE_PROGRAMS = [
  "bench/programs/kernels/fannkuch.ts",
  "bench/programs/kernels/nbody.ts",
  "bench/programs/kernels/sha256.ts",
  "examples/primes/program.ts",
  "examples/workflow/program.ts",
  "test/programs/plain.ts",
  "test/programs/channels.ts",
  "test/programs/gc-stress.ts",
  "test/programs/holders.ts",
  "test/programs/jsonlib.ts",
];

export async function measurePreemptSizes(): Promise<PreemptSizeRow[]> {
  const rows: PreemptSizeRow[] = [];
  for (const program of SIZE_PROGRAMS) {
    const path = join(packageRoot(), program);
    const plain = await buildProgram(path);
    const preempt = await buildProgram(path, { preempt: true });
    rows.push({ program, compiledBytes: plain.sizes.compiled, defaultBytes: plain.wasm.length, preemptBytes: preempt.wasm.length });
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const json = join(packageRoot(), "bench", "results.json");
  const results = JSON.parse(readFileSync(json, "utf8")) as { preemptSizes?: PreemptSizeRow[] };
  results.preemptSizes = await measurePreemptSizes();
  writeFileSync(json, JSON.stringify(results, null, 1) + "\n");
  for (const r of results.preemptSizes) console.log(`${r.program}: ${r.defaultBytes} → ${r.preemptBytes} bytes (+${((r.preemptBytes / r.defaultBytes - 1) * 100).toFixed(1)}%)`);
  console.log("stored in bench/results.json; `node dist/bench/run.js --render` writes RESULTS.md from it");
}
