import { Task, spawn, schedule, Tasklet } from "stasis/assembly";
class Yielder extends Task {
  constructor(public n: i32) { super(); }
  run(): void { for (let i = 0; i < this.n; i++) schedule(); }
}
export function main(): void {
  const ts = new Array<Tasklet>();
  for (let i = 0; i < 1000; i++) ts.push(spawn(new Yielder(200)));
  for (let i = 0; i < 1000; i++) ts[i].join();
}
