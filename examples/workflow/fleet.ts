// The order workflow (program.ts) on the fleet: many workflows, several worker processes
// (on one machine or many), one PostgreSQL. Kill any worker at any moment; the orders go on.
//
//   export STASIS_DB=postgres://user@host/db
//   node dist/examples/workflow/fleet.js submit [count]   submit `count` workflows (default 1), print their ids
//   node dist/examples/workflow/fleet.js worker           run a worker (start three; kill one)
//   npx stasis fleet complete <id> <call-id> approved     answer an approval the worker printed
//
// Effects (charges, refunds, shipments) are recorded in a ledger table in the same
// database, keyed by (computation, call id): a call delivered again after a crash finds
// its effect already done and returns the recorded result, so each effect happens once.
import { join } from "node:path";
import pg from "pg";
import { buildProgram } from "../../build/index.ts";
import { packageRoot } from "../../build/paths.ts";
import { StasisError } from "../../host/index.ts";
import { DEFER, Fleet, FleetWorker, type FleetCall, type FleetHandler } from "../../host/node/fleet/index.ts";

const url = process.env.STASIS_DB;

async function ledger(): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on("error", () => {});
  await pool.query(
    "CREATE TABLE IF NOT EXISTS workflow_ledger (computation text, call_id integer, effect text NOT NULL, input text NOT NULL, result text NOT NULL, PRIMARY KEY (computation, call_id))",
  );
  return pool;
}

/** Performs `effect` for a call once; a repeated delivery returns the recorded result. */
function once(pool: pg.Pool, effect: string, make: (call: FleetCall) => string): FleetHandler {
  return async (call) => {
    const inserted = await pool.query(
      "INSERT INTO workflow_ledger VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING result",
      [call.computation, call.id, effect, call.text(), make(call)],
    );
    if (inserted.rows.length) console.log(`  [worker ${process.pid}] ${effect} ${call.text()}: ${inserted.rows[0].result}`);
    const { rows } = await pool.query("SELECT result FROM workflow_ledger WHERE computation = $1 AND call_id = $2", [call.computation, call.id]);
    return rows[0].result as string;
  };
}

async function main(): Promise<void> {
  if (!url) throw new Error("set STASIS_DB to a postgres:// URL: several workers share one PostgreSQL");
  const [command, count] = process.argv.slice(2);
  const fleet = await Fleet.open(url);
  try {
    if (command === "submit") {
      const { wasm } = await buildProgram(join(packageRoot(), "examples", "workflow", "program.ts"));
      for (let i = 0; i < Number(count ?? 1); i++) console.log(await fleet.submit(wasm));
    } else if (command === "worker") {
      const pool = await ledger();
      const worker = new FleetWorker(fleet, {
        concurrency: 2,
        leaseMs: 2000,
        handlers: {
          charge: once(pool, "charge", (call) => {
            // As in main.ts: one order's card is refused, and that order fails alone.
            if (call.text().includes("expired card")) throw new Error("card expired");
            return `receipt-${call.computation.slice(0, 8)}-${call.id}`;
          }),
          refund: once(pool, "refund", (call) => `refund-${call.id} of ${call.text()}`),
          ship: once(pool, "ship", (call) => `tracking-${call.computation.slice(0, 8)}-${call.id}`),
          approval: (call) => {
            console.log(`  [worker ${process.pid}] ${call.text()} needs approval: npx stasis fleet complete ${call.computation} ${call.id} approved`);
            return DEFER;
          },
        },
      });
      const stop = () => void worker.stop();
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      console.log(`worker ${process.pid} running`);
      await worker.run();
      await pool.end();
    } else {
      throw new Error(`usage: fleet.js submit [count] | fleet.js worker (got "${command ?? ""}")`);
    }
  } finally {
    await fleet.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof StasisError ? `stasis: ${error.code}: ${error.message}` : (error as Error).message);
  process.exitCode = 1;
});
