// The --preempt build step: fuel checks at every loop header and at the entry of every
// function that makes calls, in the preemptible functions (see assembly/preempt.ts), and
// a depth counter around the runtime's entries. Runs right after asc compiles, before it
// optimizes (so code inlined later carries its checks along) and before Asyncify (which
// then instruments exactly the functions that can now switch).
//
// Which functions are preemptible (classify()):
//  - the program's own functions (internal names not starting with `~`, `start:` or
//    `export:`), and those of library packages: `~lib/<package>/…` where <package> is
//    not a file of AssemblyScript's standard library (asc's `libraryFiles`: array,
//    string, rt, util, …) and not `stasis` (the scheduler and the switch must not
//    preempt themselves);
//  - minus everything reachable by calls from AssemblyScript's runtime: the functions
//    under `~lib/rt/` and the targets of its exports `__new`, `__collect`, `__pin`,
//    `__unpin`. The collector calls GC visitors (compiler-made, named like
//    `file/Class~visit`), custom `__visit` methods and `__finalize`; a switch there
//    would suspend a collector step half done. Found by the call graph, not by names,
//    so a visitor by any name is left alone; an indirect call in that reach makes every
//    function in the table unpreemptible (none occurs with asc 0.28).
// Not preemptible, by design: start-up code (`start:`, no tasklet runs yet), export
// wrappers, the standard library (its loops run to the end of their input: a fuel
// check in every string compare or copy would tax every program) and the runtime.
//
// The guard (guardRuntime()): every runtime function that code outside the runtime
// calls (or the host, through an export) and from which code AssemblyScript did not
// write (the program's, a library's, Stasis's) is reachable — `__new`, `__collect`,
// `__renew`, … (not `__link` or `__visit`, which call none) — becomes
// `runtimeDepth += 1; inner(args); runtimeDepth -= 1`, and preempt() refuses to switch
// while runtimeDepth > 0. That holds even if a future compiler named or called its
// callbacks differently than classify() expects. The build fails (COMPILE_ERROR) when it
// cannot find the runtime at all, rather than building a program that could switch
// inside the collector.
//
// Each check burns one unit: `fuel -= 1; if (fuel < 0) __stasis_preempt()`. At a function
// entry it is just that. At a loop header the call is kept out of the loop, which is
// rewritten in place from `loop $L body` to
//
//   loop $again                        ;; the original node, renamed
//     block $done
//       block $preempt
//         br $done (loop $L            ;; a new node: same label, same body
//           fuel -= 1; br_if $preempt (fuel < 0)
//           body)
//       __stasis_preempt()
//       br $again                      ;; back to the header, as `br $L` would
//
// The check runs before anything else in the body, so leaving the loop there and coming
// back in through $again is the same as carrying on (preempt() leaves fuel ≥ 1, so the
// check then passes). Asyncify guards, with reads of its state, every piece of code in a
// loop that holds a call which can unwind; this way a loop whose body calls nothing that
// can switch holds no such call, and Asyncify wraps it whole in one guard. (With the
// call inside the loop, the kernels of bench/callgrind.sh ran at 1.13–1.25× the
// instructions of a plain build; with it outside, at 1.07–1.12×.)
import binaryen from "binaryen";
import { libraryFiles } from "assemblyscript/asc";
import { StasisError } from "../host/errors.ts";
import { childExpressions } from "./expressions.ts";

/** Expression setters binaryen.js has but does not declare. */
const wrappers = binaryen as unknown as {
  Loop: { setName(loop: number, name: string): void; getName(loop: number): string; getBody(loop: number): number; setBody(loop: number, body: number): void };
  Function: { setBody(func: binaryen.FunctionRef, body: number): void };
};

const FUEL = "~lib/stasis/assembly/preempt/fuel";
const DEPTH = "~lib/stasis/assembly/preempt/runtimeDepth";
const PREEMPT = "~lib/stasis/assembly/host/__stasis_preempt";
/** Where AssemblyScript's runtime (allocator, collector) lives, and the exports it always has here (asconfig: exportRuntime). */
const RUNTIME_PREFIX = "~lib/rt/";
const RUNTIME_EXPORTS = ["__new", "__collect", "__pin", "__unpin"];
/** The packages under ~lib/ that are not libraries: the standard library's top-level files and folders, and Stasis. */
const NOT_LIBRARIES = new Set([...Object.keys(libraryFiles).map((file) => file.split("/")[0]), "stasis"]);

/** Who wrote a function, by its internal name. */
export type Owner = "program" | "library" | "stdlib" | "stasis" | "generated";

export function ownerOf(name: string): Owner {
  if (name.startsWith("start:") || name.startsWith("export:")) return "generated";
  if (!name.startsWith("~")) return "program";
  if (!name.startsWith("~lib/")) return "generated";
  const top = name.slice("~lib/".length).split("/")[0];
  if (top === "stasis") return "stasis";
  return NOT_LIBRARIES.has(top) ? "stdlib" : "library";
}

interface Walked {
  /** Direct callees. */
  calls: Set<string>;
  callsIndirectly: boolean;
  loops: number[];
}

/** Walks a function body once: its callees and its loops. */
function walk(body: number): Walked {
  const walked: Walked = { calls: new Set(), callsIndirectly: false, loops: [] };
  const pending = [body];
  while (pending.length > 0) {
    const expr = pending.pop()!;
    pending.push(...children(expr));
    const id = binaryen.getExpressionId(expr);
    if (id === binaryen.CallId) walked.calls.add((binaryen.getExpressionInfo(expr) as binaryen.CallInfo).target);
    else if (id === binaryen.CallIndirectId) walked.callsIndirectly = true;
    else if (id === binaryen.LoopId) walked.loops.push(expr);
  }
  return walked;
}

export interface Classification {
  /** Functions that get fuel checks. */
  preemptible: Set<string>;
  /** AssemblyScript's runtime: ~lib/rt/… and the targets of its exports. */
  runtime: Set<string>;
  /** Functions the runtime can reach by calls (the runtime included): never preempted. */
  fromRuntime: Set<string>;
  /** Runtime functions entered from outside it from which foreign code (program, library, Stasis) is reachable: guardRuntime wraps them. */
  entries: string[];
  walked: Map<string, Walked>;
}

function reach(from: Iterable<string>, walked: Map<string, Walked>, table: string[]): Set<string> {
  const seen = new Set<string>();
  const pending = [...from];
  let tableAdded = false;
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const w = walked.get(name);
    if (!w) continue; // an import
    pending.push(...w.calls);
    if (w.callsIndirectly && !tableAdded) {
      tableAdded = true;
      pending.push(...table);
    }
  }
  return seen;
}

/** Sorts the module's functions (see the header comment). */
export function classify(module: binaryen.Module): Classification {
  const walked = new Map<string, Walked>();
  const imports = new Set<string>();
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
    if (info.module) imports.add(info.name);
    else walked.set(info.name, walk(info.body));
  }
  const table: string[] = [];
  for (let i = 0; i < module.getNumElementSegments(); i++) table.push(...binaryen.getElementSegmentInfo(module.getElementSegmentByIndex(i)).data);
  const runtime = new Set([...walked.keys()].filter((name) => name.startsWith(RUNTIME_PREFIX)));
  const exported = new Map<string, string>();
  for (let i = 0; i < module.getNumExports(); i++) {
    const info = binaryen.getExportInfo(module.getExportByIndex(i));
    if (info.kind === binaryen.ExternalFunction) exported.set(info.name, info.value);
  }
  for (const name of RUNTIME_EXPORTS) {
    const target = exported.get(name);
    if (target === undefined || !walked.has(target)) {
      throw new StasisError("COMPILE_ERROR", `stasis internal: AssemblyScript's runtime export ${name} is missing, so --preempt cannot tell the collector apart (is exportRuntime off in asconfig.json?); build without --preempt`);
    }
    runtime.add(target);
  }
  const fromRuntime = reach(runtime, walked, table);
  const preemptible = new Set<string>();
  for (const name of walked.keys()) {
    const owner = ownerOf(name);
    if ((owner === "program" || owner === "library") && !fromRuntime.has(name)) preemptible.add(name);
  }
  const calledFromOutside = new Set<string>(exported.values());
  for (const [name, w] of walked) if (!runtime.has(name)) for (const callee of w.calls) calledFromOutside.add(callee);
  // Callbacks are code AssemblyScript did not write: the program's, a library's, Stasis's.
  const foreign = (name: string) => !imports.has(name) && !["stdlib", "generated"].includes(ownerOf(name));
  const entries = [...runtime].filter((name) => calledFromOutside.has(name) && [...reach([name], walked, table)].some(foreign));
  return { preemptible, runtime, fromRuntime, entries, walked };
}

/** Wraps each runtime entry in `runtimeDepth += 1 … -= 1` (see the header comment). */
function guardRuntime(module: binaryen.Module, entries: string[]): void {
  const depth = (delta: number) => module.global.set(DEPTH, module.i32.add(module.global.get(DEPTH, binaryen.i32), module.i32.const(delta)));
  for (const name of entries) {
    const info = binaryen.getFunctionInfo(module.getFunction(name));
    const inner = `${name}|stasis:guarded`;
    module.addFunction(inner, info.params, info.results, info.vars, info.body);
    module.removeFunction(name);
    const args = binaryen.expandType(info.params).map((type, i) => module.local.get(i, type));
    const call = module.call(inner, args, info.results);
    if (info.results === binaryen.none) {
      module.addFunction(name, info.params, info.results, [], module.block(null, [depth(1), call, depth(-1)]));
    } else {
      const result = binaryen.expandType(info.params).length;
      const body = module.block(null, [depth(1), module.local.set(result, call), depth(-1), module.local.get(result, info.results)], info.results);
      module.addFunction(name, info.params, info.results, [info.results], body);
    }
  }
}

/** The child expressions of `expr` (expressions.ts); kinds asc does not emit stop the build. */
function children(expr: number): number[] {
  const kids = childExpressions(expr);
  if (kids === null) throw new StasisError("COMPILE_ERROR", `--preempt cannot instrument an expression of kind ${binaryen.getExpressionId(expr)}; build without --preempt`);
  return kids;
}

export interface FuelCheckOptions {
  /**
   * Tests only: also check in the code the runtime calls back into (GC visitors,
   * finalizers), which leaves the runtimeDepth guard alone to keep the switch out.
   */
  checkRuntimeCallbacks?: boolean;
}

/** Adds fuel checks; returns how many were inserted. */
export function insertFuelChecks(module: binaryen.Module, options: FuelCheckOptions = {}): number {
  if (!module.getFunction(PREEMPT) || !module.getGlobal(DEPTH)) throw new StasisError("COMPILE_ERROR", "stasis internal: __stasis_preempt or runtimeDepth is missing; the runtime library is out of date");
  const { preemptible, entries, walked, fromRuntime } = classify(module);
  if (options.checkRuntimeCallbacks) for (const name of fromRuntime) if (["program", "library"].includes(ownerOf(name))) preemptible.add(name);
  const burn = () => module.global.set(FUEL, module.i32.sub(module.global.get(FUEL, binaryen.i32), module.i32.const(1)));
  const empty = () => module.i32.lt_s(module.global.get(FUEL, binaryen.i32), module.i32.const(0));
  const preempt = () => module.call(PREEMPT, [], binaryen.none);
  const before = (check: number, body: number) => module.block(null, [check, body], binaryen.getExpressionType(body));
  let labels = 0;
  /** Rewrites `loop` in place as the header comment shows. */
  const guardLoop = (loop: number) => {
    const n = labels++;
    const again = `stasis:again${n}`, done = `stasis:done${n}`, out = `stasis:preempt${n}`;
    const type = binaryen.getExpressionType(loop);
    const check = module.block(null, [burn(), module.br(out, empty())]);
    const inner = module.loop(wrappers.Loop.getName(loop), before(check, wrappers.Loop.getBody(loop)));
    let body: number;
    if (type === binaryen.unreachable) {
      // The loop never falls through: nothing to carry out of it.
      body = module.block(null, [module.block(out, [inner], binaryen.none), preempt(), module.br(again)], binaryen.unreachable);
    } else {
      const exit = type === binaryen.none ? [inner, module.br(done)] : [module.br(done, 0, inner)];
      body = module.block(done, [module.block(out, exit, binaryen.none), preempt(), module.br(again)], type);
    }
    wrappers.Loop.setName(loop, again);
    wrappers.Loop.setBody(loop, body);
  };
  let inserted = 0;
  for (const name of preemptible) {
    const func = module.getFunction(name);
    const { calls, callsIndirectly, loops } = walked.get(name)!;
    // Collected before any rewriting: guardLoop changes each loop in place.
    for (const loop of loops) {
      guardLoop(loop);
      inserted++;
    }
    // A function that calls nothing runs in bounded time between its loop checks, so it
    // needs no entry check; leaving small ones (field accessors) untouched keeps them
    // inlinable. Any function that calls may recurse, so it gets one.
    if (calls.size > 0 || callsIndirectly) {
      wrappers.Function.setBody(func, before(module.block(null, [burn(), module.if(empty(), preempt())]), binaryen.getFunctionInfo(func).body));
      inserted++;
    }
  }
  guardRuntime(module, entries);
  return inserted;
}
