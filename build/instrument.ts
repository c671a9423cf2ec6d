// Step 2 of the build: instrument the compiled module with Asyncify, expose its
// mutable globals, and optimize.
//
//  - Asyncify instruments exactly the functions that can reach a switch: the only
//    state-changing calls are the in-module asyncify.* imports used by
//    assembly/switch.ts; all host imports are declared as never switching. Indirect
//    calls are still assumed to switch, because a tasklet may yield inside a function
//    it calls through a function reference.
//  - Every mutable global (AssemblyScript's runtime, the scheduler's, Asyncify's own
//    state) is exported as `__stasis_g<index>`, so the host can read and write all of
//    them; "Freeze and thaw" saves them.
//  - Right after Asyncify, the frame layouts it chose are read for the stack decoder
//    (frames.ts), with the layout constants of assembly/layout.ts.
//  - Binaryen's pass arguments and optimize levels are process-global: each is restored
//    after use.
import binaryen from "binaryen";
import { GLOBAL_EXPORT_PREFIX, type ExportedGlobal } from "../host/abi.ts";
import type { GlobalType } from "../host/image/format.ts";
import { StasisError } from "../host/errors.ts";
import { NEVER_INLINE, type BuildMode } from "./compile.ts";
import { collectFrames, ENTER_FUNCTION, takeLayout, type FrameCollection } from "./frames.ts";
import type { LayoutField } from "../host/frames.ts";

export const FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.SignExt |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt;

export function withPassArguments<T>(args: Record<string, string>, run: () => T): T {
  try {
    for (const [key, value] of Object.entries(args)) binaryen.setPassArgument(key, value);
    return run();
  } finally {
    for (const key of Object.keys(args)) binaryen.setPassArgument(key, null);
  }
}

export function withLevels<T>(optimize: number, shrink: number, debugInfo: boolean, run: () => T): T {
  const previous = [binaryen.getOptimizeLevel(), binaryen.getShrinkLevel(), binaryen.getDebugInfo()] as const;
  binaryen.setOptimizeLevel(optimize);
  binaryen.setShrinkLevel(shrink);
  binaryen.setDebugInfo(debugInfo);
  try {
    return run();
  } finally {
    binaryen.setOptimizeLevel(previous[0]);
    binaryen.setShrinkLevel(previous[1]);
    binaryen.setDebugInfo(previous[2]);
  }
}

export interface Instrumented {
  wasm: Uint8Array;
  /** The exported mutable globals: `__stasis_g<index>` and its type. */
  globals: ExportedGlobal[];
  /** Size of the compiled module as emitted without names, before instrumentation. */
  sizeBefore: number;
  /** Asyncify frame layouts (frames.ts) and field offsets, for the `stasis.frames` section. */
  frames: FrameCollection;
  layout: Record<LayoutField, number>;
  /** Exported indexes of the scheduler's registry heads (live and failed tasklets). */
  liveHead: number;
  failedHead: number;
  /** Final function indexes of the runtime (host/frames.ts `runtimeFunctions`). */
  runtimeFunctions: [number, number][];
}

const LIVE_HEAD = "~lib/stasis/assembly/scheduler/liveHead";
const FAILED_HEAD = "~lib/stasis/assembly/scheduler/failedHead";

/**
 * `narrow` (the default) lets only the in-module switch unwind; `unrestricted` is plain
 * Asyncify as most tools run it (every import and indirect call may unwind), kept to
 * measure what narrowing saves.
 */
export type AsyncifyScope = "narrow" | "unrestricted";

export function instrument(compiled: Uint8Array, mode: BuildMode, scope: AsyncifyScope = "narrow"): Instrumented {
  const module = binaryen.readBinaryWithFeatures(compiled, FEATURES);
  try {
    checkSwitchFunctions(module);
    const layout = takeLayout(module);
    const debug = mode === "debug";
    const sizeBefore = withLevels(0, 0, debug, () => module.emitBinary().length);
    withPassArguments(scope === "narrow" ? { "asyncify-ignore-imports": "*" } : {}, () => module.runPasses(["asyncify"]));
    const frames = collectFrames(module);
    let globals: (ExportedGlobal & { name: string })[] = [];
    let liveHead = -1;
    let failedHead = -1;
    let runtimeFunctions: [number, number][] = [];
    const wasm = withLevels(debug ? 0 : 3, 0, debug, () => {
      if (!debug) module.optimize();
      globals = exportMutableGlobals(module);
      liveHead = globals.find((g) => g.name === LIVE_HEAD)?.index ?? -1;
      failedHead = globals.find((g) => g.name === FAILED_HEAD)?.index ?? -1;
      runtimeFunctions = runtimeFunctionRanges(module);
      if (!module.validate()) throw new StasisError("COMPILE_ERROR", "stasis internal: the instrumented module does not validate");
      return module.emitBinary();
    });
    if (liveHead < 0 || failedHead < 0) throw new StasisError("COMPILE_ERROR", `stasis internal: ${LIVE_HEAD} or ${FAILED_HEAD} is missing from the compiled module`);
    return { wasm, sizeBefore, globals: globals.map(({ index, type }) => ({ index, type })), frames, layout, liveHead, failedHead, runtimeFunctions };
  } finally {
    module.dispose();
  }
}

/**
 * The switch is only safe while its functions stayed out-of-line (assembly/switch.ts).
 * `suspend` and `schedule` exist only in programs that can switch: they are the only
 * callers of asyncify.start_unwind, so the import without either function means one was
 * inlined (a program may use only one of them).
 */
function checkSwitchFunctions(module: binaryen.Module): void {
  let importsStartUnwind = false;
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    if (info.module === "asyncify" && info.base === "start_unwind") importsStartUnwind = true;
  }
  const topMost = NEVER_INLINE.filter((name) => name.endsWith("/suspend") || name.endsWith("/schedule"));
  const anyTopMost = topMost.some((name) => module.getFunction(name));
  for (const name of NEVER_INLINE) {
    const optional = topMost.includes(name) && (anyTopMost || !importsStartUnwind);
    if (!optional && !module.getFunction(name)) {
      throw new StasisError("COMPILE_ERROR", `stasis internal: ${name} is missing from the compiled module (inlined or renamed); the switch would be unsafe`);
    }
  }
}

const GLOBAL_TYPE_NAMES = new Map<number, GlobalType>([
  [binaryen.i32, "i32"],
  [binaryen.i64, "i64"],
  [binaryen.f32, "f32"],
  [binaryen.f64, "f64"],
]);

function exportMutableGlobals(module: binaryen.Module): (ExportedGlobal & { name: string })[] {
  const exported: (ExportedGlobal & { name: string })[] = [];
  const count = module.getNumGlobals();
  for (let i = 0; i < count; i++) {
    const info = binaryen.getGlobalInfo(module.getGlobalByIndex(i));
    if (!info.mutable || info.module) continue;
    const type = GLOBAL_TYPE_NAMES.get(info.type);
    if (!type) throw new StasisError("COMPILE_ERROR", `the program has a mutable global ${info.name} of a type the host cannot save (only i32, i64, f32, f64); avoid v128 and reference-typed globals`);
    module.addGlobalExport(info.name, GLOBAL_EXPORT_PREFIX + i);
    exported.push({ index: i, type, name: info.name });
  }
  return exported;
}

/**
 * The runtime's functions by final index (imports first, as the binary numbers them): the
 * allocator and collector (~lib/rt), Stasis (~lib/stasis/assembly) and Asyncify's
 * helpers. Not `enter` nor the compiler's `@virtual`/`@override` dispatchers: the
 * optimizer inlines tasklets' run() methods into them.
 */
function runtimeFunctionRanges(module: binaryen.Module): [number, number][] {
  const imported: string[] = [];
  const defined: string[] = [];
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    (info.module ? imported : defined).push(info.name);
  }
  const isRuntime = (name: string) =>
    (/^(export:)?~lib\/(rt|stasis\/assembly)\//.test(name) || name.startsWith("asyncify_") || name.startsWith("start:") || name === "~start") &&
    name !== ENTER_FUNCTION && !/@(virtual|override)$/.test(name);
  const ranges: [number, number][] = [];
  [...imported, ...defined].forEach((name, index) => {
    if (!isRuntime(name)) return;
    const last = ranges[ranges.length - 1];
    if (last && last[1] === index - 1) last[1] = index;
    else ranges.push([index, index]);
  });
  return ranges;
}
