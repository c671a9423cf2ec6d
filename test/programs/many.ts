// 100,000 tasklets spawned, switched and finished.
import { Task, Tasklet, spawn, schedule } from "stasis/assembly";

const COUNT = 100_000;
let finished = 0;
let sum: i64 = 0;

class Small extends Task {
  constructor(public n: i32) { super(); }
  run(): void {
    schedule();
    schedule();
    sum += this.n;
    finished++;
  }
}

export function main(): void {
  const all = new Array<Tasklet>(COUNT);
  for (let i = 0; i < COUNT; i++) all[i] = spawn(new Small(i));
  for (let i = 0; i < COUNT; i++) all[i].join();
  console.log("finished " + finished.toString() + " sum " + sum.toString());
}
