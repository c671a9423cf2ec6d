// Failure isolation (host/isolate.ts): tasklets that throw or trap stop alone; the others
// run on. One scenario per run, chosen by the host with setScenario before the first step.
import { Task, Tasklet, Channel, spawn, schedule, hostCall } from "stasis/assembly";

let scenario = 0;
export function setScenario(n: i32): void {
  scenario = n;
}

function report(t: Tasklet): string {
  const error = t.error;
  return "tasklet " + t.id.toString() + (t.failed ? " failed: " + (error ? error : "?") : " ok");
}

class Thrower extends Task {
  constructor(public rounds: i32) { super(); }
  run(): void {
    for (let i = 0; i < this.rounds; i++) schedule();
    throw new Error("order " + this.rounds.toString() + " declined");
  }
}

class Counter extends Task {
  count: i32 = 0;
  constructor(public rounds: i32) { super(); }
  run(): void {
    for (let i = 0; i < this.rounds; i++) {
      this.count++;
      schedule();
    }
  }
}

// 0: joins. Three joiners wait on a tasklet that throws; a counter runs on.
class Joiner extends Task {
  constructor(public target: Tasklet) { super(); }
  run(): void {
    this.target.join();
    console.log("joiner saw " + report(this.target));
  }
}

function joins(): void {
  const thrower = spawn(new Thrower(3));
  const counter = new Counter(10);
  const c = spawn(counter);
  const joiners = new Array<Tasklet>();
  for (let i = 0; i < 3; i++) joiners.push(spawn(new Joiner(thrower)));
  thrower.join();
  for (let i = 0; i < joiners.length; i++) joiners[i].join();
  c.join();
  console.log("main saw " + report(thrower) + ", dead " + (thrower.status == 3 ? "yes" : "no"));
  console.log("counter " + counter.count.toString());
}

// 1: channels. Two consumers share a channel; one throws after its first value, the
// other drains the rest; a third tasklet is blocked sending on another channel the
// failed one would have read.
const work = new Channel<i32>(0);
const results = new Channel<i32>(4);
let drained: i64 = 0;

class Consumer extends Task {
  constructor(public fragile: bool) { super(); }
  run(): void {
    while (true) {
      const v = work.receive();
      if (!work.ok) break;
      if (this.fragile) throw new Error("consumer choked on " + v.toString());
      drained += v;
    }
  }
}

class Producer extends Task {
  run(): void {
    for (let i = 1; i <= 20; i++) work.send(i);
    work.close();
  }
}

class Filler extends Task {
  run(): void {
    for (let i = 0; i < 6; i++) results.send(i);
  }
}

function channels(): void {
  const fragile = spawn(new Consumer(true));
  const steady = spawn(new Consumer(false));
  const producer = spawn(new Producer());
  const filler = spawn(new Filler());
  fragile.join();
  producer.join();
  steady.join();
  let got = 0;
  for (let i = 0; i < 6; i++) got += results.receive();
  filler.join();
  // The fragile consumer took exactly one value (the first it was handed) to its grave.
  console.log("drained " + drained.toString() + " of 210, lost " + (210 - drained).toString() + "; results " + got.toString());
  console.log(report(fragile));
  console.log("work closed " + (work.closed ? "yes" : "no") + ", buffered " + work.length.toString());
}

// 2: host calls pending. One tasklet waits on a deferred host call while another throws.
class Asker extends Task {
  answer: string = "";
  run(): void {
    this.answer = hostCall("approval", "order-17").text();
  }
}

function pendingCalls(): void {
  const asker = new Asker();
  const a = spawn(asker);
  const thrower = spawn(new Thrower(1));
  thrower.join();
  console.log(report(thrower));
  a.join();
  console.log("asker got " + asker.answer);
}

// 3: traps in program code: divide by zero, unreachable, a bad address, a stack overflow.
let zero = 0;
let address: usize = 0xfffffff0;
function recurse(n: i32): i32 {
  return n < 0 ? 0 : recurse(n + 1) + 1;
}

class Trapper extends Task {
  constructor(public kind: i32) { super(); }
  run(): void {
    schedule();
    if (this.kind == 0) console.log((10 / zero).toString());
    else if (this.kind == 1) unreachable();
    else if (this.kind == 2) console.log(load<i32>(address).toString());
    else console.log(recurse(0).toString());
  }
}

function traps(): void {
  const all = new Array<Tasklet>();
  for (let k = 0; k < 4; k++) all.push(spawn(new Trapper(k)));
  const counter = new Counter(5);
  const c = spawn(counter);
  for (let k = 0; k < 4; k++) all[k].join();
  c.join();
  for (let k = 0; k < 4; k++) console.log(report(all[k]));
  console.log("counter " + counter.count.toString());
}

// 4: main throws: the program ends with ABORT, as without isolation.
function mainThrows(): void {
  spawn(new Counter(3));
  schedule();
  throw new Error("main gave up");
}

// 5: a failure inside the runtime library still poisons the instance: an abort in the
// collector (unpinning what is not pinned), or (6) a trap in it (pinning a bad address).
// Running out of memory ends the same way (the allocator traps), only much slower to test.
class Unpinner extends Task {
  run(): void {
    schedule();
    __unpin(changetype<usize>(new ArrayBuffer(8)));
  }
}

class BadPin extends Task {
  run(): void {
    schedule();
    __pin(0xfffffff0);
  }
}

function runtimeFailure(trap: bool): void {
  if (trap) spawn(new BadPin()).join();
  else spawn(new Unpinner()).join();
  console.log("unreachable: the instance should have been poisoned");
}

export function main(): void {
  if (scenario == 0) joins();
  else if (scenario == 1) channels();
  else if (scenario == 2) pendingCalls();
  else if (scenario == 3) traps();
  else if (scenario == 4) mainThrows();
  else runtimeFailure(scenario == 6);
  console.log("main done");
}
