// A fleet workload: producer tasklets feed a channel, a consumer keeps a growing linked
// structure alive across switches while everyone allocates garbage (GC pressure), host
// calls are answered by a handler, and a short sleep sits in the middle. Its output is
// deterministic: the fleet must print exactly this, however often it is interrupted.
import { Task, Tasklet, Channel, spawn, schedule, hostCall, sleep } from "stasis/assembly";

class Cell {
  constructor(public value: i32, public label: string, public next: Cell | null) {}
}

class Producer extends Task {
  constructor(public ch: Channel<i32>, public base: i32, public count: i32) { super(); }
  run(): void {
    for (let i = 0; i < this.count; i++) {
      const garbage = new Array<string>();
      for (let k = 0; k < 8; k++) garbage.push("g" + (this.base + i + k).toString());
      this.ch.send(this.base + i);
      if (i % 7 == 0) schedule();
    }
  }
}

class Consumer extends Task {
  total: i64 = 0;
  head: Cell | null = null;
  constructor(public ch: Channel<i32>, public expected: i32) { super(); }
  run(): void {
    for (let i = 0; i < this.expected; i++) {
      const v = this.ch.receive();
      this.total += v;
      this.head = new Cell(v, "c" + v.toString(), this.head);
      if (i % 250 == 249) {
        let n = 0;
        let ok = true;
        let cell = this.head;
        while (cell) {
          if (cell.label != "c" + cell.value.toString()) ok = false;
          cell = cell.next;
          n++;
        }
        console.log("consumed " + (i + 1).toString() + " cells " + n.toString() + (ok ? " intact" : " DAMAGED"));
      }
    }
  }
}

export function main(): void {
  const rounds = 2;
  for (let round = 0; round < rounds; round++) {
    const ch = new Channel<i32>(4);
    const producers = new Array<Tasklet>();
    for (let p = 0; p < 4; p++) producers.push(spawn(new Producer(ch, round * 100000 + p * 10000, 250)));
    const consumer = new Consumer(ch, 1000);
    const c = spawn(consumer);
    c.join();
    for (let p = 0; p < producers.length; p++) producers[p].join();
    const answer = hostCall("double", consumer.total.toString());
    console.log("round " + round.toString() + " total " + consumer.total.toString() + " doubled " + (answer.ok ? answer.text() : "error " + answer.error));
    sleep(100);
    console.log("round " + round.toString() + " slept");
  }
  console.log("job done");
}
