// The worker's side of a step thread (step-thread.ts): one request at a time, each with
// a wall-clock limit. Past the limit the thread is terminated (the only way to stop a
// wasm loop) and the request fails with STEP_TIMEOUT; the caller starts a fresh thread.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { StasisError } from "../../errors.ts";
import type { FromThread, ToThread } from "./step-protocol.ts";

/** The compiled thread script (from sources, as under vitest, the built one in dist/). */
function threadScript(): URL {
  const here = new URL("./step-thread.js", import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = new URL("../../../dist/host/node/fleet/step-thread.js", import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new StasisError("BAD_OPTION", "the fleet's step thread is not built (dist/host/node/fleet/step-thread.js); run `npm run build`");
}

export class StepRunner {
  private worker: Worker;
  private waiting: { resolve: (m: FromThread) => void; reject: (e: unknown) => void } | null = null;
  /** Module ids the thread has compiled. */
  readonly modules = new Set<string>();
  private dead = false;

  constructor() {
    this.worker = new Worker(threadScript());
    this.worker.on("message", (message: FromThread) => {
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.resolve(message);
    });
    const die = (error: unknown) => {
      this.dead = true;
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.reject(error instanceof StasisError ? error : new StasisError("TRAP", `the step thread died: ${error instanceof Error ? error.message : String(error)}`));
    };
    this.worker.on("error", die);
    this.worker.on("exit", (code) => die(new StasisError("TRAP", `the step thread exited (code ${code})`)));
  }

  get usable(): boolean {
    return !this.dead;
  }

  /** Sends one request; rejects with STEP_TIMEOUT (and kills the thread) after `timeoutMs`. */
  request(message: ToThread, timeoutMs: number): Promise<FromThread> {
    if (this.dead) return Promise.reject(new StasisError("TRAP", "the step thread is gone"));
    return new Promise<FromThread>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        this.dead = true;
        void this.worker.terminate();
        reject(new StasisError("STEP_TIMEOUT", `the step ran longer than ${timeoutMs} ms and was stopped; make the program yield more often (or build it with --preempt), or raise stepTimeoutMs`));
      }, timeoutMs);
      this.waiting = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.worker.postMessage(message);
    });
  }

  async close(): Promise<void> {
    this.dead = true;
    await this.worker.terminate();
  }
}
