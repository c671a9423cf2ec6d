// The host functions a Stasis module imports (what AssemblyScript's standard library
// expects under "env"), wired to the runtime's options.
//
// abort() must not return: AssemblyScript follows it with `unreachable`. It throws a
// ProgramAbort, which unwinds the whole wasm stack back to Runtime.step(), where it
// becomes a StasisError naming the tasklet.
import { readString } from "./memory.ts";

export class ProgramAbort {
  constructor(
    readonly message: string | null,
    readonly file: string | null,
    readonly line: number,
    readonly column: number,
  ) {}
}

export interface HostIo {
  print(line: string): void;
  seed: number;
}

export interface ModuleAccess {
  memory(): WebAssembly.Memory;
  /** End of static data: every file name abort() reports lives below it. */
  heapBase(): number;
  /** The program's count of host callbacks on the stack (assembly/host.ts). */
  hostFrames(): WebAssembly.Global;
}

/** Runs a callback that may call back into the program, which must not switch meanwhile. */
function callback<T>(module: ModuleAccess, run: () => T): T {
  const frames = module.hostFrames();
  frames.value = (frames.value as number) + 1;
  try {
    return run();
  } finally {
    frames.value = (frames.value as number) - 1;
  }
}

export function envImports(module: ModuleAccess, io: HostIo): Record<string, (...args: never[]) => unknown> {
  const str = (ptr: number) => readString(module.memory(), ptr);
  return {
    abort(message: number, file: number, line: number, column: number): never {
      // File names are static strings. One that is not points at garbage (asc's shadow
      // stack check does that); then the message pointer cannot be trusted either.
      if (file >= module.heapBase()) throw new ProgramAbort(null, null, line, column);
      // A bare assert(condition) passes no message.
      throw new ProgramAbort(message === 0 ? "assertion failed" : str(message), str(file), line, column);
    },
    "console.log"(message: number): void {
      callback(module, () => io.print(str(message) ?? ""));
    },
    trace(message: number, count: number, a0: number, a1: number, a2: number, a3: number, a4: number): void {
      const values = [a0, a1, a2, a3, a4].slice(0, Math.max(0, Math.min(count, 5)));
      callback(module, () => io.print(`trace: ${str(message) ?? ""}${values.length ? " " + values.join(", ") : ""}`));
    },
    seed(): number {
      return io.seed;
    },
    "Date.now"(): number {
      return Date.now();
    },
  };
}

/**
 * The env imports above, by name: anything else a module imports is unknown to the host.
 * Read off the object itself (building it only creates closures), so the two cannot drift.
 */
export const ENV_IMPORT_NAMES = new Set(Object.keys(envImports({} as ModuleAccess, {} as HostIo)));
