// Shared by the memory benchmarks' programs (suspended.ts, parked.ts): how many bytes of
// linear memory are in use. Not a program itself.
import { ROOT } from "rt/tlsf";
import { BLOCK_OVERHEAD } from "rt/common";

/**
 * Bytes of linear memory in use after a full GC: memory size minus the free blocks
 * in the TLSF allocator's free lists (wasm32 layout of ~lib/rt/tlsf's Root: 23 × 16
 * list heads from byte 96; a free block keeps its `next` link at byte 8).
 */
export function heapInUse(): usize {
  __collect();
  const root = changetype<usize>(ROOT);
  let free: usize = 0;
  for (let i: usize = 0; i < 23 * 16; i++) {
    let block = load<usize>(root + 96 + (i << 2));
    while (block) {
      free += BLOCK_OVERHEAD + (load<usize>(block) & ~<usize>3);
      block = load<usize>(block, 8);
    }
  }
  return (<usize>memory.size() << 16) - free;
}
