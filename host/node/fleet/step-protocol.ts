// The messages between a fleet worker and its step threads (step-thread.ts), and the
// name of the built-in sleep call the fleet intercepts.
import type { CompletionRow } from "./store.ts";

/** sleep(ms) in a program is this host call; its payload is the absolute deadline (ms since the epoch). */
export const SLEEP = "stasis.sleep";

export type ToThread =
  | {
    type: "load"; moduleId: string; module: Uint8Array | null; image: Uint8Array | null; seed: number; handlers: string[]; key: Uint8Array | string;
    /** Delta images after `image` (its chain), and how many the chain may hold before a full image. */
    deltas: Uint8Array[]; maxDeltas: number;
  }
  | { type: "step"; completions: CompletionRow[]; now: number; sliceMs: number; budget: number }
  | { type: "drop" };

export interface ThreadCall {
  callId: number;
  name: string;
  tasklet: number;
  payload: Uint8Array;
}

export type FromThread =
  | { type: "loaded" }
  | { type: "needModule" }
  | { type: "dropped" }
  | { type: "stepped"; status: "done" | "yielded" | "waiting"; image: Uint8Array; delta: boolean; output: string[]; pending: ThreadCall[]; wakeAt: number | null }
  | { type: "error"; code: string; message: string };
