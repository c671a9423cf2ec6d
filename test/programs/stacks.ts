// Stack decoding (host/stacks.ts): tasklets that block in many shapes, each keeping its
// own record of where it is (the functions it is in, outermost first, and what it is
// about to wait on), which the test compares with the stack decoded from memory.
import { Task, Tasklet, Channel, spawn, schedule, current, hostCall, sleep } from "stasis/assembly";

const paths = new Map<i32, Array<string>>();
const waits = new Map<i32, string>();

function enterFrame(name: string): void {
  const id = current().id;
  if (!paths.has(id)) paths.set(id, new Array<string>());
  paths.get(id).push(name);
}

function leaveFrame(): void {
  paths.get(current().id).pop();
}

function waitingOn(what: string): void {
  waits.set(current().id, what);
}

/** The tasklet's own record: "A>B>C|wait". */
export function reportOf(id: i32): string {
  if (!paths.has(id)) return "";
  return paths.get(id).join(">") + "|" + (waits.has(id) ? waits.get(id) : "");
}

let withSpinner = false;
export function setPreempt(on: i32): void {
  withSpinner = on != 0;
}

// Deep mixed recursion: two mutually recursive functions and a recursive method.
class Tree {
  constructor(public depth: i32) {}
  walk(level: i32, pad: string): i32 {
    enterFrame("Tree#walk");
    let sum = level;
    if (level < this.depth) sum += this.walk(level + 1, pad + ".");
    else {
      waitingOn("schedule() (runnable)");
      while (true) schedule();
    }
    leaveFrame();
    return sum + pad.length;
  }
}

function even(n: i32, tree: Tree): i64 {
  enterFrame("even");
  const big: i64 = <i64>n * 10_000_000_000;
  const r = n > 0 ? odd(n - 1, tree) : <i64>tree.walk(0, "");
  leaveFrame();
  return r + big;
}

function odd(n: i32, tree: Tree): i64 {
  enterFrame("odd");
  const f: f64 = <f64>n / 3;
  const r = even(n - 1, tree);
  leaveFrame();
  return r + <i64>f;
}

class Walker extends Task {
  run(): void {
    enterFrame("Walker#run");
    even(7, new Tree(4));
  }
}

// Virtual dispatch: run() is overridden; the base run() calls a virtual method.
class Stage extends Task {
  run(): void {
    enterFrame("Stage#run");
    this.work(3);
  }
  work(n: i32): void {
    enterFrame("Stage#work");
    waitingOn("schedule() (runnable)");
    while (true) schedule();
  }
}

class FinalStage extends Stage {
  run(): void {
    enterFrame("FinalStage#run");
    super.run();
  }
  work(n: i32): void {
    enterFrame("FinalStage#work");
    if (n > 0) this.work(n - 1);
    waitingOn("schedule() (runnable)");
    while (true) schedule();
  }
}

// Channels: a receiver on an empty channel, a sender on a full one.
const empty = new Channel<i32>(0);
const full = new Channel<string>(1);

function drain(): i32 {
  enterFrame("drain");
  waitingOn("Channel#receive");
  return empty.receive();
}

class Receiver extends Task {
  run(): void {
    enterFrame("Receiver#run");
    drain();
  }
}

function flood(text: string): void {
  enterFrame("flood");
  full.send(text);
  waitingOn("Channel#send");
  full.send(text + "!");
}

class Sender extends Task {
  run(): void {
    enterFrame("Sender#run");
    flood("hello");
  }
}

// Host calls and sleep.
function awaitApproval(order: string): bool {
  enterFrame("awaitApproval");
  waitingOn('hostCall("approval", "' + order + '")');
  return hostCall("approval", order).ok;
}

class Approver extends Task {
  constructor(public order: string) { super(); }
  run(): void {
    enterFrame("Approver#run");
    awaitApproval(this.order);
  }
}

function nap(ms: i64): void {
  enterFrame("nap");
  waitingOn("sleep");
  sleep(ms);
}

class Sleeper extends Task {
  run(): void {
    enterFrame("Sleeper#run");
    nap(3_600_000);
  }
}

// An indirect call: the callee is reached through a function reference.
let step: (n: i32) => void = (n: i32): void => {};
function countdown(n: i32): void {
  enterFrame("countdown");
  if (n > 0) {
    const next = step;
    next(n - 1);
  } else {
    waitingOn("schedule() (runnable)");
    while (true) schedule();
  }
}

class Indirect extends Task {
  run(): void {
    enterFrame("Indirect#run");
    step = countdown;
    step(3);
  }
}

// A loop that never yields: only --preempt builds can stop it.
let spins: i64 = 0;
function spin(level: i32): void {
  enterFrame("spin");
  if (level > 0) spin(level - 1);
  else {
    waitingOn("preempted (runnable)");
    while (true) spins++;
  }
}

class Spinner extends Task {
  run(): void {
    enterFrame("Spinner#run");
    spin(2);
  }
}

export function main(): void {
  enterFrame("main");
  const all = new Array<Tasklet>();
  all.push(spawn(new Walker()));
  all.push(spawn(new Stage()));
  all.push(spawn(new FinalStage()));
  all.push(spawn(new Receiver()));
  all.push(spawn(new Sender()));
  all.push(spawn(new Approver("order-17")));
  all.push(spawn(new Sleeper()));
  all.push(spawn(new Indirect()));
  if (withSpinner) all.push(spawn(new Spinner()));
  waitingOn("join(" + all[0].id.toString() + ")");
  all[0].join();
}
