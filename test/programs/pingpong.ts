import { Task, spawn, schedule, Channel } from "stasis/assembly";

class Counter extends Task {
  constructor(public name: string, public n: i32) { super(); }
  run(): void {
    for (let i = 0; i < this.n; i++) {
      console.log(this.name + " " + i.toString());
      schedule();
    }
  }
}

export function main(): void {
  const a = spawn(new Counter("a", 3));
  const b = spawn(new Counter("b", 3));
  a.join();
  b.join();
  console.log("done");
}
