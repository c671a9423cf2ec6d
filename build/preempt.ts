// The --preempt build step: fuel checks at every loop header and at the entry of every
// function that makes calls, in the program's own functions (see assembly/preempt.ts). Runs right after asc compiles,
// before it optimizes (so code inlined later carries its checks along) and before
// Asyncify (which then instruments exactly the functions that can now switch).
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
// back in through $again is the same as carrying on. Asyncify guards, with reads of its
// state, every piece of code in a loop that holds a call which can unwind; this way a loop
// whose body calls nothing that can switch holds no such call, and Asyncify wraps it whole
// in one guard. (With the call inside the loop, the kernels of bench/callgrind.sh ran at
// 1.13–1.25× the instructions of a plain build; with it outside, at 1.07–1.12×.)
//
// The runtime library (~lib/…), start-up code and export wrappers are left alone:
// preempting the allocator or the collector mid-update would corrupt the heap every
// tasklet shares.
import binaryen from "binaryen";
import { StasisError } from "../host/errors.ts";

/** Expression setters binaryen.js has but does not declare. */
const wrappers = binaryen as unknown as {
  Loop: { setName(loop: number, name: string): void; getName(loop: number): string; getBody(loop: number): number; setBody(loop: number, body: number): void };
  Function: { setBody(func: binaryen.FunctionRef, body: number): void };
};

const FUEL = "~lib/stasis/assembly/preempt/fuel";
const PREEMPT = "~lib/stasis/assembly/host/__stasis_preempt";

function isProgramFunction(name: string): boolean {
  return !name.startsWith("~") && !name.startsWith("start:") && !name.startsWith("export:");
}

/** The child expressions of `expr`, by kind (only the kinds asc emits without proposals). */
function children(expr: number): number[] {
  const id = binaryen.getExpressionId(expr);
  const pick = (...fields: string[]) => {
    const info = binaryen.getExpressionInfo(expr) as unknown as Record<string, number | number[]>;
    return fields.flatMap((f) => (Array.isArray(info[f]) ? (info[f] as number[]) : [info[f] as number])).filter((e) => e);
  };
  switch (id) {
    case binaryen.BlockId: return pick("children");
    case binaryen.IfId: return pick("condition", "ifTrue", "ifFalse");
    case binaryen.LoopId: return pick("body");
    case binaryen.BreakId: return pick("condition", "value");
    case binaryen.SwitchId: return pick("condition", "value");
    case binaryen.CallId: return pick("operands");
    case binaryen.CallIndirectId: return pick("target", "operands");
    case binaryen.LocalSetId: case binaryen.GlobalSetId: case binaryen.UnaryId: case binaryen.DropId: case binaryen.ReturnId: return pick("value");
    case binaryen.LoadId: return pick("ptr");
    case binaryen.StoreId: return pick("ptr", "value");
    case binaryen.BinaryId: return pick("left", "right");
    case binaryen.SelectId: return pick("ifTrue", "ifFalse", "condition");
    case binaryen.MemoryGrowId: return pick("delta");
    case binaryen.MemoryCopyId: return pick("dest", "source", "size");
    case binaryen.MemoryFillId: return pick("dest", "value", "size");
    case binaryen.MemoryInitId: return pick("dest", "offset", "size");
    case binaryen.LocalGetId: case binaryen.GlobalGetId: case binaryen.ConstId: case binaryen.NopId: case binaryen.UnreachableId:
    case binaryen.MemorySizeId: case binaryen.DataDropId:
      return [];
    default:
      throw new StasisError("COMPILE_ERROR", `--preempt cannot instrument an expression of kind ${id}; build without --preempt`);
  }
}

/** Adds fuel checks; returns how many were inserted. */
export function insertFuelChecks(module: binaryen.Module): number {
  if (!module.getFunction(PREEMPT)) throw new StasisError("COMPILE_ERROR", "stasis internal: __stasis_preempt is missing; the runtime library is out of date");
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
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const func = module.getFunctionByIndex(i);
    const info = binaryen.getFunctionInfo(func);
    if (info.module || !isProgramFunction(info.name)) continue;
    const pending = [info.body];
    let calls = false;
    while (pending.length > 0) {
      const expr = pending.pop()!;
      // Pushed before guardLoop rewrites a loop: the original body is still walked, the new nodes are not.
      pending.push(...children(expr));
      const id = binaryen.getExpressionId(expr);
      if (id === binaryen.CallId || id === binaryen.CallIndirectId) calls = true;
      if (id === binaryen.LoopId) {
        guardLoop(expr);
        inserted++;
      }
    }
    // A function that calls nothing runs in bounded time between its loop checks, so it
    // needs no entry check; leaving small ones (field accessors) untouched keeps them
    // inlinable. Any function that calls may recurse, so it gets one.
    if (calls) {
      wrappers.Function.setBody(func, before(module.block(null, [burn(), module.if(empty(), preempt())]), info.body));
      inserted++;
    }
  }
  return inserted;
}
