// Channel semantics, printed as a log the test compares line by line.
import { Task, Channel, spawn, schedule, current } from "stasis/assembly";

function log(s: string): void {
  console.log(s);
}

class Producer extends Task {
  constructor(public ch: Channel<i32>, public count: i32, public tag: string) { super(); }
  run(): void {
    for (let i = 0; i < this.count; i++) {
      log(this.tag + " sends " + i.toString());
      this.ch.send(i);
      log(this.tag + " sent " + i.toString());
    }
    this.ch.close();
    log(this.tag + " closed");
  }
}

class Drain extends Task {
  constructor(public ch: Channel<i32>) { super(); }
  run(): void {
    while (true) {
      const v = this.ch.receive();
      if (!this.ch.ok) break;
      log("got " + v.toString());
    }
    log("drained, ok=" + (this.ch.ok ? "true" : "false"));
  }
}

class Point {
  constructor(public x: f64, public label: string) {}
}

class TypedSender extends Task {
  constructor(public floats: Channel<f64>, public bigs: Channel<i64>, public points: Channel<Point | null>, public flags: Channel<bool>) { super(); }
  run(): void {
    this.floats.send(-0.5);
    this.floats.send(1e300);
    this.bigs.send(-9007199254740993);
    this.points.send(new Point(2.25, "p"));
    this.points.send(null);
    this.flags.send(true);
  }
}

/** A prime sieve: a chain of filter tasklets connected by unbuffered channels. */
class Generate extends Task {
  constructor(public out: Channel<i32>, public limit: i32) { super(); }
  run(): void {
    for (let i = 2; i <= this.limit; i++) this.out.send(i);
    this.out.close();
  }
}
class Filter extends Task {
  constructor(public input: Channel<i32>, public out: Channel<i32>, public prime: i32) { super(); }
  run(): void {
    while (true) {
      const v = this.input.receive();
      if (!this.input.ok) break;
      if (v % this.prime != 0) this.out.send(v);
    }
    this.out.close();
  }
}

class Blocked extends Task {
  constructor(public ch: Channel<string>) { super(); }
  run(): void {
    const s = this.ch.receive();
    log("blocked receiver woke: ok=" + (this.ch.ok ? "true" : "false") + " value=" + (changetype<usize>(s) == 0 ? "null" : s));
  }
}

export function main(): void {
  // Unbuffered: a send completes only when the receiver takes the value.
  const rendezvous = new Channel<i32>(0);
  spawn(new Producer(rendezvous, 2, "u"));
  schedule();
  log("main receives " + rendezvous.receive().toString());
  log("main receives " + rendezvous.receive().toString());
  const after = rendezvous.receive();
  log("after close: " + after.toString() + " ok=" + (rendezvous.ok ? "true" : "false"));

  // Buffered: sends do not block until the buffer is full.
  const buffered = new Channel<i32>(2);
  const p = spawn(new Producer(buffered, 3, "b"));
  schedule();
  log("buffered length " + buffered.length.toString());
  spawn(new Drain(buffered)).join();
  p.join();

  // Values of every kind pass through intact.
  const floats = new Channel<f64>();
  const bigs = new Channel<i64>();
  const points = new Channel<Point | null>(1);
  const flags = new Channel<bool>();
  spawn(new TypedSender(floats, bigs, points, flags));
  log("f64 " + floats.receive().toString() + " " + floats.receive().toString());
  log("i64 " + bigs.receive().toString());
  const pt = points.receive()!;
  log("point " + pt.x.toString() + " " + pt.label);
  log("null point " + (points.receive() === null ? "yes" : "no"));
  log("bool " + (flags.receive() ? "true" : "false"));

  // close() wakes a blocked receiver with ok=false and the zero value.
  const strings = new Channel<string>();
  const w = spawn(new Blocked(strings));
  schedule();
  strings.close();
  w.join();

  // Pipeline: primes below 50.
  let ch = new Channel<i32>();
  spawn(new Generate(ch, 50));
  let primes = "";
  while (true) {
    const prime = ch.receive();
    if (!ch.ok) break;
    primes += prime.toString() + " ";
    const next = new Channel<i32>();
    spawn(new Filter(ch, next, prime));
    ch = next;
  }
  log("primes " + primes.trimEnd());
  log("main is " + (current().id == 1 ? "tasklet 1" : "?"));
}
