// Host-call scenarios; the host selects one before the first step.
import { Task, Tasklet, spawn, schedule, hostCall, sleep } from "stasis/assembly";

let scenario = 0;
export function setScenario(n: i32): void {
  scenario = n;
}

let wrong = 0;
let answered = 0;

class Worker extends Task {
  constructor(public n: i32) { super(); }
  run(): void {
    const r = hostCall("work", this.n.toString());
    answered++;
    if (!r.ok || r.text() != "done " + this.n.toString()) wrong++;
  }
}

function describe(label: string, name: string): void {
  const r = hostCall(name, label);
  console.log(label + ": " + (r.ok ? "ok " + r.text() : "error " + r.error));
}

/** Called by the host from inside a print callback: a switch there must be refused. */
export function yieldNow(): void {
  schedule();
}

export function main(): void {
  if (scenario == 1) {
    const all = new Array<Tasklet>();
    for (let i = 0; i < 100; i++) all.push(spawn(new Worker(i)));
    for (let i = 0; i < 100; i++) all[i].join();
    console.log(answered.toString() + " answers, " + wrong.toString() + " wrong");
  } else if (scenario == 2) {
    describe("throws", "throws");
    describe("rejects", "rejects");
    describe("unknown", "no-such-function");
    describe("fine", "echo");
  } else if (scenario == 3) {
    sleep(1500);
    console.log("woke");
  } else if (scenario == 4) {
    const r = hostCall("approval", "order-7");
    console.log("approval: " + r.text());
  } else if (scenario == 5) {
    const bytes = new Uint8Array(256);
    for (let i = 0; i < 256; i++) bytes[i] = <u8>i;
    const r = hostCall("reverse", bytes.buffer);
    const back = Uint8Array.wrap(r.bytes);
    let same = back.length == 256;
    for (let i = 0; i < back.length; i++) if (back[i] != <u8>(255 - i)) same = false;
    console.log("bytes " + (same ? "reversed" : "wrong"));
  } else if (scenario == 7) {
    // Names that are Object members, and handlers that misbehave: each an error result.
    describe("constructor", "constructor");
    describe("toString", "toString");
    describe("__proto__", "__proto__");
    describe("number", "number");
    describe("hostile", "hostile");
    describe("thenable", "thenable");
    describe("fine", "echo");
  } else if (scenario == 6) {
    console.log("calling back");
    console.log("not reached");
  }
}
