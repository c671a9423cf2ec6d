// stasis/assembly: the AssemblyScript API of Stasis.
//
//   class Worker extends Task { run(): void { … schedule(); … } }
//   const t = spawn(new Worker());   // t.id, t.status, t.join(), t.switchTo()
//   const ch = new Channel<i32>(0);  // send / receive / close, Go semantics
//
// A program exports `main(): void`; the host runs it as the first tasklet and the
// program ends when main returns. See README.md for the whole contract.
export { Task, Tasklet, TaskletStatus, WaitReason } from "./tasklet";
export { spawn, schedule, current } from "./scheduler";
export { Channel } from "./channel";
export { HostResult, hostCall, sleep } from "./hostcall";
