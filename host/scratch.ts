// The Asyncify scratch region (assembly/switch.ts) in images: every unwind writes it
// before reading, and nothing else reads it, so between steps it is dead. Images leave
// its whole chunks out. A fresh instance holds zeros there; an instance reused for a thaw
// (pool.ts) gets it zeroed with the rest of what the image does not cover (runtime.ts), so
// no bytes of an earlier computation stay behind (the bytes of partial chunks at its
// edges travel in the image as they are).
// Modules without the exports (built before them) keep the region in their images.
import type { StasisExports } from "./abi.ts";

/** The whole chunks [first, end) of the scratch region, or null. */
export function scratchChunks(stasis: StasisExports, chunkLog2: number): [number, number] | null {
  if (!stasis.__stasis_scratch_start || !stasis.__stasis_scratch_end) return null;
  const start = stasis.__stasis_scratch_start() >>> 0;
  const end = stasis.__stasis_scratch_end() >>> 0;
  const bytes = 2 ** chunkLog2;
  const first = Math.ceil(start / bytes);
  const last = Math.floor(end / bytes);
  return end > start && last > first ? [first, last] : null;
}

/** `ranges` ([first, end) chunk runs, ascending) with the chunks [cut[0], cut[1]) taken out. */
export function withoutChunks(ranges: [number, number][], cut: [number, number] | null): [number, number][] {
  if (!cut) return ranges;
  const [from, to] = cut;
  return ranges.flatMap(([first, end]): [number, number][] => {
    if (end <= from || first >= to) return [[first, end]];
    const kept: [number, number][] = [];
    if (first < from) kept.push([first, from]);
    if (end > to) kept.push([to, end]);
    return kept;
  });
}
