// A program whose long computation is one call into an npm AssemblyScript library
// (assemblyscript-json, a devDependency): JSON.parse of a large array. Under --preempt
// library code is preemptible like the program's own, so the parse is time-sliced: the
// ticker tasklet runs while it is in progress.
import { JSON } from "assemblyscript-json/assembly";
import { Task, spawn, schedule } from "stasis/assembly";

let parsing = false;
let finished = false;
let ticksDuringParse = 0;

class Ticker extends Task {
  run(): void {
    while (!finished) {
      if (parsing) ticksDuringParse++;
      schedule();
    }
  }
}

let elements = 3000;
export function setElements(n: i32): void {
  elements = n;
}

export function main(): void {
  const ticker = spawn(new Ticker());
  const parts = new Array<string>();
  for (let i = 0; i < elements; i++) parts.push((i * 7 % 1000).toString());
  const text = "[" + parts.join(",") + "]";
  console.log("parsing " + text.length.toString() + " bytes");
  parsing = true;
  const parsed = <JSON.Arr>JSON.parse(text);
  parsing = false;
  let sum: i64 = 0;
  const values = parsed.valueOf();
  for (let i = 0; i < values.length; i++) sum += (<JSON.Integer>values[i]).valueOf();
  console.log("elements " + values.length.toString() + ", sum " + sum.toString());
  finished = true;
  ticker.join();
  console.log("ticks during the parse: " + (ticksDuringParse > 0 ? "some" : "none"));
}
