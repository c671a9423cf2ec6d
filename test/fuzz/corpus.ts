// The corpus runner: mutated images through the fuzz target (target.ts) in a worker
// thread, with a watchdog. A case that does not return within `stallMs` is recorded as a
// loop and the worker is replaced, starting at the next case. A worker that cannot even
// be terminated within TERMINATE_MS (seen once in 700,000 cases: a worker thread blocked
// idle inside the engine after thousands of thawed instances, not reproducible on its
// own) is left behind and recorded as stuck, so the run never hangs; the caller exits
// the process when done.
//
// Loops are reported, not failures: an image whose checksum verifies is trusted to be a
// state its program could reach, and a program can loop; a damaged heap can make the
// program (or the scheduler walking that heap) run forever inside one step, as a program
// with `while (true) {}` does. Thawing, listing tasklets and calls, and freezing never run
// program code that can loop. Images from untrusted sources are what the HMAC is for
// (docs/SECURITY.md); steps of untrusted images belong in a worker with a time limit
// (the fleet does that).
import { Worker } from "node:worker_threads";
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
  /** Loops whose worker did not terminate either (left running): [base, case]. */
  stuck: [number, number][];
}

/** How long a stopped worker may take to terminate before it is left behind. */
const TERMINATE_MS = 10_000;

export interface CorpusOptions {
  seed: number;
  casesPerBase: number;
  stallMs?: number;
  /** Called every 10,000 cases with the report so far. */
  onProgress?: (report: CorpusReport) => void;
}

export async function runCorpus(bases: FuzzBase[], options: CorpusOptions): Promise<CorpusReport> {
  const report: CorpusReport = { cases: 0, results: {}, escapes: [], loops: [], stuck: [] };
  const stallMs = options.stallMs ?? 10_000;
  let from: [number, number] = [0, 0];
  for (;;) {
    const finished = await new Promise<boolean>((resolve, reject) => {
      const input: WorkerInput = { bases, seed: options.seed, casesPerBase: options.casesPerBase, from };
      const worker = new Worker(join(packageRoot(), "dist", "test", "fuzz", "worker.js"), { workerData: input });
      let current: [number, number] | null = null;
      /** Set once the watchdog stopped this worker: anything it still says is ignored. */
      let stopped = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          stopped = true;
          report.loops.push(current!);
          from = current![1] + 1 < options.casesPerBase ? [current![0], current![1] + 1] : [current![0] + 1, 0];
          const loop = current!;
          const abandon = setTimeout(() => {
            report.stuck.push(loop);
            void worker.unref();
            resolve(from[0] >= bases.length);
          }, TERMINATE_MS);
          void worker.terminate().then(() => {
            clearTimeout(abandon);
            resolve(from[0] >= bases.length);
          });
        }, stallMs);
      };
      worker.on("message", (message: { case?: [number, number]; result?: string; escape?: string; finished?: boolean }) => {
        if (stopped) return;
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
          void worker.terminate().then(() => resolve(true));
        }
      });
      worker.on("error", (error) => {
        if (stopped) return;
        clearTimeout(timer);
        reject(error);
      });
    });
    if (finished) return report;
  }
}
