// buildProgram: AssemblyScript program → Stasis module (.wasm), the whole pipeline.
//
//   compile (asc, compile.ts) → instrument (Asyncify + globals, instrument.ts)
//   → frames (stack decoder tables, frames.ts) → stamp (module id, section.ts)
//
// Node-only (it reads files and runs the compiler); the result runs on any host.
//
// The toolchain (assemblyscript, binaryen: about 100 MB) is an optional peer dependency:
// a host that only runs and thaws modules never needs it. It is loaded on the first
// build, and a missing one is a MISSING_TOOLCHAIN error saying what to install.
import { access } from "node:fs/promises";
import { ABI_VERSION, type ProgramMetadata } from "../host/abi.ts";
import { StasisError } from "../host/errors.ts";
import type { BuildMode } from "./compile.ts";
import type { AsyncifyScope } from "./instrument.ts";
import { appendCustomSection, stampMetadata } from "./section.ts";
import { FRAMES_SECTION, FRAMES_VERSION, type FrameTable } from "../host/frames.ts";

export type { BuildMode } from "./compile.ts";

/** The exact versions this Stasis builds with (package.json peerDependencies). */
export const TOOLCHAIN = { assemblyscript: "0.28.20", binaryen: "131.0.0-nightly.20260721" } as const;

async function loadToolchain() {
  try {
    const [compile, instrument] = await Promise.all([import("./compile.ts"), import("./instrument.ts")]);
    return { compileProgram: compile.compileProgram, instrument: instrument.instrument };
  } catch (cause) {
    const message = String((cause as Error)?.message ?? cause);
    const missing = Object.keys(TOOLCHAIN).filter((name) => message.includes(`'${name}'`) || message.includes(`"${name}"`));
    if ((cause as { code?: string })?.code !== "ERR_MODULE_NOT_FOUND" || missing.length === 0) throw cause;
    const install = Object.entries(TOOLCHAIN).map(([name, version]) => `${name}@${version}`).join(" ");
    throw new StasisError(
      "MISSING_TOOLCHAIN",
      `building a program needs the AssemblyScript toolchain, and ${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not installed: run \`npm install --save-dev ${install}\` ` +
        "(optional peer dependencies of stasis: running and thawing built modules does not need them)",
      { cause },
    );
  }
}

export interface BuildOptions {
  /** "release" (optimized, default) or "debug" (unoptimized, with names). */
  mode?: BuildMode;
  /** Bytes of AssemblyScript shadow stack (references held in locals); default 32768. */
  shadowStackSize?: number;
  /** Fuel checks at every function entry and loop header, so any loop can be time-sliced and frozen. */
  preempt?: boolean;
  /** More asc command-line options, e.g. ["--transform", "./my-transform.js", "--noAssert"]. */
  ascOptions?: string[];
  /** For measurements only: "unrestricted" instruments as if every import could switch. */
  asyncify?: AsyncifyScope;
}

export interface BuildResult {
  wasm: Uint8Array<ArrayBuffer>;
  metadata: ProgramMetadata;
  /** Module size in bytes before instrumentation (as asc compiled it) and after (final). */
  sizes: { compiled: number; instrumented: number };
}

export async function buildProgram(entry: string, options: BuildOptions = {}): Promise<BuildResult> {
  const mode = options.mode ?? "release";
  const preempt = options.preempt === true;
  await access(entry).catch((cause: unknown) => {
    throw new StasisError("IO_ERROR", `cannot read ${entry}: ${(cause as { code?: string }).code === "ENOENT" ? "no such file" : String((cause as Error).message)}`, { cause });
  });
  const { compileProgram, instrument } = await loadToolchain();
  const classNames = new Map<number, string>();
  const compiled = await compileProgram(entry, { mode, shadowStackSize: options.shadowStackSize, preempt, ascOptions: options.ascOptions, classNames });
  const instrumented = instrument(compiled, mode, options.asyncify);
  const frames: FrameTable = {
    version: FRAMES_VERSION,
    ...instrumented.frames,
    layout: instrumented.layout,
    globals: { liveHead: instrumented.liveHead, failedHead: instrumented.failedHead },
    runtimeFunctions: instrumented.runtimeFunctions,
    classes: Object.fromEntries(classNames),
  };
  const withFrames = appendCustomSection(instrumented.wasm, FRAMES_SECTION, new TextEncoder().encode(JSON.stringify(frames)));
  const { wasm, metadata } = stampMetadata(withFrames, { abi: ABI_VERSION, mode, preempt, globals: instrumented.globals });
  return { wasm, metadata, sizes: { compiled: instrumented.sizeBefore, instrumented: wasm.length } };
}
