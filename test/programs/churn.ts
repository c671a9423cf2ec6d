// Random churn for the delta-image test (test/delta.test.ts): the host answers each
// tasklet's "op" call with a command (allocate, free, spawn, yield, exit), and main's
// "main" call with a worker to spawn or "end". Allocations up to 300 KB grow memory.
import { Task, Tasklet, spawn, schedule, hostCall } from "stasis/assembly";

const held = new Array<Uint8Array>();
let total: i64 = 0;

class Worker extends Task {
  constructor(public id: i32) { super(); }
  run(): void {
    for (;;) {
      const r = hostCall("op", this.id.toString());
      if (!r.ok) return;
      const command = r.text();
      const code = command.charCodeAt(0);
      const n = I32.parseInt(command.substring(1));
      if (code == 0x61) {
        // a<n>: allocate n bytes and keep them
        const bytes = new Uint8Array(n);
        for (let i = 0; i < n; i += 97) bytes[i] = <u8>(i + this.id);
        held.push(bytes);
        if (held.length > 24) held.shift();
      } else if (code == 0x66) {
        // f<n>: drop one kept allocation
        if (held.length > 0) held.splice(n % held.length, 1);
      } else if (code == 0x73) {
        // s<n>: spawn a worker
        spawn(new Worker(n));
      } else if (code == 0x79) {
        // y<n>: yield n times
        for (let i = 0; i < n; i++) schedule();
      } else if (code == 0x78) {
        // x: this tasklet finishes
        return;
      }
      total += n;
    }
  }
}

export function main(): void {
  const first = new Array<Tasklet>();
  for (let i = 0; i < 3; i++) first.push(spawn(new Worker(i)));
  for (;;) {
    const r = hostCall("main", "");
    if (r.text() == "end") break;
    spawn(new Worker(I32.parseInt(r.text())));
  }
  console.log("total " + total.toString());
}
