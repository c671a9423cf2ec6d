// Deep recursion across switches, with locals of every type live across each switch.
import { Task, Tasklet, spawn, schedule } from "stasis/assembly";

let depth = 250;
let failures = 0;
export function setDepth(n: i32): void {
  depth = n;
}
export function getFailures(): i32 {
  return failures;
}

class Box {
  constructor(public n: i32) {}
}

/** Recurses to `level`, switching at every 50th frame on the way down and at the bottom. */
function descend(level: i32, total: i32): i64 {
  const a: i32 = level * 3 + 1;
  const b: i64 = <i64>level * 1_000_000_007;
  const c: f32 = <f32>level / 4;
  const d: f64 = <f64>level * 0.001 + 1e10;
  const box = new Box(level);
  const text = "frame " + level.toString();
  if (level % 50 == 0) schedule();
  let below: i64 = 0;
  if (level < total) below = descend(level + 1, total);
  else schedule();
  if (level % 50 == 25) schedule();
  if (a != level * 3 + 1 || b != <i64>level * 1_000_000_007 || c != <f32>level / 4 || d != <f64>level * 0.001 + 1e10) failures++;
  if (box.n != level || text != "frame " + level.toString()) failures++;
  return below + <i64>level;
}

class Diver extends Task {
  result: i64 = 0;
  constructor(public total: i32) { super(); }
  run(): void {
    this.result = descend(0, this.total);
  }
}

class Shallow extends Task {
  steps: i32 = 0;
  run(): void {
    for (let i = 0; i < 20; i++) {
      schedule();
      this.steps++;
    }
  }
}

export function main(): void {
  const diver = new Diver(depth);
  const shallow = new Shallow();
  const t = spawn(diver);
  const s = spawn(shallow);
  t.join();
  s.join();
  const expected = <i64>depth * (<i64>depth + 1) / 2;
  console.log("diver " + (t.failed ? "stopped" : diver.result == expected ? "ok" : "wrong " + diver.result.toString()));
  console.log("shallow steps " + shallow.steps.toString() + ", failures " + failures.toString());
}
