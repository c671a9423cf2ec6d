// Shared test helpers: build AssemblyScript test programs once per mode and run them.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildProgram, type BuildMode } from "../build/index.ts";
import { Program, Runtime, type RuntimeOptions } from "../host/index.ts";

const programsDir = join(fileURLToPath(new URL(".", import.meta.url)), "programs");
const cache = new Map<string, Promise<Program>>();

export function programPath(name: string): string {
  return join(programsDir, name);
}

/** Builds test/programs/<name> (cached per mode within one test file). */
export function loadProgram(name: string, mode: BuildMode = "release"): Promise<Program> {
  const key = `${name}:${mode}`;
  let program = cache.get(key);
  if (!program) {
    program = buildProgram(programPath(name), { mode }).then((built) => Program.load(built.wasm));
    cache.set(key, program);
  }
  return program;
}

export interface Started {
  rt: Runtime;
  output: string[];
}

export async function start(name: string, mode: BuildMode = "release", options: RuntimeOptions = {}): Promise<Started> {
  const output: string[] = [];
  const rt = await Runtime.start(await loadProgram(name, mode), { print: (line) => output.push(line), ...options });
  return { rt, output };
}

/** Runs a program to completion and returns what it printed. */
export async function runToEnd(name: string, mode: BuildMode = "release", options: RuntimeOptions = {}): Promise<string[]> {
  const { rt, output } = await start(name, mode, options);
  await rt.run();
  return output;
}

/** Calls an exported function of the program (e.g. a scenario selector) before it runs. */
export function call(rt: Runtime, name: string, ...args: number[]): number {
  const fn = rt.exports[name];
  if (typeof fn !== "function") throw new Error(`the program does not export ${name}`);
  return fn(...args) as number;
}
