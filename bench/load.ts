// The benchmarks' AssemblyScript programs, built with the full Stasis pipeline, and the
// small helpers every benchmark uses on them.
import { join } from "node:path";
import { buildProgram } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";
import { Program, type Runtime, type TaskletInfo } from "../host/index.ts";

/** The numeric functions a benchmark program exports (configure, measured, …). */
export type ProgramExports = Record<string, (...args: number[]) => number>;

/** Builds (release) and loads the program at `path`, relative to the package root. */
export async function loadProgram(...path: string[]): Promise<Program> {
  return Program.load((await buildProgram(join(packageRoot(), ...path))).wasm);
}

export function exportsOf(rt: Runtime): ProgramExports {
  return rt.exports as ProgramExports;
}

/** Mean bytes a suspended tasklet saves (Asyncify frames + shadow stack). */
export function meanStackBytes(tasklets: TaskletInfo[]): number {
  return tasklets.reduce((sum, t) => sum + t.stackBytes, 0) / tasklets.length;
}
