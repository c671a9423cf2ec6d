// One misuse (or failure) per scenario; the host selects it before the first step.
import { Task, Tasklet, Channel, spawn, schedule, current } from "stasis/assembly";

let scenario = 0;
export function setScenario(n: i32): void {
  scenario = n;
}

class Idle extends Task {
  run(): void {}
}
class Receiver extends Task {
  constructor(public ch: Channel<i32>) { super(); }
  run(): void {
    this.ch.receive();
  }
}
class JoinOther extends Task {
  other: Tasklet | null = null;
  run(): void {
    schedule();
    this.other!.join();
  }
}
class Thrower extends Task {
  run(): void {
    schedule();
    throw new Error("boom from a tasklet");
  }
}
class OutOfBounds extends Task {
  run(): void {
    schedule();
    store<i32>(0xfffffff0, 1);
  }
}

export function main(): void {
  if (scenario == 1) {
    current().join();
  } else if (scenario == 2) {
    const t = spawn(new Idle());
    t.join();
    t.switchTo();
  } else if (scenario == 3) {
    const ch = new Channel<i32>(1);
    ch.close();
    ch.send(1);
  } else if (scenario == 4) {
    const ch = new Channel<i32>();
    ch.close();
    ch.close();
  } else if (scenario == 5) {
    new Channel<i32>().receive();
  } else if (scenario == 6) {
    const a = new JoinOther();
    const b = new JoinOther();
    const ta = spawn(a);
    const tb = spawn(b);
    a.other = tb;
    b.other = ta;
    ta.join();
  } else if (scenario == 7) {
    const ch = new Channel<i32>();
    const r = spawn(new Receiver(ch));
    schedule();
    r.switchTo();
  } else if (scenario == 8) {
    spawn(new Thrower()).join();
  } else if (scenario == 9) {
    spawn(new OutOfBounds()).join();
  } else if (scenario == 10) {
    schedule();
    store<i32>(0xfffffff0, 1);
  }
  console.log("scenario " + scenario.toString() + " finished");
}
