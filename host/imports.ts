// The host functions a Stasis module imports (what AssemblyScript's standard library
// expects under "env"), wired to the runtime's options.
//
// The whole `console` of AssemblyScript's standard library reaches `print(line, level)`:
// log/debug/info/warn/error by their level, a failed assert as an "error" line,
// time/timeLog/timeEnd as "label: 1.234ms" lines (timers are host state: they do not
// travel in images, and a timer ended after a thaw prints a "warn" line instead).
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

/** The level of a printed line: "log" for console.log and trace(), else the console method's name. */
export type PrintLevel = "log" | "debug" | "info" | "warn" | "error";

export interface HostIo {
  print(line: string, level: PrintLevel): void;
  seed: number;
}

/**
 * The owner-specific half of an instance's imports, mutable: the imports are bound once,
 * at instantiation, but a pooled instance (host/pool.ts) serves one Runtime after another,
 * so they read print, seed and the console timers from here on every call, and
 * rebind() hands all of it to the next owner (nothing of the previous one stays).
 */
export class ImportBinding implements HostIo {
  /** console.time's timers: host state, so they do not survive a freeze (timeEnd then warns). */
  readonly timers = new Map<string, number>();
  constructor(
    public print: (line: string, level: PrintLevel) => void,
    public seed: number,
  ) {}

  rebind(print: (line: string, level: PrintLevel) => void, seed: number): void {
    this.print = print;
    this.seed = seed;
    this.timers.clear();
  }
}

/** The default printer: the host's own console, method by level. */
export function consolePrint(line: string, level: PrintLevel): void {
  console[level](line);
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

export function envImports(module: ModuleAccess, io: HostIo & { timers?: Map<string, number> }): Record<string, (...args: never[]) => unknown> {
  const str = (ptr: number) => readString(module.memory(), ptr);
  /** console.time's timers: the binding's (ImportBinding), else this instance's own. */
  const timers = io.timers ?? new Map<string, number>();
  const elapsed = (name: string, method: string): [string, PrintLevel] => {
    const start = timers.get(name);
    if (start === undefined) return [`Timer '${name}' does not exist (console.${method}; timers do not survive a freeze)`, "warn"];
    return [`${name}: ${(performance.now() - start).toFixed(3)}ms`, "log"];
  };
  return {
    abort(message: number, file: number, line: number, column: number): never {
      // File names are static strings. One that is not points at garbage (asc's shadow
      // stack check does that); then the message pointer cannot be trusted either.
      if (file >= module.heapBase()) throw new ProgramAbort(null, null, line, column);
      // A bare assert(condition) passes no message.
      throw new ProgramAbort(message === 0 ? "assertion failed" : str(message), str(file), line, column);
    },
    "console.log"(message: number): void {
      callback(module, () => io.print(str(message) ?? "", "log"));
    },
    "console.debug"(message: number): void {
      callback(module, () => io.print(str(message) ?? "", "debug"));
    },
    "console.info"(message: number): void {
      callback(module, () => io.print(str(message) ?? "", "info"));
    },
    "console.warn"(message: number): void {
      callback(module, () => io.print(str(message) ?? "", "warn"));
    },
    "console.error"(message: number): void {
      callback(module, () => io.print(str(message) ?? "", "error"));
    },
    "console.assert"(condition: number, message: number): void {
      if (condition) return;
      const text = str(message) ?? "";
      callback(module, () => io.print(text === "" ? "Assertion failed" : `Assertion failed: ${text}`, "error"));
    },
    "console.time"(label: number): void {
      const name = str(label) ?? "default";
      if (timers.has(name)) callback(module, () => io.print(`Timer '${name}' already exists`, "warn"));
      else timers.set(name, performance.now());
    },
    "console.timeLog"(label: number): void {
      const name = str(label) ?? "default";
      callback(module, () => io.print(...elapsed(name, "timeLog")));
    },
    "console.timeEnd"(label: number): void {
      const name = str(label) ?? "default";
      callback(module, () => io.print(...elapsed(name, "timeEnd")));
      timers.delete(name);
    },
    trace(message: number, count: number, a0: number, a1: number, a2: number, a3: number, a4: number): void {
      const values = [a0, a1, a2, a3, a4].slice(0, Math.max(0, Math.min(count, 5)));
      callback(module, () => io.print(`trace: ${str(message) ?? ""}${values.length ? " " + values.join(", ") : ""}`, "log"));
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
