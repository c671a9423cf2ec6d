// The child expressions of a Binaryen expression, in wasm evaluation order (operands
// before a call_indirect's target, a br's value before its condition). Shared by the
// build steps that walk function bodies: frames.ts, which must visit calls in the order
// Asyncify numbers them, and preempt.ts, which collects callees and loops (any order).
// Covers the kinds asc emits without wasm proposals.
import binaryen from "binaryen";

/** The child expressions of `expr`, in evaluation order; null for a kind not handled. */
export function childExpressions(expr: number): number[] | null {
  const pick = (...fields: string[]) => {
    const info = binaryen.getExpressionInfo(expr) as unknown as Record<string, number | number[]>;
    return fields.flatMap((f) => (Array.isArray(info[f]) ? (info[f] as number[]) : [info[f] as number])).filter((e) => e);
  };
  switch (binaryen.getExpressionId(expr)) {
    case binaryen.BlockId: return pick("children");
    case binaryen.IfId: return pick("condition", "ifTrue", "ifFalse");
    case binaryen.LoopId: return pick("body");
    case binaryen.BreakId: return pick("value", "condition");
    case binaryen.SwitchId: return pick("value", "condition");
    case binaryen.CallId: return pick("operands");
    case binaryen.CallIndirectId: return pick("operands", "target");
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
      return null;
  }
}
