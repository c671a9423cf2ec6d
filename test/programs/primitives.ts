// Every primitive and status transition, printed as a log the test compares line by line.
import { Task, Tasklet, TaskletStatus, spawn, schedule, current } from "stasis/assembly";

function statusName(s: TaskletStatus): string {
  switch (s) {
    case TaskletStatus.Suspended: return "suspended";
    case TaskletStatus.Running: return "running";
    case TaskletStatus.Normal: return "normal";
    default: return "dead";
  }
}

function log(s: string): void {
  console.log(s);
}

class Echo extends Task {
  constructor(public name: string, public rounds: i32) { super(); }
  run(): void {
    log(this.name + " starts as " + statusName(current().status) + " id " + current().id.toString());
    for (let i = 0; i < this.rounds; i++) {
      schedule();
      log(this.name + " round " + i.toString());
    }
  }
}

/** Ping-pong with direct switches: each side switches to the other. */
let pingTasklet: Tasklet | null = null;
let pongTasklet: Tasklet | null = null;
class Ping extends Task {
  run(): void {
    for (let i = 0; i < 3; i++) {
      log("ping " + i.toString() + " (pong is " + statusName(pongTasklet!.status) + ")");
      pongTasklet!.switchTo();
    }
    log("ping done");
    pongTasklet!.switchTo();
  }
}
class Pong extends Task {
  run(): void {
    for (let i = 0; i < 3; i++) {
      log("pong " + i.toString() + " (ping is " + statusName(pingTasklet!.status) + ")");
      pingTasklet!.switchTo();
    }
    log("pong done");
  }
}

class Joiner extends Task {
  constructor(public target: Tasklet) { super(); }
  run(): void {
    this.target.join();
    log("joiner saw target " + statusName(this.target.status));
  }
}

export function main(): void {
  const me = current();
  log("main id " + me.id.toString() + " " + statusName(me.status));

  const a = spawn(new Echo("a", 2));
  log("a spawned " + statusName(a.status) + " id " + a.id.toString());
  const b = spawn(new Echo("b", 1));
  schedule();
  log("main back; a " + statusName(a.status) + ", b " + statusName(b.status));
  const j = spawn(new Joiner(a));
  schedule();
  log("joiner waiting: " + statusName(j.status));
  a.join();
  log("a joined: " + statusName(a.status));
  b.join();
  a.join();
  log("join on a dead tasklet returns at once");
  j.join();

  pingTasklet = spawn(new Ping());
  pongTasklet = spawn(new Pong());
  pingTasklet!.join();
  pongTasklet!.join();
  log("switchTo self is a no-op");
  me.switchTo();
  log("end");
}
