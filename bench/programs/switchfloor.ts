// The switch floor (bench/switchcount.ts): the smallest in-module Asyncify ping-pong.
// Built with plain `asc -O3 --runtime stub`, then Binaryen's Asyncify (only the
// asyncify.* imports unwind), then -O3. Two coroutines run the same recursion as
// bench/programs/switch.ts (`depth` nested calls, an int alive in each frame) and yield
// from the deepest one; yieldNow() calls start_unwind itself, so it is top-most and adds
// no instrumented frame. Each coroutine unwinds into and rewinds from its own fixed
// buffer: after an unwind the buffer's `current` is where a rewind starts, and a rewind
// leaves it back at the start, ready for the next unwind. No scheduler, no queue, no
// GC, no copy: what any Asyncify switch must pay, and nothing else.

// @ts-ignore: decorator
@external("asyncify", "start_unwind")
declare function start_unwind(data: usize): void;
// @ts-ignore: decorator
@external("asyncify", "stop_unwind")
declare function stop_unwind(): void;
// @ts-ignore: decorator
@external("asyncify", "start_rewind")
declare function start_rewind(data: usize): void;
// @ts-ignore: decorator
@external("asyncify", "stop_rewind")
declare function stop_rewind(): void;

const BUFFER: usize = 16384;
/** Per coroutine: { current, end } (Asyncify's data structure), then its buffer. */
const AREA: usize = memory.data(<i32>(2 * (8 + BUFFER)), 16);

let depth: i32 = 1;
let rewinding = false;
let unwinding = false;
let started: i32 = 0;
/** The coroutine running now (0 or 1). */
let current: i32 = 0;

export function configure(levels: i32): void {
  depth = levels;
}

// @ts-ignore: decorator
@inline function dataOf(co: i32): usize {
  return AREA + <usize>co * (8 + BUFFER);
}

function yieldNow(): void {
  if (rewinding) {
    rewinding = false;
    stop_rewind();
    return;
  }
  unwinding = true;
  start_unwind(dataOf(current));
}

function dive(level: i32): i32 {
  let acc = level * 7;
  if (level > 1) acc += dive(level - 1);
  else while (true) yieldNow();
  return acc + level;
}

function body(): void {
  dive(depth);
}

/** Makes `n` switches: resumes the two coroutines in turn. Returns the switches made. */
export function run(n: i32): i32 {
  for (let i = 0; i < n; i++) {
    const co = i & 1;
    current = co;
    const data = dataOf(co);
    if (started & (1 << co)) {
      rewinding = true;
      start_rewind(data);
    } else {
      started |= 1 << co;
      store<usize>(data, data + 8);
      store<usize>(data, data + 8 + BUFFER, sizeof<usize>());
    }
    body();
    if (unwinding) {
      unwinding = false;
      stop_unwind();
    }
  }
  return n;
}
