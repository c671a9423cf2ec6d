// The switch benchmark's program (bench/programs/switch.ts) as JS-driven Asyncify runs
// it: the same recursion — every frame keeps an int and a managed reference alive —
// but the deepest frame yields by calling a host import, and the host (bench/jsdriven.ts)
// unwinds the whole stack back to JavaScript and later rewinds it, the pattern of
// GoogleChromeLabs/asyncify and Emscripten fibers. Built with plain asc, then Asyncify
// with only that import allowed to unwind; no Stasis runtime is involved.
@external("bench", "yield")
declare function yieldToHost(): void;

let depth: i32 = 1;

export function configure(levels: i32): void {
  depth = levels;
}

/** A block the collector never frees (a fiber's Asyncify buffer or shadow stack). */
export function alloc(bytes: i32): usize {
  return heap.alloc(<usize>bytes);
}

class Frame {
  constructor(public level: i32) {}
}

function dive(level: i32): i32 {
  const frame = new Frame(level);
  let acc = level * 7;
  if (level > 1) acc += dive(level - 1);
  else while (true) yieldToHost();
  return acc + frame.level;
}

/** A fiber's entry point: never returns normally, only unwinds. */
export function run(): void {
  dive(depth);
}
