// The JS-driven Asyncify switch, for comparison (part of `npm run bench`): every switch
// unwinds the running fiber's whole stack out to JavaScript and rewinds the next one
// from JavaScript, as GoogleChromeLabs/asyncify and Emscripten fibers do.
//
// bench/programs/jsdriven.ts is the switch benchmark's recursion with a host import
// `bench.yield` where Stasis calls schedule(). It is built with plain asc -O3, then
// Asyncify with only that import allowed to unwind, then optimized -O3, like our own
// pipeline. Each fiber owns an Asyncify buffer and a shadow-stack region (as an
// Emscripten fiber owns its C stack); the host swaps `__stack_pointer` with the fiber.
// One switch: set the fiber's stack pointer, asyncify_start_rewind, call run() (which
// rewinds to the import; the import stops the rewind and returns; the loop calls it
// again; it starts the unwind), asyncify_stop_unwind, save the stack pointer.
// Limit: the collector does not see frames of a fiber that is not running; nothing
// allocates after the fibers' first entry, so the benchmark is unaffected.
import { join } from "node:path";
import binaryen from "binaryen";
import { FEATURES, withLevels, withPassArguments } from "../build/instrument.ts";
import { packageRoot } from "../build/paths.ts";
import { compilePlain, plainImports } from "./plain.ts";

const STACK_POINTER = "~lib/memory/__stack_pointer";
const REWINDING = 2; // asyncify_get_state()

interface FiberExports {
  memory: WebAssembly.Memory;
  stack_pointer: WebAssembly.Global;
  configure(depth: number): void;
  alloc(bytes: number): number;
  run(): void;
  asyncify_start_unwind(data: number): void;
  asyncify_stop_unwind(): void;
  asyncify_start_rewind(data: number): void;
  asyncify_stop_rewind(): void;
  asyncify_get_state(): number;
}

export async function buildJsDriven(): Promise<Uint8Array<ArrayBuffer>> {
  const compiled = await compilePlain(join(packageRoot(), "bench", "programs", "jsdriven.ts"), ["--debug"]); // --debug keeps global names
  const module = binaryen.readBinaryWithFeatures(compiled, FEATURES);
  try {
    module.addGlobalExport(STACK_POINTER, "stack_pointer");
    withPassArguments({ "asyncify-imports": "bench.yield" }, () => module.runPasses(["asyncify"]));
    return withLevels(3, 0, false, () => {
      module.optimize();
      return new Uint8Array(module.emitBinary());
    });
  } finally {
    module.dispose();
  }
}

interface Fiber {
  data: number;
  sp: number;
}

/** `count` fibers, each `depth` frames deep and parked; returns switches(n), which resumes n fibers round-robin. */
export async function jsDrivenFibers(wasm: Uint8Array<ArrayBuffer>, count: number, depth: number): Promise<(n: number) => void> {
  let current: Fiber | null = null;
  const bench = { yield: () => onYield() };
  const { instance } = await WebAssembly.instantiate(wasm, { ...plainImports, bench });
  const exports = instance.exports as unknown as FiberExports;
  const onYield = () => {
    if (exports.asyncify_get_state() === REWINDING) exports.asyncify_stop_rewind();
    else exports.asyncify_start_unwind(current!.data);
  };
  const sp = exports.stack_pointer;
  const enter = (fiber: Fiber, rewind: boolean) => {
    current = fiber;
    sp.value = fiber.sp;
    if (rewind) exports.asyncify_start_rewind(fiber.data);
    exports.run();
    exports.asyncify_stop_unwind();
    fiber.sp = sp.value as number;
  };
  exports.configure(depth);
  const dataBytes = 256 + depth * 64;
  const stackBytes = 1024 + depth * 64;
  const fibers: Fiber[] = [];
  for (let i = 0; i < count; i++) {
    const data = exports.alloc(dataBytes);
    new Int32Array(exports.memory.buffer, data, 2).set([data + 8, data + dataBytes]); // Asyncify's { next, end }
    const fiber = { data, sp: exports.alloc(stackBytes) + stackBytes };
    enter(fiber, false);
    fibers.push(fiber);
  }
  let k = 0;
  return (n: number) => {
    for (let i = 0; i < n; i++) {
      enter(fibers[k], true);
      if (++k === count) k = 0;
    }
  };
}
