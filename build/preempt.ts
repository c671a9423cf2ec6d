// The --preempt build step: fuel checks at every loop header and at the entry of every
// function that makes calls, in the program's own functions (see assembly/preempt.ts). Runs right after asc compiles,
// before it optimizes (so code inlined later carries its checks along) and before
// Asyncify (which then instruments exactly the functions that can now switch).
//
// Each check is `fuel -= 1; if (fuel < 0) __stasis_preempt()`. The runtime library
// (~lib/…), start-up code and export wrappers are left alone: preempting the allocator
// or the collector mid-update would corrupt the heap every tasklet shares.
import binaryen from "binaryen";
import { StasisError } from "../host/errors.ts";

/** Expression setters binaryen.js has but does not declare. */
const wrappers = binaryen as unknown as {
  Loop: { getBody(loop: number): number; setBody(loop: number, body: number): void };
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
  const check = () =>
    module.block(null, [
      module.global.set(FUEL, module.i32.sub(module.global.get(FUEL, binaryen.i32), module.i32.const(1))),
      module.if(module.i32.lt_s(module.global.get(FUEL, binaryen.i32), module.i32.const(0)), module.call(PREEMPT, [], binaryen.none)),
    ]);
  const guard = (body: number) => module.block(null, [check(), body], binaryen.getExpressionType(body));
  let inserted = 0;
  for (let i = 0; i < module.getNumFunctions(); i++) {
    const func = module.getFunctionByIndex(i);
    const info = binaryen.getFunctionInfo(func);
    if (info.module || !isProgramFunction(info.name)) continue;
    const pending = [info.body];
    let calls = false;
    while (pending.length > 0) {
      const expr = pending.pop()!;
      pending.push(...children(expr));
      const id = binaryen.getExpressionId(expr);
      if (id === binaryen.CallId || id === binaryen.CallIndirectId) calls = true;
      if (id === binaryen.LoopId) {
        wrappers.Loop.setBody(expr, guard(wrappers.Loop.getBody(expr)));
        inserted++;
      }
    }
    // A function that calls nothing runs in bounded time between its loop checks, so it
    // needs no entry check; leaving small ones (field accessors) untouched keeps them
    // inlinable. Any function that calls may recurse, so it gets one.
    if (calls) {
      wrappers.Function.setBody(func, guard(info.body));
      inserted++;
    }
  }
  return inserted;
}
