// The `stasis.frames` custom section: what `stasis build` records so that a saved
// tasklet stack can be read back from memory alone (host/stacks.ts decodes it; the
// build side is build/frames.ts). UTF-8 JSON:
//
//   { version: 1,
//     functions: [{ name, localsBytes, calls: [callee per Asyncify call index] }],
//     entry,            index of assembly/switch.ts `enter`, every tasklet's outermost frame
//     layout: { field: byte offset },   Tasklet / SavedStack / PendingCall (assembly/layout.ts)
//     globals: { liveHead, failedHead: exported global indexes },
//     runtimeFunctions: [[first, last], …],  final function indexes of the runtime (isolate.ts)
//     classes: { "<runtime id>": "internal class name" } }
//
// A callee is an index into `functions` (instrumented), a name (not instrumented: only
// `suspend`, where an unwind starts) or { indirect: [candidate function indexes] }.
// The section may come from an untrusted image (an embedded module), so parseFrames
// checks every field and rejects what does not fit with CORRUPT.
import { StasisError } from "./errors.ts";

export const FRAMES_SECTION = "stasis.frames";
export const FRAMES_VERSION = 1;

export type Callee = number | string | { indirect: number[] };

export interface FrameFunction {
  /** Internal name (`~lib/stasis/assembly/channel/Channel<i32>#receive`, `deep/descend`). */
  name: string;
  /** Bytes of saved locals after the call index; -1 when the build could not tell. */
  localsBytes: number;
  calls: Callee[];
}

/** Byte offsets the decoder reads (names as in assembly/layout.ts, without the prefix). */
export const LAYOUT_FIELDS = [
  "tasklet_id", "tasklet_task", "tasklet_status", "tasklet_waitingFor", "tasklet_failed", "tasklet_saved",
  "tasklet_joiners", "tasklet_queueAddress", "tasklet_nextLive", "tasklet_hostCallAddress", "tasklet_error",
  "saved_asyncBytes", "saved_shadowBytes", "saved_data", "call_name", "call_payload",
] as const;
export type LayoutField = (typeof LAYOUT_FIELDS)[number];

export interface FrameTable {
  version: number;
  functions: FrameFunction[];
  entry: number;
  layout: Record<LayoutField, number>;
  globals: { liveHead: number; failedHead: number };
  /**
   * Final indexes (as engines print them: `wasm-function[N]`) of the functions a trap must
   * not be isolated in: the allocator and collector, Stasis's own runtime, Asyncify's
   * helpers (host/isolate.ts). Sorted [first, last] ranges.
   */
  runtimeFunctions: [number, number][];
  classes: Record<string, string>;
}

function bad(what: string): never {
  throw new StasisError("CORRUPT", `the module's "${FRAMES_SECTION}" section is damaged (${what}); rebuild the program with \`stasis build\``);
}

const isIndex = (n: unknown, limit: number): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) < limit;

/** Parses and checks a section payload. */
export function parseFrames(bytes: ArrayBuffer | Uint8Array): FrameTable {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    bad("not JSON");
  }
  const t = raw as Partial<FrameTable>;
  if (typeof t !== "object" || t === null || t.version !== FRAMES_VERSION) bad("unknown version");
  if (!Array.isArray(t.functions)) bad("no functions");
  const n = t.functions.length;
  for (const f of t.functions as unknown[]) {
    const fn = f as Partial<FrameFunction>;
    if (typeof fn !== "object" || fn === null || typeof fn.name !== "string" || !Number.isInteger(fn.localsBytes) || fn.localsBytes! < -1 || !Array.isArray(fn.calls)) bad("a function record");
    for (const c of fn.calls as unknown[]) {
      if (typeof c === "string" || isIndex(c, n)) continue;
      const list = (c as { indirect?: unknown }).indirect;
      if (!Array.isArray(list) || !list.every((i) => isIndex(i, n))) bad("a callee");
    }
  }
  if (!Number.isInteger(t.entry) || t.entry! < -1 || t.entry! >= n) bad("entry");
  const layout = t.layout as Record<string, unknown> | undefined;
  if (typeof layout !== "object" || layout === null || !LAYOUT_FIELDS.every((f) => isIndex(layout[f], 1 << 16))) bad("layout");
  if (typeof t.globals !== "object" || t.globals === null || !isIndex(t.globals.liveHead, 1 << 20) || !isIndex(t.globals.failedHead, 1 << 20)) bad("globals");
  if (!Array.isArray(t.runtimeFunctions) || !t.runtimeFunctions.every((r) => Array.isArray(r) && r.length === 2 && isIndex(r[0], 1 << 24) && isIndex(r[1], 1 << 24) && r[0] <= r[1])) bad("runtime functions");
  if (typeof t.classes !== "object" || t.classes === null || !Object.values(t.classes).every((v) => typeof v === "string")) bad("classes");
  return t as FrameTable;
}

/** The frame table of a compiled module, or null for modules built before it existed. */
export function readFrames(module: WebAssembly.Module): FrameTable | null {
  const sections = WebAssembly.Module.customSections(module, FRAMES_SECTION);
  if (sections.length === 0) return null;
  if (sections.length > 1) bad("more than one");
  return parseFrames(sections[0]);
}

/** The frame table from a module's bytes, found without compiling it (an embedded, untrusted module). */
export function framesFromBytes(wasm: Uint8Array): FrameTable | null {
  const name = new TextEncoder().encode(FRAMES_SECTION);
  let at = 8;
  const leb = (): number => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (at >= wasm.length) bad("truncated module");
      const byte = wasm[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return value;
    }
    bad("bad LEB128");
  };
  while (at < wasm.length) {
    const id = wasm[at++];
    const size = leb();
    const end = at + size;
    if (end > wasm.length) bad("truncated module");
    if (id === 0) {
      const length = leb();
      if (at + length <= end && length === name.length && name.every((b, i) => wasm[at + i] === b)) return parseFrames(wasm.subarray(at + length, end));
    }
    at = end;
  }
  return null;
}
