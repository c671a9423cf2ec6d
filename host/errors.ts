// StasisError: the one error class of Stasis. Every failure a user can meet carries a
// stable `code` (switch on it) and a message that says what happened and what to do.
//
// Who is at fault decides the code:
//   the program's source      COMPILE_ERROR
//   the program at run time   TRAP, ABORT, MISUSE (a tasklet broke the API contract),
//                             STACK_LIMIT (a tasklet outgrew its stack), DEADLOCK
//   the caller of the host    BAD_MODULE, BUSY, POISONED, BAD_OPTION, RELEASED (the runtime
//                             was given back with rt.release())
//   an image handed to thaw   BAD_MAGIC, UNSUPPORTED_VERSION, MODULE_MISMATCH, TRUNCATED,
//                             CORRUPT, LIMIT (nothing is allocated before the check),
//                             NOT_FROZEN (no image where one was expected),
//                             MISSING_HANDLER (it waits on host calls nobody can answer),
//                             UNSIGNED / BAD_SIGNATURE (a key was given: no or a wrong HMAC),
//                             BASE_MISMATCH (a delta image without its base, or with another)
//   the machine               IO_ERROR (a file could not be read or written: the path and why),
//                             LOCKED (another writer checkpoints to the same file),
//                             MISSING_TOOLCHAIN (building without assemblyscript/binaryen)
//   trust                     UNTRUSTED (the CLI will not run a module that came inside an image
//                             unless told to)
//   the fleet (host/node/fleet) FLEET_DB (database unreachable or refused), FLEET_LOCKED
//                             (embedded store open in another process), FLEET_NOT_FOUND,
//                             FLEET_CONFLICT (call not pending / already answered),
//                             STEP_TIMEOUT (a step ran past its wall-clock limit)
// TRAP, ABORT and MISUSE leave the instance unusable (AssemblyScript cannot unwind an
// error) when they happen in main or inside the runtime; in another tasklet's program
// code they stop that tasklet alone and are not thrown (host/isolate.ts). STACK_LIMIT
// stops one tasklet and the runtime goes on; DEADLOCK leaves it as is.

export type StasisErrorCode =
  | "COMPILE_ERROR"
  | "BAD_MODULE"
  | "BAD_OPTION"
  | "TRAP"
  | "ABORT"
  | "MISUSE"
  | "STACK_LIMIT"
  | "DEADLOCK"
  | "BUSY"
  | "POISONED"
  | "RELEASED"
  | "BAD_MAGIC"
  | "UNSUPPORTED_VERSION"
  | "MODULE_MISMATCH"
  | "TRUNCATED"
  | "CORRUPT"
  | "LIMIT"
  | "NOT_FROZEN"
  | "MISSING_HANDLER"
  | "IO_ERROR"
  | "LOCKED"
  | "UNTRUSTED"
  | "UNSIGNED"
  | "BAD_SIGNATURE"
  | "MISSING_TOOLCHAIN"
  | "FLEET_DB"
  | "FLEET_LOCKED"
  | "FLEET_NOT_FOUND"
  | "FLEET_CONFLICT"
  | "STEP_TIMEOUT"
  | "BASE_MISMATCH";

export interface StasisErrorDetails {
  /** The tasklet the error happened in, when there is one. */
  taskletId?: number;
  cause?: unknown;
}

export class StasisError extends Error {
  readonly code: StasisErrorCode;
  readonly taskletId: number | undefined;

  constructor(code: StasisErrorCode, message: string, details: StasisErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "StasisError";
    this.code = code;
    this.taskletId = details.taskletId;
  }
}
