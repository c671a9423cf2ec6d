// The Stasis host API, runtime-neutral (Node, Deno, browsers): nothing here imports
// `node:` modules; those live in host/node/.
export { Program } from "./program.ts";
export { Runtime, DEFAULT_STACK_LIMIT, type RuntimeOptions, type StepOptions, type StepStatus, type TaskletInfo } from "./runtime.ts";
export { StasisError, type StasisErrorCode } from "./errors.ts";
export type { ProgramMetadata, TaskletStatus, WaitReason } from "./abi.ts";
