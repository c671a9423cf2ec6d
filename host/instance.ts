// One instance of a Program's module, made without @assemblyscript/loader on the hot path.
//
// A Runtime drives an InstanceSlot: the raw exports (what the runtime calls), the mutable
// import binding (imports.ts ImportBinding: print, seed, console timers) and, for the
// pool (pool.ts), what is known about its memory. Instances are made with the synchronous
// `new WebAssembly.Instance(module, imports)` (see instantiateModule below for why, and
// for the async fallback), and the few loader helpers the runtime uses are written here
// on top of the module's own exports (`__new`, memory): __newArrayBuffer for host-call
// answers, __newString for isolate.ts. The loader did all of that plus demangling every
// export (about 13 µs of a 200 µs thaw here, measured in issue 12); rt.exports still gets
// the loader's demangled object, built on first use only (publicExports).
//
// Contracts: the imports are built once per instance and read their owner from the
// binding on every call, so an instance can serve another Runtime after rebind(); the
// raw exports object is the engine's frozen one, never handed to users directly.
import { demangle } from "@assemblyscript/loader";
import { GLOBAL_EXPORT_PREFIX, type StasisExports } from "./abi.ts";
import { describe } from "./dispatch.ts";
import { StasisError } from "./errors.ts";
import { envImports, ImportBinding, type PrintLevel } from "./imports.ts";
import { readBytes, readString } from "./memory.ts";
import type { Program } from "./program.ts";

/** AssemblyScript's class ids of ArrayBuffer and String (fixed by the compiler). */
const ARRAYBUFFER_ID = 1;
const STRING_ID = 2;

export interface InstanceSlot {
  readonly stasis: StasisExports;
  /** The instance's own exports (functions undemangled, globals as WebAssembly.Global). */
  readonly raw: Record<string, unknown>;
  readonly io: ImportBinding;
  /** The exported mutable globals, in program.metadata.globals order. */
  readonly globals: WebAssembly.Global[];
  /** rt.exports: demangled, with the loader's helpers; built on first use. */
  exported?: Record<string, unknown>;
  /**
   * The chunks (format.ts CHUNK_LOG2) of memory that may be non-zero, as [first, end)
   * ranges in order, or null when unknown (anything could have written since: scan).
   * Kept by Runtime.snapshot when nothing ran after it; read by the pool's reuse.
   */
  nonzero: [number, number][] | null;
}

/** Instantiates `program` with imports bound to (print, seed); checks its exported globals. */
export async function newInstance(program: Program, print: (line: string, level: PrintLevel) => void, seed: number): Promise<InstanceSlot> {
  const io = new ImportBinding(print, seed);
  // The imports need the instance's exports, which exist only after instantiation.
  const late: { stasis?: StasisExports } = {};
  const access = {
    memory: () => late.stasis!.memory,
    heapBase: () => late.stasis!.__stasis_heap_base(),
    hostFrames: () => late.stasis!.__stasis_host_frames,
  };
  const raw = await instantiateModule(program.module, { env: envImports(access, io) });
  checkGlobals(program, raw);
  const stasis = (late.stasis = raw as unknown as StasisExports);
  const globals = program.metadata.globals.map((g) => raw[GLOBAL_EXPORT_PREFIX + g.index] as WebAssembly.Global);
  return { stasis, raw, io, globals, nonzero: null };
}

/** Copies `bytes` into a new ArrayBuffer object in the module's heap (the loader's __newArrayBuffer). */
export function newArrayBuffer(stasis: StasisExports, bytes: Uint8Array): number {
  const ptr = stasis.__new(bytes.length, ARRAYBUFFER_ID) >>> 0;
  new Uint8Array(stasis.memory.buffer, ptr, bytes.length).set(bytes);
  return ptr;
}

/** A new String object in the module's heap (the loader's __newString). */
export function newString(stasis: StasisExports, text: string): number {
  const ptr = stasis.__new(text.length << 1, STRING_ID) >>> 0;
  const chars = new Uint16Array(stasis.memory.buffer, ptr, text.length);
  for (let i = 0; i < text.length; i++) chars[i] = text.charCodeAt(i);
  return ptr;
}

/** What rt.exports shows: the loader's demangled exports and the helpers tests and examples use. */
export function publicExports(slot: InstanceSlot): Record<string, unknown> {
  if (slot.exported) return slot.exported;
  const { stasis } = slot;
  const helpers: Record<string, unknown> = {
    memory: stasis.memory,
    __new: stasis.__new,
    __pin: stasis.__pin,
    __unpin: stasis.__unpin,
    __collect: slot.raw.__collect,
    __newString: (text: string) => newString(stasis, text),
    __newArrayBuffer: (buffer: ArrayBuffer) => newArrayBuffer(stasis, new Uint8Array(buffer)),
    __getString: (ptr: number) => (ptr === 0 ? null : readString(stasis.memory, ptr >>> 0)),
    __getArrayBuffer: (ptr: number) => readBytes(stasis.memory, ptr >>> 0)?.buffer ?? null,
  };
  slot.exported = demangle<Record<string, unknown>>(slot.raw, helpers) as Record<string, unknown>;
  return slot.exported;
}

/**
 * Checks that every global the metadata lists is exported as a mutable global of its
 * type: an embedded module's metadata is as untrusted as the image carrying it.
 */
function checkGlobals(program: Program, exports: Record<string, unknown>): void {
  for (const g of program.metadata.globals) {
    const global = exports[GLOBAL_EXPORT_PREFIX + g.index];
    let fits = global instanceof WebAssembly.Global;
    if (fits) {
      try {
        const value = (global as WebAssembly.Global).value as unknown;
        fits = g.type === "i64" ? typeof value === "bigint" : typeof value === "number";
        (global as WebAssembly.Global).value = value; // throws on an immutable global
      } catch {
        fits = false;
      }
    }
    if (!fits) throw new StasisError("BAD_MODULE", `the module's metadata lists global ${g.index} (${g.type}), which it does not export as a mutable ${g.type}; rebuild it with \`stasis build\``);
  }
}

/**
 * Instantiates the compiled module synchronously where the engine allows it. In Node 20
 * the async WebAssembly.instantiate(module) took 8–30 ms in a process holding dead wasm
 * instances (it waits for a turn of the event loop, where V8 collects them), the
 * synchronous path 0.2 ms: about 7 ms of a 17 ms thaw in that case, 1 ms right after a
 * full GC. An engine that refuses synchronous instantiation on its main thread throws a
 * RangeError, and gets the async path.
 */
async function instantiateModule(module: WebAssembly.Module, imports: WebAssembly.Imports): Promise<Record<string, unknown>> {
  try {
    try {
      return new WebAssembly.Instance(module, imports).exports as Record<string, unknown>;
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      return (await WebAssembly.instantiate(module, imports)).exports as Record<string, unknown>;
    }
  } catch (error) {
    if (error instanceof RangeError) throw new StasisError("LIMIT", `cannot instantiate the program: ${describe(error)} (out of memory?)`, { cause: error });
    throw new StasisError("BAD_MODULE", `cannot instantiate the program: ${describe(error)}; rebuild it with \`stasis build\``, { cause: error });
  }
}
