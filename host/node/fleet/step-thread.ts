// A step thread: holds at most one thawed computation and steps it on request, so the
// worker can stop a step that runs past its wall-clock limit by terminating the thread
// (a wasm loop cannot be interrupted any other way).
//
// Protocol (step-protocol.ts), one request at a time:
//   load {module?, image|null, seed, handlers} → loaded | needModule   thaw (or start)
//   step {completions, now, sliceMs, budget}   → stepped | error       run one slice
//   drop                                       → dropped               forget the runtime
//
// Inside the thread every host call is DEFERred: the worker runs the handlers (on its
// main thread, at least once) and brings their answers back as completions through the
// store. Sleeps are answered here once their deadline has passed by the database clock
// (`now` from the worker, advanced by this thread's elapsed time); the earliest deadline
// not yet reached is reported as wakeAt. Programs are cached by module id.
import { parentPort } from "node:worker_threads";
import { DEFER, importImageKey, Program, Runtime, signImage, StasisError, type HostHandler } from "../../index.ts";
import { SLEEP, type FromThread, type ThreadCall, type ToThread } from "./step-protocol.ts";

const programs = new Map<string, Program>();
let rt: Runtime | null = null;
/** The fleet's image key: images are verified before a thaw and signed after a step. */
let key: CryptoKey | null = null;
/** The key as the worker sent it, to import it again only when it changes (once per thread in practice). */
let rawKey: Uint8Array | string | null = null;

async function fleetKey(raw: Uint8Array | string): Promise<CryptoKey> {
  const same = typeof raw === "string" || typeof rawKey === "string" ? raw === rawKey : rawKey !== null && raw.length === rawKey.length && raw.every((b, i) => b === rawKey![i]);
  if (!same || key === null) {
    key = await importImageKey(raw);
    rawKey = raw;
  }
  return key;
}
let output: string[] = [];
/** The chain as committed (signed): the last image, the base's bytes, the deltas after it. */
let chain = { last: null as Uint8Array | null, baseBytes: 0, deltas: 0, deltaBytes: 0, maxDeltas: 0 };
const print = (line: string) => output.push(line);

function reply(message: FromThread, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(message, transfer);
}

/** Lets go of the thawed computation; its instance goes back to the program's pool for the next thaw. */
function forget(): void {
  try {
    rt?.release();
  } catch {
    // A runtime that cannot be released is simply dropped.
  }
  rt = null;
}

async function load(message: Extract<ToThread, { type: "load" }>): Promise<FromThread> {
  forget();
  let program = programs.get(message.moduleId);
  if (!program) {
    if (!message.module) return { type: "needModule" };
    program = await Program.load(new Uint8Array(message.module));
    programs.set(message.moduleId, program);
  }
  const handlers: Record<string, HostHandler> = {};
  for (const name of [...message.handlers, SLEEP]) handlers[name] = () => DEFER;
  output = [];
  const imageKey = await fleetKey(message.key);
  const images = message.image ? [new Uint8Array(message.image), ...message.deltas.map((d) => new Uint8Array(d))] : [];
  rt = images.length > 0
    ? await Runtime.restore(program, images, { print, handlers, allowMissingHandlers: true, key: imageKey })
    : await Runtime.start(program, { print, handlers, seed: message.seed });
  chain = {
    last: images.at(-1) ?? null, baseBytes: images[0]?.length ?? 0, deltas: message.deltas.length,
    deltaBytes: images.slice(1).reduce((sum, d) => sum + d.length, 0), maxDeltas: message.maxDeltas,
  };
  return { type: "loaded" };
}

/** Answers the sleeps that are due; returns how many, and the earliest deadline left. */
function wakeSleepers(runtime: Runtime, now: number): { woken: number; next: number | null } {
  let woken = 0;
  let next: number | null = null;
  for (const call of runtime.pendingCalls()) {
    if (call.name !== SLEEP) continue;
    const deadline = Number(new TextDecoder().decode(call.payload));
    if (!(deadline > now)) {
      runtime.complete(call.id, "");
      woken++;
    } else if (next === null || deadline < next) next = deadline;
  }
  return { woken, next };
}

async function step(message: Extract<ToThread, { type: "step" }>): Promise<FromThread> {
  if (!rt) return { type: "error", code: "BAD_OPTION", message: "stasis internal: step before load" };
  const runtime = rt;
  const started = performance.now();
  const now = () => message.now + (performance.now() - started);
  output = [];
  for (const c of message.completions) {
    const pending = runtime.pendingCalls().some((p) => p.id === c.callId);
    if (pending) runtime.complete(c.callId, c.ok ? new Uint8Array(c.value) : { error: new TextDecoder().decode(c.value) });
  }
  let status: "done" | "yielded" | "waiting" = "yielded";
  for (;;) {
    wakeSleepers(runtime, now());
    status = runtime.step({ budget: message.budget });
    if (status === "done") break;
    if (status === "waiting") {
      if (wakeSleepers(runtime, now()).woken > 0) continue;
      break;
    }
    if (performance.now() - started >= message.sliceMs) break;
  }
  // A delta since the chain's last image while the chain is short (sql-store.ts), else a full image.
  const delta = chain.last !== null && chain.deltas < chain.maxDeltas && chain.deltaBytes < chain.baseBytes;
  const image = await signImage(delta ? runtime.snapshot({ since: chain.last! }) : runtime.snapshot(), key!); // key: set by load(), which comes first
  if (delta) chain = { ...chain, last: image, deltas: chain.deltas + 1, deltaBytes: chain.deltaBytes + image.length };
  else chain = { ...chain, last: image, baseBytes: image.length, deltas: 0, deltaBytes: 0 };
  const pending: ThreadCall[] = runtime.pendingCalls().map((c) => ({ callId: c.id, name: c.name, tasklet: c.tasklet, payload: c.payload }));
  const wakeAt = status === "done" ? null : wakeSleepers(runtime, -Infinity).next;
  return { type: "stepped", status, image, delta, output, pending, wakeAt };
}

parentPort!.on("message", (message: ToThread) => {
  void (async () => {
    try {
      if (message.type === "load") reply(await load(message));
      else if (message.type === "drop") {
        forget();
        reply({ type: "dropped" });
      } else {
        const result = await step(message);
        reply(result, result.type === "stepped" ? [result.image.buffer as ArrayBuffer] : []);
      }
    } catch (error) {
      forget();
      const code = error instanceof StasisError ? error.code : "TRAP";
      reply({ type: "error", code, message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
