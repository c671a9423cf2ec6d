// The order workflow (program.ts) run from the command line, with a file checkpoint.
//
//   node dist/examples/workflow/main.js                 start, or continue after a crash
//   node dist/examples/workflow/main.js approve <id>    answer an approval (or: reject <id>)
//
// State lives in $STASIS_WORKFLOW_DIR (default .stasis/workflow): state.img, the frozen
// computation, checkpointed every 200 ms and whenever it stops to wait for a human; and
// ledger.json, the effects performed (charges, refunds, shipments) keyed by host-call key
// (call.key: unique across every thaw and fork of the workflow's images, and the same when
// a call is delivered again after a crash), which is what makes each effect happen exactly
// once. A new workflow starts a new ledger. Kill the process at any moment (kill -9 included) and run it
// again: it continues from the last checkpoint.
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildProgram } from "../../build/index.ts";
import { packageRoot } from "../../build/paths.ts";
import { DEFER, Program, Runtime, StasisError, type HostHandler, type TaskletFailure } from "../../host/index.ts";
import { loadImage, saveImage } from "../../host/node/index.ts";

const dir = process.env.STASIS_WORKFLOW_DIR ?? join(packageRoot(), ".stasis", "workflow");
const statePath = join(dir, "state.img");
const ledgerPath = join(dir, "ledger.json");
const self = "node dist/examples/workflow/main.js";

type Ledger = Record<string, { effect: string; order: string; result: string }>;

async function readLedger(): Promise<Ledger> {
  return existsSync(ledgerPath) ? (JSON.parse(await readFile(ledgerPath, "utf8")) as Ledger) : {};
}

/** Ledger updates run one at a time (handlers run concurrently). */
let ledgerQueue: Promise<unknown> = Promise.resolve();

/** Performs `effect` for call `id` once; a repeated delivery returns the recorded result. */
function once(effect: string, make: (id: number, payload: string) => string): HostHandler {
  return (call) => {
    const update = ledgerQueue.then(async () => {
      const ledger = await readLedger();
      const key = call.key;
      if (ledger[key]) return ledger[key].result;
      const result = make(call.id, call.text());
      ledger[key] = { effect, order: call.text(), result };
      const temporary = ledgerPath + ".tmp";
      await writeFile(temporary, JSON.stringify(ledger, null, 2));
      await rename(temporary, ledgerPath);
      console.log(`  [host] ${effect} for call ${call.id}: ${result}`);
      return result;
    });
    ledgerQueue = update.catch(() => {});
    return update;
  };
}

const handlers: Record<string, HostHandler> = {
  charge: once("charge", (id, order) => {
    if (order.includes("expired card")) throw new Error("card expired");
    return `receipt-${id}`;
  }),
  refund: once("refund", (id, receipt) => `refund-${id} of ${receipt}`),
  ship: once("ship", (id) => `tracking-${id}`),
  approval: (call) => {
    console.log(`  [host] ${call.text()} needs approval: ${self} approve ${call.id}   (or: reject ${call.id})`);
    return DEFER;
  },
};

/** A workflow that throws stops alone; say so as it happens (main reports it again at the end). */
const onTaskletFailure = (f: TaskletFailure) => console.log(`  [host] tasklet ${f.taskletId} failed: ${f.message}`);

async function main(): Promise<void> {
  const [command, id] = process.argv.slice(2);
  await mkdir(dir, { recursive: true });
  const built = await buildProgram(join(packageRoot(), "examples", "workflow", "program.ts"));
  const program = await Program.load(built.wasm);
  const print = (line: string) => console.log(line);

  let rt: Runtime;
  if (existsSync(statePath)) {
    rt = await Runtime.restore(program, await loadImage(statePath), { print, handlers, onTaskletFailure });
    console.log(`continuing from ${statePath}`);
  } else if (command) {
    throw new Error(`nothing to ${command}: no workflow is waiting (start one with \`${self}\`)`);
  } else {
    // A new workflow: the effects of an earlier, finished one are not its effects.
    await rm(ledgerPath, { force: true });
    rt = await Runtime.start(program, { print, handlers, onTaskletFailure });
  }
  if (command === "approve" || command === "reject") {
    rt.complete(Number(id), command === "approve" ? "approved" : "rejected by a human");
  } else if (command) {
    throw new Error(`unknown command "${command}"; use approve <id> or reject <id>`);
  }

  let saving: Promise<void> | null = null;
  const save = () => {
    saving ??= saveImage(statePath, rt.snapshot()).finally(() => (saving = null));
    return saving;
  };
  const timer = setInterval(() => void save().catch(() => {}), 200);
  let status: "done" | "waiting";
  try {
    status = await rt.run();
  } finally {
    clearInterval(timer);
    await saving;
  }
  if (status === "done") {
    await rm(statePath, { force: true });
    console.log("workflow finished; effects performed:");
    for (const [call, entry] of Object.entries(await readLedger())) console.log(`  call ${call}: ${entry.effect} ${entry.order} → ${entry.result}`);
  } else {
    await save();
    console.log(`waiting for a human; the workflow is frozen in ${statePath}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof StasisError ? `stasis: ${error.code}: ${error.message}` : (error as Error).message);
  process.exitCode = 1;
});
