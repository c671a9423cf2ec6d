// Failure isolation: a throw or trap inside one tasklet stops that tasklet alone.
//
// AssemblyScript has no try/catch: a `throw` is a call to the host's abort(), which
// throws a ProgramAbort through every wasm frame back to Runtime.step(); a trap does the
// same with a WebAssembly.RuntimeError (or a RangeError when the call stack overflows).
// Either way the tasklet's frames are gone. What is left is the state in linear memory,
// and the question is whether it is consistent. Stasis resumes only when it can tell:
//
//   recoverable (the tasklet is stopped: Dead, failed, error; joiners woken; the rest runs on)
//     abort()  from the program or the standard library (a throw, a failed assert)  ABORT
//     abort()  from a Stasis API check (join itself, send on a closed channel)       MISUSE
//              — those checks run before anything is changed
//     trap     whose innermost wasm frame is the program's or the standard
//              library's (unreachable, divide by zero, out-of-bounds access, stack overflow)
//   poisons the instance, as before (classified by failure.ts)
//     any failure in main: it ends the program (ABORT/MISUSE/TRAP, as without isolation)
//     abort()  from the allocator or collector (~lib/rt: out of memory, heap corruption),
//              `stasis internal` errors, asc's shadow-stack overflow (its message is unreadable)
//     trap     inside the allocator, collector, Stasis's runtime or Asyncify's helpers
//              (by function index, frames.ts `runtimeFunctions`), during a rewind, or with
//              no wasm frame in the error's stack to tell where it was
//     anything thrown by a host function (a print callback, …): not the tasklet's fault
//
// Why the innermost frame is enough: the allocator, the collector and Stasis's switch
// never call program code (the only call out is `enter` running a task), so if the
// innermost frame is program code, no runtime update was under way. One limit: the
// optimizer may inline small runtime helpers (the collector's write barrier) into program
// code; a trap inside one of those shows a program frame. Such a trap means memory was
// already corrupt (by a raw store<T> to a wrong address), which no runtime can undo.
//
// Before this runs, failure.ts has reset the stacks (__stasis_reset) and found that the
// trap did not hit an unwind (that is STACK_LIMIT). Then the error text is allocated
// in the module (the heap is consistent, by the rules above) and __stasis_fail stops
// the running tasklet; it refuses main and a trap during a rewind.
import type { StasisExports } from "./abi.ts";
import { describe } from "./dispatch.ts";
import type { FrameTable } from "./frames.ts";
import { ProgramAbort } from "./imports.ts";
import { newString } from "./instance.ts";

export interface IsolationContext {
  frames: FrameTable | null;
  /** Allocates a string in the module (the loader's __newString). */
  newString: (text: string) => number;
  fail: (message: number) => number;
}

/** A tasklet stopped alone (Runtime option onTaskletFailure; also in rt.tasklets()). */
export interface TaskletFailure {
  taskletId: number;
  code: "ABORT" | "MISUSE" | "TRAP";
  /** The message and, for a throw, `file:line:column`. */
  message: string;
}

export function isolationContext(stasis: StasisExports, frames: FrameTable | null): IsolationContext {
  const fail = (stasis as unknown as { __stasis_fail?: (message: number) => number }).__stasis_fail;
  return {
    frames,
    newString: (text) => newString(stasis, text),
    fail: fail ? (message) => fail(message) : () => 0,
  };
}

/** Stops the running tasklet if the failure is recoverable (see the header); null when it is not. */
export function isolateFailure(error: unknown, context: IsolationContext): TaskletFailure | null {
  const judged = judge(error, context.frames);
  if (!judged) return null;
  try {
    const id = context.fail(context.newString(judged.message));
    return id ? { taskletId: id, ...judged } : null;
  } catch {
    return null;
  }
}

function judge(error: unknown, frames: FrameTable | null): Omit<TaskletFailure, "taskletId"> | null {
  if (error instanceof ProgramAbort) {
    if (!error.file || error.message === null || error.file.startsWith("~lib/rt/") || error.message.startsWith("stasis internal")) return null;
    const code = error.file.startsWith("~lib/stasis/assembly/") ? "MISUSE" : "ABORT";
    return { code, message: `${error.message} (${error.file}:${error.line}:${error.column})` };
  }
  const isTrap = error instanceof RangeError || (typeof WebAssembly.RuntimeError === "function" && error instanceof WebAssembly.RuntimeError);
  if (!isTrap || !frames) return null;
  const index = innermostWasmFunction(error);
  if (index === null || frames.runtimeFunctions.some(([first, last]) => index >= first && index <= last)) return null;
  const hint = error instanceof RangeError ? " (the wasm call stack overflowed: recursion too deep)" : "";
  return { code: "TRAP", message: `trapped: ${describe(error)}${hint}` };
}

/** The function index of the innermost wasm frame in an engine's stack text (V8 and SpiderMonkey print `wasm-function[N]`). */
function innermostWasmFunction(error: Error): number | null {
  let stack: unknown;
  try {
    stack = error.stack;
  } catch {
    return null;
  }
  if (typeof stack !== "string") return null;
  const match = /wasm-function\[(\d+)\]/.exec(stack);
  return match ? Number(match[1]) : null;
}
