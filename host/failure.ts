// Classifying a failure that came out of the module, without trusting the module.
//
// When a call into wasm throws, the instance may be in any state: a trap mid-way through
// the scheduler, an abort inside the allocator, an Asyncify unwind that overflowed its
// buffer. To name the tasklet and to recover from STACK_LIMIT, the host must call back
// into that same instance (__stasis_reset, __stasis_current, __stasis_recover) — and any
// of those calls may trap again. Every call back is guarded: if one fails, the instance is
// given up (poisoned) with the original error, never a second raw exception.
//
//   recoverable in a tasklet other than main (isolate.ts) → that tasklet stops alone
//   ProgramAbort from abort()        → MISUSE (the Stasis API's own checks) or ABORT
//   a trap during an unwind          → STACK_LIMIT (recoverable: that tasklet is stopped)
//   any other trap / exception       → TRAP
//   a call back that fails           → TRAP (the instance cannot even be inspected)
import type { StasisExports } from "./abi.ts";
import { describe } from "./dispatch.ts";
import { StasisError } from "./errors.ts";
import { ProgramAbort } from "./imports.ts";
import { isolateFailure, type IsolationContext, type TaskletFailure } from "./isolate.ts";

export interface Classified {
  error: StasisError;
  /** The instance must not run again. */
  fatal: boolean;
  /** Set when the failure stopped one tasklet only (isolate.ts); the instance goes on. */
  isolated?: TaskletFailure;
}

export function classifyFailure(error: unknown, stasis: StasisExports, isolation?: IsolationContext): Classified {
  if (error instanceof StasisError) return { error, fatal: false };
  let wasUnwinding: number;
  let taskletId: number;
  try {
    // First, with no frame of its own: empty the shadow stack the failed call left
    // behind (anything else called first could overflow it).
    wasUnwinding = stasis.__stasis_reset();
    taskletId = stasis.__stasis_current();
  } catch (second) {
    return unrecoverable(error, second);
  }
  const who = taskletId ? `tasklet ${taskletId}` : "the runtime";
  if (isolation && taskletId && !wasUnwinding) {
    const isolated = isolateFailure(error, isolation);
    if (isolated) return { error: new StasisError(isolated.code, `tasklet ${isolated.taskletId} failed: ${isolated.message}`, { taskletId: isolated.taskletId }), fatal: false, isolated };
  }
  if (error instanceof ProgramAbort) {
    const where = error.file ? ` (${error.file}:${error.line}:${error.column})` : "";
    const isMisuse = error.file?.startsWith("~lib/stasis/assembly/") && !error.message?.startsWith("stasis internal");
    const message = error.message ?? describeUnreadableAbort(error);
    return { error: new StasisError(isMisuse ? "MISUSE" : "ABORT", `${who} aborted: ${message}${where}`, { taskletId }), fatal: true };
  }
  if (wasUnwinding) {
    let stopped: number;
    let limit: number;
    try {
      stopped = stasis.__stasis_recover();
      limit = stasis.__stasis_stack_limit();
    } catch (second) {
      return unrecoverable(error, second);
    }
    return {
      error: new StasisError(
        "STACK_LIMIT",
        `tasklet ${stopped} needed more than the stack limit of ${limit} bytes to suspend; it was stopped and ` +
          "its joiners were woken, the other tasklets can go on. Raise `stackLimit` in Runtime.start options, or recurse less deeply before switching.",
        { taskletId: stopped, cause: error },
      ),
      fatal: false,
    };
  }
  const hint = error instanceof RangeError ? " (the wasm call stack overflowed: recursion too deep)" : "";
  return { error: new StasisError("TRAP", `${who} trapped: ${describe(error)}${hint}`, { taskletId: taskletId || undefined, cause: error }), fatal: true };
}

function unrecoverable(first: unknown, second: unknown): Classified {
  const what = first instanceof ProgramAbort ? `aborted: ${first.message ?? "(no message)"}` : `trapped: ${describe(first)}`;
  return {
    error: new StasisError("TRAP", `the program ${what}, and its state is too damaged to inspect (${describe(second)})`, { cause: first }),
    fatal: true,
  };
}

/** asc's shadow-stack overflow check aborts with pointers to strings it never emits. */
function describeUnreadableAbort(error: ProgramAbort): string {
  if (error.line === 1 && error.column === 1) return "stack overflow (the AssemblyScript shadow stack is full: recursion too deep; build with a larger shadowStackSize)";
  return "abort with an unreadable message";
}
