// The Stasis host API, runtime-neutral (Node, Deno, browsers): nothing here imports
// `node:` modules; those live in host/node/.
export { Program, type ProgramOptions, type ProgramSource } from "./program.ts";
export {
  Runtime, DEFAULT_STACK_LIMIT, type Completion, type HostOptions, type PendingCall, type RestoreOptions, type RuntimeOptions, type SnapshotOptions,
  type StepOptions, type StepStatus, type TaskletInfo,
} from "./runtime.ts";
export type { PrintLevel } from "./imports.ts";
export { DEFER, type HostCall, type HostHandler, type HostReply } from "./hostcalls.ts";
export { compressImage, decodeImage, encodeImage, readHeader, verifyImage, type ImageContents, type ImageHeader, type ImageLimits } from "./image/index.ts";
export { isDeltaImage, mergeImages } from "./image/delta.ts";
export { importImageKey, isImageSigned, signImage, verifyImageSignature, type ImageKey } from "./image/auth.ts";
export { StasisError, type StasisErrorCode } from "./errors.ts";
export type { ProgramMetadata, TaskletStatus, WaitReason } from "./abi.ts";
export type { TaskletFailure } from "./isolate.ts";
export type { StackFrame, TaskletStack } from "./stacks.ts";
