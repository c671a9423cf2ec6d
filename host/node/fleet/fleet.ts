// Fleet: the client side of a fleet — submit programs, look at computations, answer
// their calls, wait for them. Workers (worker.ts) do the stepping.
//
//   Fleet.open(url?)  url or $STASIS_DB → PostgreSQL; neither → the embedded store in
//                     .stasis/fleet (or options.dir), which one process at a time may open.
//
// Every method either works or throws a StasisError (FLEET_NOT_FOUND, FLEET_CONFLICT,
// FLEET_DB, FLEET_LOCKED, BAD_MODULE for a submitted file that is not a Stasis program).
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { StasisError } from "../../errors.ts";
import type { HostReply } from "../../hostcalls.ts";
import { Program } from "../../program.ts";
import { Runtime, type TaskletInfo } from "../../runtime.ts";
import { openEmbeddedStore, openPgStore } from "./open.ts";
import type { CallRow, ComputationRow, FleetStore } from "./store.ts";

export interface FleetOpenOptions {
  /** Directory of the embedded store. Default .stasis/fleet under the current directory. */
  dir?: string;
  /** PostgreSQL pool size. Default 8. */
  connections?: number;
}

export interface ComputationDetails extends ComputationRow {
  calls: CallRow[];
  /** The tasklets of the latest image (null before the first commit). */
  tasklets: TaskletInfo[] | null;
}

export interface WaitOptions {
  /** Give up after this many ms and return the row as it is then. Default: wait forever. */
  timeoutMs?: number;
}

export class Fleet {
  private constructor(readonly store: FleetStore) {}

  static async open(url?: string, options: FleetOpenOptions = {}): Promise<Fleet> {
    const target = url ?? process.env.STASIS_DB;
    if (target) {
      if (!/^postgres(ql)?:\/\//.test(target)) throw new StasisError("BAD_OPTION", `the fleet database must be a postgres:// URL, got "${target}"`);
      return new Fleet(await openPgStore(target, { connections: options.connections }));
    }
    return new Fleet(await openEmbeddedStore(options.dir ?? join(process.cwd(), ".stasis", "fleet")));
  }

  /** Wraps an open store (tests, custom setups). */
  static fromStore(store: FleetStore): Fleet {
    return new Fleet(store);
  }

  /** Stores the program (by module id) and a new runnable computation of it; returns its id. */
  async submit(programBytes: Uint8Array): Promise<string> {
    const program = await Program.load(new Uint8Array(programBytes));
    await this.store.putModule(program.id, programBytes);
    const id = randomUUID();
    await this.store.create(id, program.id, Math.floor(Math.random() * 2 ** 32));
    return id;
  }

  async status(id: string): Promise<ComputationRow> {
    const row = await this.store.get(id);
    if (!row) throw new StasisError("FLEET_NOT_FOUND", `no computation ${id} in the fleet at ${this.store.location}; list them with \`stasis fleet ls\``);
    return row;
  }

  list(): Promise<ComputationRow[]> {
    return this.store.list();
  }

  /** Status plus pending calls and the tasklets of the latest image. */
  async show(id: string): Promise<ComputationDetails> {
    const row = await this.status(id);
    const calls = await this.store.calls(id);
    let tasklets: TaskletInfo[] | null = null;
    const image = await this.store.image(id);
    if (image) {
      const module = await this.store.getModule(row.moduleId);
      if (module) {
        const program = await Program.load(new Uint8Array(module));
        const rt = await Runtime.restore(program, new Uint8Array(image), { print: () => {}, allowMissingHandlers: true });
        tasklets = rt.tasklets();
      }
    }
    return { ...row, calls, tasklets };
  }

  /** What the computation printed, exactly once per committed step. */
  async output(id: string): Promise<string> {
    await this.status(id);
    return this.store.output(id);
  }

  /** Answers pending call `callId` of computation `id` (e.g. a human approval). */
  async complete(id: string, callId: number, value: HostReply | { error: string }): Promise<void> {
    const ok = typeof value === "string" || value instanceof Uint8Array;
    if (!ok && typeof (value as { error?: unknown })?.error !== "string") throw new StasisError("BAD_OPTION", "complete() takes a string, a Uint8Array or { error: string }");
    const bytes = typeof value === "string" ? new TextEncoder().encode(value) : ok ? value : new TextEncoder().encode(value.error);
    await this.store.complete(id, callId, ok, bytes, true);
  }

  /** Fails a computation that has not finished ("cancelled"); false if it had. */
  async cancel(id: string): Promise<boolean> {
    await this.status(id);
    return this.store.cancel(id);
  }

  /** Resolves with the row once the computation is done or failed (or when the timeout passes). */
  async wait(id: string, options: WaitOptions = {}): Promise<ComputationRow> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    let poke: () => void = () => {};
    const unlisten = await this.store.listen((payload) => {
      if (payload.startsWith(id)) poke();
    }).catch(() => null);
    try {
      for (;;) {
        const row = await this.status(id);
        if (row.status === "done" || row.status === "failed") return row;
        const left = deadline - Date.now();
        if (left <= 0) return row;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 1000));
          poke = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      await unlisten?.();
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
