// Build step between Asyncify and the optimizer: record what it takes to read a saved
// tasklet stack back (host/stacks.ts decodes it; docs/STACKS.md describes it).
//
// What Asyncify writes. Binaryen's Asyncify (src/passes/Asyncify.cpp, AsyncifyLocals)
// gives every instrumented function one fixed frame layout. On an unwind each function,
// innermost first, appends to the buffer
//
//   [call index: i32][its saved locals: `localsBytes`, in local-index order]
//
// and returns; a rewind pops them in reverse. The call index numbers the calls that can
// unwind in that function, in the order AsyncifyFlow met them; the locals saved are
// those live at some such call (one set per function, so the size is fixed). So a
// buffer reads back from its outer end: the outermost frame is the tasklet's entry
// (assembly/switch.ts `enter`), its size is known, its call index names the callee,
// whose frame ends where it begins, and so on down to the call of `suspend`.
//
// Why here. Right after the pass, the instrumented functions still carry their names
// and the `__asyncify_unwind` label, and every `br_if $__asyncify_unwind (i32.const K)`
// follows the call K it guards. The optimizer that runs next may rename, merge or inline
// functions, but it cannot change what they store in memory, so the layouts read here
// stay true for the final module.
//
// What is recorded (FrameTable, host/frames.ts): per instrumented function its name,
// `localsBytes` and, per call index, the callee: another instrumented function, a
// non-instrumented one (only `suspend`, where an unwind starts), or an indirect call
// with the instrumented functions of the table that have its signature (the decoder
// tries each). Functions whose shape this reader does not recognize are recorded with
// `localsBytes: -1`: the decoder stops there and says so, rather than guess.
import binaryen from "binaryen";
import { childExpressions } from "./expressions.ts";

import { StasisError } from "../host/errors.ts";
import { LAYOUT_FIELDS, type Callee, type FrameFunction, type LayoutField } from "../host/frames.ts";

export interface FrameCollection {
  functions: FrameFunction[];
  /** Index of assembly/switch.ts `enter` (the outermost frame of every tasklet). */
  entry: number;
}

const UNWIND_LABEL = "__asyncify_unwind";
const ASYNCIFY_DATA = "__asyncify_data";
export const ENTER_FUNCTION = "~lib/stasis/assembly/switch/enter";

function constI32(expr: number): number | null {
  if (!expr || binaryen.getExpressionId(expr) !== binaryen.ConstId) return null;
  const value = (binaryen.getExpressionInfo(expr) as binaryen.ConstInfo).value;
  return typeof value === "number" ? value : null;
}

interface Scan {
  hasUnwind: boolean;
  calls: Map<number, number>;
  complete: boolean;
}

/** Walks `body` post-order: each `br_if $__asyncify_unwind (K)` maps K to the call just before it. */
function scanCalls(body: number): Scan {
  const scan: Scan = { hasUnwind: false, calls: new Map(), complete: true };
  let lastCall = 0;
  const visit = (expr: number) => {
    const kids = childExpressions(expr);
    if (kids === null) {
      scan.complete = false;
      return;
    }
    for (const kid of kids) visit(kid);
    const id = binaryen.getExpressionId(expr);
    if (id === binaryen.CallId || id === binaryen.CallIndirectId) lastCall = expr;
    else if (id === binaryen.BreakId) {
      const info = binaryen.getExpressionInfo(expr) as binaryen.BreakInfo;
      if (info.name !== UNWIND_LABEL) return;
      scan.hasUnwind = true;
      const index = constI32(info.value);
      if (index === null || !lastCall) scan.complete = false;
      else scan.calls.set(index, lastCall);
    }
  };
  visit(body);
  return scan;
}

/**
 * Bytes of locals the function saves: the epilogue after the unwind block raises the
 * buffer position by 4 (the call index) and by the locals' size, each as
 * `store(global.get $__asyncify_data, add(load(global.get $__asyncify_data), const N))`.
 */
function localsBytes(body: number): number {
  if (binaryen.getExpressionId(body) !== binaryen.BlockId) return -1;
  const list = (binaryen.getExpressionInfo(body) as binaryen.BlockInfo).children;
  const start = list.findIndex((e) => {
    if (binaryen.getExpressionId(e) !== binaryen.LocalSetId) return false;
    const value = (binaryen.getExpressionInfo(e) as binaryen.LocalSetInfo).value;
    return binaryen.getExpressionId(value) === binaryen.BlockId && (binaryen.getExpressionInfo(value) as binaryen.BlockInfo).name === UNWIND_LABEL;
  });
  if (start < 0) return -1;
  // Unoptimized builds keep the epilogue's statements in nested blocks.
  const flat: number[] = [];
  const flatten = (e: number) => {
    if (binaryen.getExpressionId(e) !== binaryen.BlockId) flat.push(e);
    else for (const child of (binaryen.getExpressionInfo(e) as binaryen.BlockInfo).children) flatten(child);
  };
  list.slice(start + 1).forEach(flatten);
  let raised = 0;
  for (const e of flat) {
    if (binaryen.getExpressionId(e) !== binaryen.StoreId) continue;
    const store = binaryen.getExpressionInfo(e) as binaryen.StoreInfo;
    if (!isDataGlobal(store.ptr) || store.offset !== 0) continue;
    if (binaryen.getExpressionId(store.value) !== binaryen.BinaryId) return -1;
    const add = binaryen.getExpressionInfo(store.value) as binaryen.BinaryInfo;
    const n = constI32(add.right);
    if (add.op !== binaryen.AddInt32 || n === null || binaryen.getExpressionId(add.left) !== binaryen.LoadId) return -1;
    raised += n;
  }
  return raised >= 4 ? raised - 4 : -1;
}

function isDataGlobal(expr: number): boolean {
  return binaryen.getExpressionId(expr) === binaryen.GlobalGetId && (binaryen.getExpressionInfo(expr) as binaryen.GlobalGetInfo).name === ASYNCIFY_DATA;
}

/** Reads the frame layouts of an Asyncify-instrumented module (before it is optimized). */
export function collectFrames(module: binaryen.Module): FrameCollection {
  const scanned: { name: string; body: number; scan: Scan }[] = [];
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    if (info.module || !info.body) continue;
    const scan = scanCalls(info.body);
    if (scan.hasUnwind) scanned.push({ name: info.name, body: info.body, scan });
  }
  const indexOf = new Map(scanned.map((f, i) => [f.name, i]));
  // Instrumented functions reachable through the table, by signature.
  const bySignature = new Map<string, number[]>();
  for (let s = 0; s < module.getNumElementSegments(); s++) {
    for (const name of binaryen.getElementSegmentInfo(module.getElementSegmentByIndex(s)).data) {
      const index = indexOf.get(name);
      if (index === undefined) continue;
      const f = binaryen.getFunctionInfo(module.getFunction(name));
      const key = `${f.params}:${f.results}`;
      const list = bySignature.get(key) ?? [];
      if (!list.includes(index)) list.push(index);
      bySignature.set(key, list);
    }
  }
  const functions = scanned.map(({ name, body, scan }): FrameFunction => {
    const count = scan.calls.size === 0 ? 0 : Math.max(...scan.calls.keys()) + 1;
    const calls: Callee[] = [];
    let complete = scan.complete;
    for (let k = 0; k < count; k++) {
      const call = scan.calls.get(k);
      if (call === undefined) {
        complete = false;
        calls.push("");
      } else if (binaryen.getExpressionId(call) === binaryen.CallId) {
        const target = (binaryen.getExpressionInfo(call) as binaryen.CallInfo).target;
        calls.push(indexOf.get(target) ?? target);
      } else {
        const wrapper = binaryen as unknown as { CallIndirect: { getParams(e: number): number; getResults(e: number): number } };
        const key = `${wrapper.CallIndirect.getParams(call)}:${wrapper.CallIndirect.getResults(call)}`;
        calls.push({ indirect: bySignature.get(key) ?? [] });
      }
    }
    return { name, localsBytes: complete ? localsBytes(body) : -1, calls };
  });
  return { functions, entry: indexOf.get(ENTER_FUNCTION) ?? -1 };
}

const LAYOUT_PREFIX = "__stasis_layout_";

/**
 * Reads the layout constants assembly/layout.ts exports and removes those exports
 * (before optimizing, so the globals go away): they are build-time data.
 */
export function takeLayout(module: binaryen.Module): Record<LayoutField, number> {
  const layout: Partial<Record<LayoutField, number>> = {};
  for (const field of LAYOUT_FIELDS) {
    const name = LAYOUT_PREFIX + field;
    const exported = module.getExport(name);
    const value = exported ? constI32(binaryen.getGlobalInfo(module.getGlobal(binaryen.getExportInfo(exported).value)).init) : null;
    if (value === null) throw new StasisError("COMPILE_ERROR", `stasis internal: the layout constant ${name} is missing; the runtime library is out of date`);
    layout[field] = value;
    module.removeExport(name);
  }
  return layout as Record<LayoutField, number>;
}
