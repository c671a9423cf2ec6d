// Readable stacks: where is each tasklet waiting? Decodes every live tasklet's saved
// Asyncify frames into a call chain (outermost first, innermost last) and says what it
// waits on, from linear memory + globals + the module's `stasis.frames` section
// (host/frames.ts) alone. No module code runs, so it is safe on untrusted images; every
// read is bounds-checked, and the only error it throws is StasisError CORRUPT.
//
// Where things are (assembly/*.ts; offsets from the section's `layout`):
//
//   global liveHead ─► Tasklet ─nextLive─► Tasklet ─► …  (scheduler registry, live ones)
//   global failedHead ─► Tasklet ─nextLive─► …           (failed ones, with `error`)
//   Tasklet.saved ─► SavedStack [header][asyncBytes u32][shadowBytes u32]…[frames|slots]
//   frames = [frame innermost] … [frame outermost = enter]
//   frame  = [call index u32][saved locals: localsBytes of that function]
//
// Decoding goes from the outer end: `enter`'s frame ends the buffer; its call index
// names its callee, whose frame ends where it begins, down to the frame whose call is
// `suspend` and which starts at byte 0. An indirect call has several candidates: each is
// tried (depth first, with a step budget); the first chain that fits the buffer
// exactly wins. A chain that fits nowhere, or a function whose layout the build could
// not read, gives `complete: false` with the frames read so far.
//
// Names. Internal names are demangled: paths go (`~lib/stasis/assembly/channel/
// Channel<~lib/string/String>#receive` → `Channel<String>#receive`), `library` marks
// `~lib/…` functions. The runtime's own frames (enter, the entry's main wrapper) and the
// compiler's virtual-call dispatchers (`…@virtual`, `…@override`) are dropped; the tasklet's root is shown as `<Task class>#run` (or
// `main`) even where the optimizer inlined run() into enter. In release builds other
// inlined functions do not appear either: their caller's frame stands for them.
import { StasisError } from "./errors.ts";
import { GLOBAL_EXPORT_PREFIX, TASKLET_STATUS, WAIT_REASON, type TaskletStatus, type WaitReason } from "./abi.ts";
import type { ImageContents } from "./image/format.ts";
import type { Callee, FrameTable } from "./frames.ts";

export interface StackFrame {
  /** Demangled: `descend`, `OrderWorkflow#run`, `Channel<i32>#receive`. */
  function: string;
  /** The module's internal name (`deep/descend`). */
  internal: string;
  /** The source file it comes from (`deep.ts`, `~lib/array.ts`), as the compiler names it. */
  file: string;
  /** A `~lib/…` function (standard library or Stasis itself). */
  library: boolean;
}

export interface TaskletStack {
  /** Outermost first, innermost last. */
  frames: StackFrame[];
  /** What it waits on: `hostCall("approval", "order-17")`, `Channel#receive`, `join(7)`, `sleep until …`, `runnable`. */
  waitsOn: string;
  /** False when the frames could not all be read (see `note`). */
  complete: boolean;
  note?: string;
}

export interface DecodedTasklet {
  id: number;
  status: TaskletStatus;
  waitingFor: WaitReason;
  failed: boolean;
  /** Why it failed (message and file:line:column), for failed tasklets. */
  error: string | null;
  stack: TaskletStack;
}

/** Bounds-checked reads of linear memory. */
export interface MemoryReader {
  readonly size: number;
  /** `length` bytes at `address`; throws CORRUPT when out of bounds. */
  bytes(address: number, length: number): Uint8Array;
}

function corrupt(what: string): never {
  throw new StasisError("CORRUPT", `the program's memory is inconsistent (${what}); the image is damaged or not from this module`);
}

/** A reader over one contiguous memory (a live instance's, or a copy). */
export function flatMemory(memory: Uint8Array): MemoryReader {
  return {
    size: memory.length,
    bytes(address, length) {
      if (!Number.isInteger(address) || address < 0 || length < 0 || address + length > memory.length) corrupt(`read of ${length} bytes at ${address}`);
      return memory.subarray(address, address + length);
    },
  };
}

/** A reader over an image's memory runs (left-out chunks read as zeros), without building the whole memory. */
export function runsMemory(pages: number, chunkLog2: number, runs: readonly { firstChunk: number; data: Uint8Array }[]): MemoryReader {
  const size = pages * 65536;
  const sorted = [...runs].sort((a, b) => a.firstChunk - b.firstChunk);
  const starts = sorted.map((r) => r.firstChunk * 2 ** chunkLog2);
  return {
    size,
    bytes(address, length) {
      if (!Number.isInteger(address) || address < 0 || length < 0 || address + length > size) corrupt(`read of ${length} bytes at ${address}`);
      const out = new Uint8Array(length);
      // The last run starting at or before `address`, then every run overlapping the range.
      let lo = 0;
      let hi = sorted.length - 1;
      let first = 0;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (starts[mid] <= address) { first = mid; lo = mid + 1; } else hi = mid - 1;
      }
      for (let i = first; i < sorted.length && starts[i] < address + length; i++) {
        const from = Math.max(address, starts[i]);
        const to = Math.min(address + length, starts[i] + sorted[i].data.length);
        if (to > from) out.set(sorted[i].data.subarray(from - starts[i], to - starts[i]), from - address);
      }
      return out;
    },
  };
}

class Reader {
  constructor(private readonly memory: MemoryReader) {}

  u8(address: number): number {
    return this.memory.bytes(address, 1)[0];
  }

  u32(address: number): number {
    const b = this.memory.bytes(address, 4);
    return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
  }

  /** A managed object's runtime id and size (the 20-byte header before `ptr`). */
  header(ptr: number): { rtId: number; rtSize: number } {
    if (ptr < 20 || ptr % 4 !== 0) corrupt(`object pointer ${ptr}`);
    return { rtId: this.u32(ptr - 8), rtSize: this.u32(ptr - 4) };
  }

  /** An AssemblyScript string, cut at `max` characters. */
  string(ptr: number, max = 200): string {
    const { rtSize } = this.header(ptr);
    if (rtSize % 2 !== 0) corrupt(`string of odd byte length at ${ptr}`);
    const chars = Math.min(rtSize / 2, max);
    const text = new TextDecoder("utf-16le").decode(this.memory.bytes(ptr, chars * 2));
    return chars < rtSize / 2 ? text + "…" : text;
  }

  arrayBuffer(ptr: number, max: number): { bytes: Uint8Array; length: number } {
    const { rtSize } = this.header(ptr);
    return { bytes: this.memory.bytes(ptr, Math.min(rtSize, max)).slice(), length: rtSize };
  }
}

/** Most tasklets the registry walk accepts (a cycle or garbage stops it with CORRUPT). */
const MAX_TASKLETS = 1 << 22;
/** Candidate frames tried per stack before giving up (indirect calls can branch). */
const MAX_PARSE_STEPS = 100_000;

const TASKLET_CLASS = "~lib/stasis/assembly/tasklet/Tasklet";
const MAIN_CLASS = "__stasis_entry__/__StasisMain";
/** The top-most function schedule() (assembly/switch.ts); modules of ABI 1 had it as an instrumented frame of scheduler.ts. */
const SCHEDULE_FUNCTION = "~lib/stasis/assembly/switch/schedule";
const PREEMPT_FUNCTIONS = new Set(["~lib/stasis/assembly/preempt/preempt", "~lib/stasis/assembly/host/__stasis_preempt"]);

/** `~lib/stasis/assembly/channel/Channel<~lib/string/String>#receive` → `Channel<String>#receive`. */
export function demangle(internal: string): string {
  return internal.replace(/(?:~lib\/)?(?:[^/<>,|#~\s]+\/)+/g, "");
}

function fileOf(internal: string): string {
  const head = /^((?:~lib\/)?(?:[^/<>,|#~\s]+\/)*)/.exec(internal)![1];
  return head ? head.slice(0, -1) + ".ts" : "";
}

function frameOf(internal: string): StackFrame {
  return { function: demangle(internal), internal, file: fileOf(internal), library: internal.startsWith("~lib/") };
}

/** Decodes the Asyncify buffer `data` (length `bytes`) into function indexes, outermost first. */
function parseFrames(table: FrameTable, read: (offset: number) => number, bytes: number): { chain: number[]; complete: boolean; note?: string; leaf?: string } {
  if (table.entry < 0) return { chain: [], complete: false, note: "the build found no tasklet entry" };
  // Explicit DFS: frames[i] = function index, ends[i] = where its frame ends, tried[i] = next candidate.
  const chain: number[] = [];
  const stack: { candidates: number[]; next: number; end: number }[] = [{ candidates: [table.entry], next: 0, end: bytes }];
  let steps = 0;
  let deepest: number[] = [];
  while (stack.length > 0) {
    if (++steps > MAX_PARSE_STEPS) return { chain: deepest, complete: false, note: "too many ways to read this stack (indirect calls)" };
    const top = stack[stack.length - 1];
    if (top.next >= top.candidates.length) {
      stack.pop();
      chain.pop();
      continue;
    }
    const fn = top.candidates[top.next++];
    const f = table.functions[fn];
    if (f.localsBytes < 0) return { chain: [...chain, fn], complete: false, note: `the build could not read the frame layout of ${demangle(f.name)}` };
    const start = top.end - f.localsBytes - 4;
    if (start < 0) continue;
    const index = read(start);
    if (index >= f.calls.length) continue;
    const callee: Callee = f.calls[index];
    if (start === 0) {
      if (typeof callee === "string") return { chain: [...chain, fn], complete: true, leaf: callee };
      continue;
    }
    if (typeof callee === "string") continue;
    chain.push(fn);
    if (chain.length > deepest.length) deepest = [...chain];
    stack.push({ candidates: typeof callee === "number" ? [callee] : callee.indirect, next: 0, end: start });
  }
  return { chain: deepest, complete: false, note: "the saved frames match no call chain of this module" };
}

export interface GlobalsReader {
  /** The i32 value of exported global `__stasis_g<index>`. */
  (index: number): number;
}

/** Decodes every live tasklet (newest first, as the registry holds them). */
export function decodeTasklets(table: FrameTable, memory: MemoryReader, global: GlobalsReader): DecodedTasklet[] {
  const r = new Reader(memory);
  const L = table.layout;
  const taskletClass = Number(Object.keys(table.classes).find((id) => table.classes[id] === TASKLET_CLASS) ?? -1);
  const seen = new Set<number>();
  const records: { ptr: number; id: number; status: TaskletStatus; waitingFor: WaitReason; failed: boolean; error: string | null }[] = [];
  // The live registry, then the failed tasklets (assembly/scheduler.ts retire()).
  for (const head of [table.globals.liveHead, table.globals.failedHead]) {
    for (let t = global(head) >>> 0; t !== 0; t = r.u32(t + L.tasklet_nextLive)) {
      if (seen.has(t) || seen.size >= MAX_TASKLETS) corrupt("the tasklet registry loops");
      seen.add(t);
      if (r.header(t).rtId !== taskletClass) corrupt(`the tasklet registry points at a non-tasklet object (${t})`);
      const status = TASKLET_STATUS[r.u32(t + L.tasklet_status)];
      const waitingFor = WAIT_REASON[r.u32(t + L.tasklet_waitingFor)];
      if (status === undefined || waitingFor === undefined) corrupt(`tasklet at ${t} has an unknown status`);
      const errorPtr = r.u32(t + L.tasklet_error);
      const error = errorPtr ? r.string(errorPtr, 2000) : null;
      records.push({ ptr: t, id: r.u32(t + L.tasklet_id) | 0, status, waitingFor, failed: r.u8(t + L.tasklet_failed) !== 0, error });
    }
  }
  const byJoiners = new Map<number, number>();
  for (const rec of records) {
    const joiners = r.u32(rec.ptr + L.tasklet_joiners);
    if (joiners) byJoiners.set(joiners, rec.id);
  }
  return records.map((rec) => ({ id: rec.id, status: rec.status, waitingFor: rec.waitingFor, failed: rec.failed, error: rec.error, stack: decodeStack(table, r, rec, byJoiners) }));
}

function decodeStack(
  table: FrameTable,
  r: Reader,
  rec: { ptr: number; status: TaskletStatus; waitingFor: WaitReason },
  byJoiners: Map<number, number>,
): TaskletStack {
  const L = table.layout;
  const taskPtr = r.u32(rec.ptr + L.tasklet_task);
  const taskClass = table.classes[String(r.header(taskPtr).rtId)] ?? "";
  const saved = r.u32(rec.ptr + L.tasklet_saved);
  let chain: number[] = [];
  let complete = true;
  let note: string | undefined;
  let leaf: string | undefined;
  if (saved !== 0) {
    const { rtSize } = r.header(saved);
    const asyncBytes = r.u32(saved + L.saved_asyncBytes);
    if (L.saved_data + asyncBytes > rtSize) corrupt(`a saved stack claims ${asyncBytes} bytes in a block of ${rtSize}`);
    const data = saved + L.saved_data;
    ({ chain, complete, note, leaf } = parseFrames(table, (offset) => r.u32(data + offset), asyncBytes));
  } else if (rec.status === "suspended") {
    note = "not started yet";
  }
  const internal = chain.map((i) => table.functions[i].name);
  const frames = userFrames(internal, taskClass, saved !== 0);
  return { frames, waitsOn: waitsOn(table, r, rec, internal, leaf, byJoiners), complete, ...(note ? { note } : {}) };
}

/** Drops the runtime's own frames and names the tasklet's root (see the header). */
function userFrames(internal: string[], taskClass: string, started: boolean): StackFrame[] {
  const kept = internal.filter((name) => name !== "~lib/stasis/assembly/switch/enter" && !/@(virtual|override)$/.test(name) && name !== `${MAIN_CLASS}#run`);
  const frames = kept.map(frameOf);
  if (!started || !taskClass) return frames;
  if (taskClass === MAIN_CLASS) {
    if (!kept[0] || !/^[^~][^/]*\/main$/.test(kept[0])) frames.unshift({ function: "main", internal: "main", file: "", library: false });
  } else if (kept[0] !== `${taskClass}#run`) {
    frames.unshift(frameOf(`${taskClass}#run`));
  }
  return frames;
}

function waitsOn(table: FrameTable, r: Reader, rec: { ptr: number; status: TaskletStatus; waitingFor: WaitReason }, internal: string[], leaf: string | undefined, byJoiners: Map<number, number>): string {
  const L = table.layout;
  if (rec.status === "running") return "running";
  if (rec.status === "dead") return "nothing (dead)";
  if (rec.status === "suspended") {
    if (internal.some((n) => PREEMPT_FUNCTIONS.has(n))) return "preempted (runnable)";
    if (leaf === SCHEDULE_FUNCTION || internal[internal.length - 1] === "~lib/stasis/assembly/scheduler/schedule") return "schedule() (runnable)";
    return internal.length ? "runnable (woken)" : "runnable";
  }
  switch (rec.waitingFor) {
    case "send": return "Channel#send";
    case "receive": return "Channel#receive";
    case "switch": return "parked by switchTo()";
    case "join": {
      const target = byJoiners.get(r.u32(rec.ptr + L.tasklet_queueAddress));
      return `join(${target ?? "?"})`;
    }
    case "host": {
      const call = r.u32(rec.ptr + L.tasklet_hostCallAddress);
      if (!call) return "hostCall(?)";
      const name = r.string(r.u32(call + L.call_name));
      const payload = r.arrayBuffer(r.u32(call + L.call_payload), 240);
      let text: string | null = null;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(payload.bytes);
      } catch {
        text = null;
      }
      if (name === "stasis.sleep" && text !== null && /^\d{1,16}$/.test(text)) {
        const at = new Date(Number(text));
        if (!Number.isNaN(at.getTime())) return `sleep until ${at.toISOString()}`;
      }
      if (text === null) return `hostCall(${JSON.stringify(name)}, <${payload.length} bytes>)`;
      const shown = text.length > 60 || payload.length > payload.bytes.length ? text.slice(0, 57) + "…" : text;
      return `hostCall(${JSON.stringify(name)}, ${JSON.stringify(shown)})`;
    }
    default: return "runnable";
  }
}

/** The tasklets of a frozen image, from its bytes alone (memory runs + globals). */
export function imageTasklets(table: FrameTable, contents: ImageContents): DecodedTasklet[] {
  const { pages, chunkLog2, runs } = contents.memory;
  const globals = new Map(contents.globals.map((g) => [g.index, g]));
  return decodeTasklets(table, runsMemory(pages, chunkLog2, runs), (index) => {
    const g = globals.get(index);
    if (!g || g.type !== "i32") corrupt(`global ${index} is missing`);
    return g.lo | 0;
  });
}

/** The tasklets of a live instance: reads its memory and globals, calls nothing. */
export function liveTasklets(table: FrameTable, memory: WebAssembly.Memory, exports: Record<string, unknown>): DecodedTasklet[] {
  return decodeTasklets(table, flatMemory(new Uint8Array(memory.buffer)), (index) => {
    const g = exports[GLOBAL_EXPORT_PREFIX + index];
    if (!(g instanceof WebAssembly.Global)) corrupt(`global ${index} is not exported`);
    return (g.value as number) | 0;
  });
}

/** Adds `stack` (and a failed tasklet's `error`) to the host's tasklet records (Runtime.tasklets()). */
export function withStacks<T extends { id: number; failed: boolean }>(
  list: T[], table: FrameTable | null, memory: WebAssembly.Memory, exports: Record<string, unknown>,
): (T & { stack: TaskletStack | null; error?: string })[] {
  const decoded = table ? new Map(liveTasklets(table, memory, exports).map((t) => [t.id, t])) : null;
  return list.map((t) => {
    const d = decoded?.get(t.id);
    return { ...t, ...(t.failed && d?.error ? { error: d.error } : {}), stack: d?.stack ?? null };
  });
}
