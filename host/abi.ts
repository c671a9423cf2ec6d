// The contract between a Stasis module and the host: names, numbers and layouts that
// assembly/host.ts, assembly/scheduler.ts and build/ produce. Keep them in step.
import type { GlobalType } from "./image/format.ts";

/** Bump together with STASIS_ABI in assembly/host.ts. */
export const ABI_VERSION = 1;

/** Name of the custom section holding ProgramMetadata as JSON (build/section.ts). */
export const METADATA_SECTION = "stasis";

/** Prefix of the exports exposing mutable globals (build/instrument.ts). */
export const GLOBAL_EXPORT_PREFIX = "__stasis_g";

export interface ExportedGlobal {
  /** Exported as `__stasis_g<index>`. */
  index: number;
  type: GlobalType;
}

export interface ProgramMetadata {
  abi: number;
  mode: "release" | "debug";
  /** Built with --preempt: loops can be time-sliced with rt.step({ fuel }). */
  preempt: boolean;
  /** Every mutable global, exported for freezing. */
  globals: ExportedGlobal[];
  /** SHA-256 (hex) of the module bytes before the metadata section. */
  moduleId: string;
}

/** Results of __stasis_step (assembly/scheduler.ts). */
export const STEP_DONE = 0;
export const STEP_BUDGET = 1;
export const STEP_BLOCKED = 2;
export const STEP_WAITING = 3;

export type TaskletStatus = "suspended" | "running" | "normal" | "dead";
/** Indexed by assembly/tasklet.ts TaskletStatus. */
export const TASKLET_STATUS: readonly TaskletStatus[] = ["suspended", "running", "normal", "dead"];

export type WaitReason = "none" | "send" | "receive" | "join" | "switch" | "host";
/** Indexed by assembly/tasklet.ts WaitReason. */
export const WAIT_REASON: readonly WaitReason[] = ["none", "send", "receive", "join", "switch", "host"];

/** Bytes per record of __stasis_take_calls (assembly/hostcall.ts). */
export const CALL_RECORD_BYTES = 16;

/** Bytes per record of __stasis_tasklets (assembly/host.ts). */
export const TASKLET_RECORD_BYTES = 12;

/** The functions and objects every Stasis module exports. */
export interface StasisExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  __stasis_abi(): number;
  __stasis_init(stackLimit: number): void;
  __stasis_start(): void;
  __stasis_step(budget: number): number;
  __stasis_current(): number;
  __stasis_reset(): number;
  __stasis_stack_limit(): number;
  __stasis_heap_base(): number;
  __stasis_recover(): number;
  __stasis_live_count(): number;
  __stasis_tasklets(): number;
  __stasis_free(block: number): void;
  __stasis_done(): number;
  __stasis_next_nonzero(from: number, end: number, chunkLog2: number): number;
  __stasis_next_zero(from: number, end: number, chunkLog2: number): number;
  __stasis_host_frames: WebAssembly.Global;
  __stasis_take_calls(all: number): number;
  __stasis_reannounce_calls(): void;
  __stasis_pending_calls(): number;
  __stasis_complete(id: number, ok: number, bytes: number): number;
  /** The dead Asyncify scratch region [start, end) between steps; absent in older modules (host/scratch.ts). */
  __stasis_scratch_start?(): number;
  __stasis_scratch_end?(): number;
  /** Only in modules built after preemption existed; needed only when metadata.preempt. */
  __stasis_set_fuel?(units: number): void;
  __new(size: number, id: number): number;
  __pin(ptr: number): number;
  __unpin(ptr: number): void;
}

export const REQUIRED_EXPORTS: readonly (keyof StasisExports)[] = [
  "memory", "_initialize", "__stasis_abi", "__stasis_init", "__stasis_start", "__stasis_step", "__stasis_current",
  "__stasis_reset", "__stasis_stack_limit", "__stasis_heap_base", "__stasis_recover", "__stasis_live_count",
  "__stasis_tasklets", "__stasis_free", "__stasis_done", "__stasis_next_nonzero", "__stasis_next_zero",
  "__stasis_host_frames", "__stasis_take_calls", "__stasis_reannounce_calls", "__stasis_pending_calls", "__stasis_complete",
];
