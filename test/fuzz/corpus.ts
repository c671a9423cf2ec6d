// The corpus runner: mutated images through the fuzz target (target.ts) in a child
// process, with a watchdog. A case that does not return within `stallMs` is recorded as a
// loop, the child is killed (SIGKILL) and a new one starts at the next case.
//
// A child process, not a worker thread: terminating a worker thread while V8 still has
// background compile tasks for it (the embedded-module base compiles a module per case)
// can deadlock Node 20's platform (NodePlatform::DrainTasks waits for a task that waits for
// the dead isolate; nodejs/node#54918), which froze every thread of the process here twice.
// Killing a process cannot.
//
// Loops are reported, not failures: an image whose checksum verifies is trusted to be a
// state its program could reach, and a program can loop; a damaged heap can make the
// program (or the scheduler walking that heap) run forever inside one step, as a program
// with `while (true) {}` does. Thawing, listing tasklets and calls, and freezing never run
// program code that can loop. Images from untrusted sources are what the HMAC is for
// (docs/SECURITY.md); steps of untrusted images belong in a worker with a time limit
// (the fleet does that).
import { fork } from "node:child_process";
import { join } from "node:path";
import { packageRoot } from "../../build/paths.ts";
import type { FuzzBase } from "./bases.ts";
import type { WorkerInput } from "./worker.ts";

export interface CorpusReport {
  cases: number;
  results: Record<string, number>;
  /** Anything but a StasisError that escaped, with the case. */
  escapes: string[];
  /** Cases stopped by the watchdog: [base, case]. */
  loops: [number, number][];
}

export interface CorpusOptions {
  seed: number;
  casesPerBase: number;
  stallMs?: number;
  /** Called every 10,000 cases with the report so far. */
  onProgress?: (report: CorpusReport) => void;
}

type FromChild = { case?: [number, number]; result?: string; escape?: string; finished?: boolean };

export async function runCorpus(bases: FuzzBase[], options: CorpusOptions): Promise<CorpusReport> {
  const report: CorpusReport = { cases: 0, results: {}, escapes: [], loops: [] };
  const stallMs = options.stallMs ?? 10_000;
  let from: [number, number] = [0, 0];
  for (;;) {
    const finished = await new Promise<boolean>((resolve, reject) => {
      const input: WorkerInput = { bases, seed: options.seed, casesPerBase: options.casesPerBase, from };
      const child = fork(join(packageRoot(), "dist", "test", "fuzz", "worker.js"), [], { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
      child.send(input);
      let current: [number, number] | null = null;
      /** The child finished its cases or was stopped by the watchdog: its exit is expected. */
      let ending = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          ending = true;
          report.loops.push(current!);
          from = current![1] + 1 < options.casesPerBase ? [current![0], current![1] + 1] : [current![0] + 1, 0];
          child.kill("SIGKILL");
        }, stallMs);
      };
      child.on("message", (message: FromChild) => {
        if (ending) return;
        if (message.case) {
          current = message.case;
          arm();
        } else if (message.result !== undefined) {
          clearTimeout(timer);
          report.cases++;
          report.results[message.result] = (report.results[message.result] ?? 0) + 1;
          if (message.escape !== undefined) report.escapes.push(`base ${current?.[0]} case ${current?.[1]}: ${message.escape}`);
          if (report.cases % 10_000 === 0) options.onProgress?.(report);
        } else if (message.escape !== undefined) {
          report.escapes.push(`base ${current?.[0]} case ${current?.[1]}: ${message.escape}`);
        } else if (message.finished) {
          clearTimeout(timer);
          ending = true;
          from = [bases.length, 0];
          child.kill("SIGKILL");
        }
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        if (ending) resolve(from[0] >= bases.length);
        else reject(new Error(`the fuzz child exited (${signal ?? code}) at base ${current?.[0]} case ${current?.[1]}`));
      });
      child.on("error", (error) => {
        clearTimeout(timer);
        ending = true;
        reject(error);
      });
    });
    if (finished) return report;
  }
}
