// FleetStore: what the fleet keeps, and the only way workers and clients touch it.
//
// Two implementations pass one conformance suite (test/fleet-store.test.ts):
// PostgreSQL through `pg` (pg-store.ts) and an embedded PGlite database with images in
// files beside it (embedded-store.ts); both run the same SQL (sql-store.ts).
//
// A computation's life:
//
//   create ─► runnable ─claim─► running ─commit─► runnable | waiting | done
//                 ▲                │  ├─fail (attempts < max)─► runnable
//                 │                │  └─fail (attempts = max)─► failed
//                 └─reap (lease expired)─┘
//   waiting ─► runnable when a completion arrives; claimable once wake_at has passed
//   any ─cancel─► failed
//
// Claim contract: claim() bumps `epoch` and sets owner + lease; every later write of
// that claim (heartbeat, completions read for it, commit, fail) names the epoch and is
// refused — returns false / null and changes nothing — unless the row still has that
// epoch, is `running`, and its lease has not expired by the database's clock. So a
// worker whose lease lapsed never overwrites the work of the one that took over.
// Completions are stored once per (computation, call id) and consumed only by a
// successful commit, in the same transaction that writes the image and the output.

export type ComputationStatus = "runnable" | "running" | "waiting" | "done" | "failed";

export interface ComputationRow {
  id: string;
  moduleId: string;
  status: ComputationStatus;
  /** Failed attempts (trap, abort, timeout) since the last successful commit. */
  attempts: number;
  /** When a sleeping computation becomes claimable (ms since the epoch), or null. */
  wakeAt: number | null;
  owner: string | null;
  /** When the current claim's lease ends (ms since the epoch, database clock). */
  leaseUntil: number | null;
  epoch: number;
  lastError: string | null;
  /** Successful commits so far. */
  steps: number;
  imageBytes: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A host call the computation waits on. */
export interface CallRow {
  callId: number;
  name: string;
  tasklet: number;
  payload: Uint8Array;
  /** Its handler returned DEFER: only fleet.complete() answers it. */
  deferred: boolean;
}

export interface CompletionRow {
  callId: number;
  ok: boolean;
  /** The value (ok) or the error text (not ok), as bytes. */
  value: Uint8Array;
}

export interface Claim {
  id: string;
  moduleId: string;
  epoch: number;
  seed: number;
  /** The latest committed full image; null before the first commit (start the program). */
  image: Uint8Array | null;
  /** Delta images committed after `image`, in order: the state is the chain [image, ...deltas]. */
  deltas: Uint8Array[];
  /** How many deltas the chain may hold before a step writes a full image again (0: always full). */
  maxDeltas: number;
  /** The database's clock at the claim (ms since the epoch). */
  now: number;
  calls: CallRow[];
  /** The completions not yet consumed, as of the claim (read in the claim's statement). */
  completions: CompletionRow[];
}

export interface StepCommit {
  image: Uint8Array;
  /** `image` is a delta taken since the chain's last image: appended to the chain, not replacing it. */
  delta?: boolean;
  /** Lines the program printed in this step. */
  output: string[];
  /** Call ids of the completions the step took in. */
  consumed: number[];
  /** Every call the computation now waits on. */
  pending: Omit<CallRow, "deferred">[];
  /**
   * "running": keep the claim (handlers still in flight); "runnable": give it back;
   * "waiting": nothing to do until wakeAt or a completion; "done": main returned.
   */
  status: "running" | "runnable" | "waiting" | "done";
  wakeAt: number | null;
  leaseMs: number;
}

export interface CommitResult {
  /** False: the claim was fenced off (epoch moved on, lease expired): nothing was written. */
  ok: boolean;
  /** The status the row has now (a "waiting" commit turns "runnable" if a completion is already there). */
  status: ComputationStatus | null;
}

export interface FleetStore {
  /** Where the store lives, for messages ("postgres://host/db", or a directory). */
  readonly location: string;
  putModule(id: string, bytes: Uint8Array): Promise<void>;
  getModule(id: string): Promise<Uint8Array | null>;
  /** The fleet's image key: 32 random bytes made by the first caller, the same for every worker after. */
  imageKey(): Promise<Uint8Array>;
  create(id: string, moduleId: string, seed: number): Promise<void>;
  /** Claims up to `limit` claimable computations for `owner` (FOR UPDATE SKIP LOCKED). */
  claim(owner: string, limit: number, leaseMs: number): Promise<Claim[]>;
  /** Extends the lease; false if the claim was fenced off. */
  heartbeat(id: string, epoch: number, leaseMs: number): Promise<boolean>;
  /** Completions not yet consumed, oldest first (none if the claim was fenced off). */
  completions(id: string, epoch: number): Promise<CompletionRow[]>;
  commit(id: string, epoch: number, step: StepCommit): Promise<CommitResult>;
  /** Records a failed attempt; the status after it (runnable or failed), or null if fenced. */
  fail(id: string, epoch: number, error: string, maxAttempts: number): Promise<ComputationStatus | null>;
  /**
   * Stores the answer to a pending call. `strict` (from outside): throws FLEET_CONFLICT
   * if the call is not pending or already answered; otherwise (handlers, delivered at
   * least once) a repeated answer is ignored. Returns whether it was stored.
   */
  complete(id: string, callId: number, ok: boolean, value: Uint8Array, strict: boolean): Promise<boolean>;
  markDeferred(id: string, callId: number): Promise<void>;
  /** Returns computations whose lease expired to runnable; how many. */
  reap(): Promise<number>;
  get(id: string): Promise<ComputationRow | null>;
  list(): Promise<ComputationRow[]>;
  calls(id: string): Promise<CallRow[]>;
  output(id: string): Promise<string>;
  /** The latest committed image (a chain merged into one), signed with the fleet's key; null before the first commit. */
  image(id: string): Promise<Uint8Array | null>;
  /** Moves a computation that has not finished to failed ("cancelled"), fencing its claim. */
  cancel(id: string): Promise<boolean>;
  /** Ms until the earliest wake_at of a waiting computation (≤ 0: due), or null. */
  nextWake(): Promise<number | null>;
  /** Calls `wake` on every change that may make work (LISTEN/NOTIFY). Returns the unsubscribe. */
  listen(wake: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
