// Instrumentation overhead (part of `npm run bench`): compute kernels that never switch
// (bench/programs/kernels/*.ts), each built four ways and timed in the same run:
//   plain         asc -O3 alone, no Asyncify (the baseline)
//   default       `stasis build` (Asyncify narrowed to what can reach a switch)
//   unrestricted  Asyncify as most tools run it (any import or indirect call may unwind)
//   preempt       `stasis build --preempt` (fuel checks everywhere + Asyncify over them)
// Each kernel's exported run(n) is called directly (outside any tasklet), median of 7
// after a warm-up; code size is the module's byte length.
import { join } from "node:path";
import { buildProgram } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";
import { Program, Runtime } from "../host/index.ts";
import { compilePlain, plainImports } from "./plain.ts";
import { median, timeMs } from "./stats.ts";

const KERNELS = [
  { name: "fannkuch", file: "fannkuch.ts", arg: 9 },
  { name: "nbody", file: "nbody.ts", arg: 300_000 },
  { name: "sha256", file: "sha256.ts", arg: 40 },
];
export const VARIANTS = ["plain", "default", "unrestricted", "preempt"] as const;
export type Variant = (typeof VARIANTS)[number];

export interface KernelRow {
  kernel: string;
  variant: Variant;
  ms: number;
  bytes: number;
  /** Size of the same module before Asyncify (for plain: the module itself). */
  uninstrumentedBytes: number;
  result: number;
}

async function runner(variant: Variant, path: string): Promise<{ run: (n: number) => number; bytes: number; uninstrumentedBytes: number }> {
  if (variant === "plain") {
    const wasm = await compilePlain(path);
    const { instance } = await WebAssembly.instantiate(wasm, plainImports);
    return { run: instance.exports.run as (n: number) => number, bytes: wasm.length, uninstrumentedBytes: wasm.length };
  }
  const built = await buildProgram(path, { preempt: variant === "preempt", asyncify: variant === "unrestricted" ? "unrestricted" : "narrow" });
  const rt = await Runtime.start(await Program.load(built.wasm), { print: () => {} });
  return { run: rt.exports.run as (n: number) => number, bytes: built.wasm.length, uninstrumentedBytes: built.sizes.compiled };
}

export async function measureKernels(reps = 7): Promise<KernelRow[]> {
  const rows: KernelRow[] = [];
  for (const kernel of KERNELS) {
    const path = join(packageRoot(), "bench", "programs", "kernels", kernel.file);
    const runners = await Promise.all(VARIANTS.map((variant) => runner(variant, path)));
    // Interleave the variants so machine noise spreads over all of them alike.
    const samples = VARIANTS.map(() => [] as number[]);
    const results = runners.map((r) => r.run(kernel.arg)); // also the warm-up
    for (let rep = 0; rep < reps; rep++) {
      runners.forEach((r, i) => samples[i].push(timeMs(() => r.run(kernel.arg))));
    }
    VARIANTS.forEach((variant, i) => {
      rows.push({ kernel: kernel.name, variant, ms: median(samples[i]), bytes: runners[i].bytes, uninstrumentedBytes: runners[i].uninstrumentedBytes, result: results[i] });
    });
  }
  return rows;
}
