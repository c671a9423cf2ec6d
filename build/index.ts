// buildProgram: AssemblyScript program → Stasis module (.wasm), the whole pipeline.
//
//   compile (asc, compile.ts) → instrument (Asyncify + globals, instrument.ts)
//   → frames (stack decoder tables, frames.ts) → stamp (module id, section.ts)
//
// Node-only (it reads files and runs the compiler); the result runs on any host.
import { ABI_VERSION, type ProgramMetadata } from "../host/abi.ts";
import { compileProgram, type BuildMode } from "./compile.ts";
import { instrument, type AsyncifyScope } from "./instrument.ts";
import { appendCustomSection, stampMetadata } from "./section.ts";
import { FRAMES_SECTION, FRAMES_VERSION, type FrameTable } from "../host/frames.ts";

export { formatDiagnostic, type BuildMode } from "./compile.ts";

export interface BuildOptions {
  /** "release" (optimized, default) or "debug" (unoptimized, with names). */
  mode?: BuildMode;
  /** Bytes of AssemblyScript shadow stack (references held in locals); default 32768. */
  shadowStackSize?: number;
  /** Fuel checks at every function entry and loop header, so any loop can be time-sliced and frozen. */
  preempt?: boolean;
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
  const classNames = new Map<number, string>();
  const compiled = await compileProgram(entry, { mode, shadowStackSize: options.shadowStackSize, preempt, classNames });
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
