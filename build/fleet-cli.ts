// `stasis fleet …`: the fleet from the command line (host/node/fleet).
//
//   stasis fleet submit <program.wasm|program.ts> [--db URL]     prints the new computation id alone
//   stasis fleet worker [--db URL] [--handlers handlers.mjs] [--concurrency N] [--lease 5s]
//                       [--step-timeout 30s] [--max-attempts N]   SIGINT/SIGTERM: finish, commit, exit 0
//   stasis fleet ls [--db URL] [--json]
//   stasis fleet show <id> [--db URL] [--json]
//   stasis fleet output <id> [--db URL]
//   stasis fleet complete <id> <call-id> <value> [--error] [--db URL]
//   stasis fleet wait <id> [--db URL] [--timeout 60s]             exit 0 done, 1 failed, 124 timeout
//
// --db (or $STASIS_DB) names a PostgreSQL database; without it the embedded store in
// .stasis/fleet is used. Errors print `stasis: CODE: sentence`; usage errors exit 2.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { StasisError } from "../host/errors.ts";
import { Fleet, FleetWorker, type ComputationRow, type FleetHandler } from "../host/node/fleet/index.ts";

export const FLEET_USAGE = `usage:
  stasis fleet submit <program.wasm|program.ts> [--db <url>]
  stasis fleet worker [--db <url>] [--handlers <handlers.mjs>] [--concurrency <n>] [--lease <5s>] [--step-timeout <30s>] [--max-attempts <n>]
  stasis fleet ls [--db <url>] [--json]
  stasis fleet show <id> [--db <url>] [--json]
  stasis fleet output <id> [--db <url>]
  stasis fleet complete <id> <call-id> <value> [--error] [--db <url>]
  stasis fleet wait <id> [--db <url>] [--timeout <60s>]
  (--db or STASIS_DB: a postgres:// URL; without either, the embedded store in .stasis/fleet)`;

class FleetUsageError extends Error {}

function duration(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
  if (!match) throw new FleetUsageError(`--${name} takes a duration like 500ms, 5s or 1m, got "${value}"`);
  return Math.round(Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[(match[2] as "ms" | "s" | "m") ?? "ms"]);
}

function whole(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new FleetUsageError(`--${name} takes a positive whole number, got "${value}"`);
  return n;
}

const out = (line: string) => process.stdout.write(line + "\n");

function when(ms: number | null): string {
  return ms === null ? "-" : new Date(ms).toISOString();
}

function rowJson(row: ComputationRow) {
  return { ...row, wakeAt: row.wakeAt && when(row.wakeAt), leaseUntil: row.leaseUntil && when(row.leaseUntil), createdAt: when(row.createdAt), updatedAt: when(row.updatedAt) };
}

async function withFleet<T>(db: string | undefined, body: (fleet: Fleet) => Promise<T>): Promise<T> {
  const fleet = await Fleet.open(db);
  try {
    return await body(fleet);
  } finally {
    await fleet.close();
  }
}

async function submit(file: string, db: string | undefined): Promise<number> {
  let bytes: Uint8Array;
  if (file.endsWith(".ts")) {
    const { buildProgram } = await import("./index.ts");
    bytes = (await buildProgram(file)).wasm;
  } else bytes = new Uint8Array(await readFile(file));
  out(await withFleet(db, (fleet) => fleet.submit(bytes)));
  return 0;
}

async function loadHandlers(path: string | undefined): Promise<Record<string, FleetHandler>> {
  if (!path) return {};
  const module = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
  if (!module.default || typeof module.default !== "object") {
    throw new StasisError("BAD_OPTION", `${path} has no default export; export the handlers object: \`export default { name: (call) => ... }\``);
  }
  return module.default as Record<string, FleetHandler>;
}

async function worker(values: Record<string, string | boolean | undefined>): Promise<number> {
  const handlers = await loadHandlers(values.handlers as string | undefined);
  const fleet = await Fleet.open(values.db as string | undefined);
  const w = new FleetWorker(fleet, {
    handlers,
    concurrency: whole(values.concurrency as string | undefined, "concurrency"),
    leaseMs: duration(values.lease as string | undefined, "lease", 30_000),
    stepTimeoutMs: duration(values["step-timeout"] as string | undefined, "step-timeout", 30_000),
    maxAttempts: whole(values["max-attempts"] as string | undefined, "max-attempts"),
    onEvent: (e) => {
      if (e.type === "failed" || e.type === "refused" || e.type === "lost" || e.type === "error" || e.type === "handler-error") {
        process.stderr.write(`stasis fleet worker: ${e.type}${e.computation ? ` ${e.computation}` : ""}${e.epoch ? ` (epoch ${e.epoch})` : ""}${e.status ? ` → ${e.status}` : ""}${e.message ? `: ${e.message}` : ""}\n`);
      }
    },
  });
  const stop = () => void w.stop();
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.stderr.write(`stasis fleet worker ${w.name}: working on ${fleet.store.location}\n`);
  try {
    await w.run();
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await fleet.close();
  }
  return 0;
}

async function ls(db: string | undefined, json: boolean): Promise<number> {
  const rows = await withFleet(db, (fleet) => fleet.list());
  if (json) {
    out(JSON.stringify(rows.map(rowJson), null, 2));
    return 0;
  }
  out(`${"id".padEnd(36)}  ${"status".padEnd(8)}  attempts  steps  ${"wake at".padEnd(24)}  owner`);
  for (const r of rows) {
    out(`${r.id.padEnd(36)}  ${r.status.padEnd(8)}  ${String(r.attempts).padStart(8)}  ${String(r.steps).padStart(5)}  ${when(r.wakeAt).padEnd(24)}  ${r.owner ?? "-"}`);
  }
  return 0;
}

async function show(id: string, db: string | undefined, json: boolean): Promise<number> {
  const details = await withFleet(db, (fleet) => fleet.show(id));
  const calls = details.calls.map((c) => ({ callId: c.callId, name: c.name, tasklet: c.tasklet, payload: new TextDecoder().decode(c.payload), deferred: c.deferred }));
  if (json) {
    out(JSON.stringify({ ...rowJson(details), calls, tasklets: details.tasklets }, null, 2));
    return 0;
  }
  out(`computation ${details.id}`);
  out(`module      ${details.moduleId}`);
  out(`status      ${details.status}${details.status === "running" ? ` by ${details.owner} until ${when(details.leaseUntil)} (epoch ${details.epoch})` : ""}`);
  out(`attempts    ${details.attempts} failed since the last commit; ${details.steps} steps committed`);
  if (details.wakeAt !== null) out(`wakes at    ${when(details.wakeAt)}`);
  if (details.lastError) out(`last error  ${details.lastError}`);
  out(`image       ${details.imageBytes === null ? "none yet" : `${details.imageBytes.toLocaleString("en-US")} bytes`}`);
  out(`tasklets    ${details.tasklets === null ? "-" : details.tasklets.length}`);
  for (const t of details.tasklets ?? []) out(`  tasklet ${t.id} ${t.status}${t.status === "normal" ? ` (${t.waitingFor})` : ""}`);
  out(`host calls  ${calls.length} pending`);
  for (const c of calls) {
    const payload = c.payload.length > 60 ? c.payload.slice(0, 57) + "..." : c.payload;
    out(`  call ${c.callId} ${c.name}(${JSON.stringify(payload)}) from tasklet ${c.tasklet}${c.deferred ? `, deferred: answer with \`stasis fleet complete ${details.id} ${c.callId} <value>\`` : ""}`);
  }
  return 0;
}

async function wait(id: string, db: string | undefined, timeout: string | undefined): Promise<number> {
  const row = await withFleet(db, (fleet) => fleet.wait(id, { timeoutMs: duration(timeout, "timeout", 60_000) }));
  if (row.status === "done") return 0;
  if (row.status === "failed") {
    process.stderr.write(`stasis: computation ${id} failed: ${row.lastError ?? "(no error recorded)"}\n`);
    return 1;
  }
  process.stderr.write(`stasis: computation ${id} is still ${row.status} after the timeout\n`);
  return 124;
}

async function dispatch(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === "--help" || verb === "-h" || verb === "help") {
    out(FLEET_USAGE);
    return 0;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      db: { type: "string" }, json: { type: "boolean" }, handlers: { type: "string" }, concurrency: { type: "string" }, lease: { type: "string" },
      "step-timeout": { type: "string" }, "max-attempts": { type: "string" }, error: { type: "boolean" }, timeout: { type: "string" },
    },
  });
  const one = (what: string) => {
    if (positionals.length !== 1) throw new FleetUsageError(`fleet ${verb} takes ${what}`);
    return positionals[0];
  };
  const db = values.db;
  switch (verb) {
    case "submit":
      return submit(one("one program (.wasm, or .ts to build first)"), db);
    case "worker":
      if (positionals.length) throw new FleetUsageError("fleet worker takes no positional arguments");
      return worker(values);
    case "ls":
      return ls(db, values.json === true);
    case "show":
      return show(one("one computation id"), db, values.json === true);
    case "output": {
      const id = one("one computation id");
      process.stdout.write(await withFleet(db, (fleet) => fleet.output(id)));
      return 0;
    }
    case "complete": {
      if (positionals.length !== 3) throw new FleetUsageError("fleet complete takes <id> <call-id> <value>");
      const [id, call, value] = positionals;
      const callId = Number(call);
      if (!Number.isInteger(callId) || callId < 0) throw new FleetUsageError(`the call id must be a whole number, got "${call}"`);
      await withFleet(db, (fleet) => fleet.complete(id, callId, values.error ? { error: value } : value));
      return 0;
    }
    case "wait":
      return wait(one("one computation id"), db, values.timeout);
    default:
      throw new FleetUsageError(verb === undefined ? "fleet needs a verb" : `unknown fleet verb "${verb}"`);
  }
}

/**
 * Runs `stasis fleet <verb> …`; returns the exit code. Usage mistakes print the fleet's
 * usage (exit 2); every other failure goes to the CLI's one error printer (build/cli.ts).
 */
export async function fleetCommand(args: string[]): Promise<number> {
  try {
    return await dispatch(args);
  } catch (error) {
    if (!(error instanceof FleetUsageError) && !(error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) throw error;
    process.stderr.write(`stasis: ${(error as Error).message}\n${FLEET_USAGE}\n`);
    return 2;
  }
}
