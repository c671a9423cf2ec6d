// examples/workflow end to end: wait for approvals across processes, get killed while
// waiting out a timer, start again, and perform every effect exactly once.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../build/paths.ts";

const exec = promisify(execFile);
const main = join(packageRoot(), "dist", "examples", "workflow", "main.js");

describe("examples/workflow", () => {
  it("completes across approvals and a kill -9, each effect exactly once", async () => {
    const env = { ...process.env, STASIS_WORKFLOW_DIR: await mkdtemp(join(tmpdir(), "stasis-workflow-")) };
    const run = async (...args: string[]) => (await exec(process.execPath, [main, ...args], { env })).stdout;

    const first = await run();
    expect(first).toMatch(/waiting for a human/);
    const approvals = [...first.matchAll(/approve (\d+)/g)].map((m) => m[1]);
    expect(approvals).toHaveLength(2);

    expect(await run("approve", approvals[0])).toMatch(/order-17 espresso machine: shipped/);

    // Approve the second order, then kill the process while it waits out the timer.
    const child = spawn(process.execPath, [main, "approve", approvals[1]], { env, stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("order-18 grinder: approved")) setTimeout(() => child.kill("SIGKILL"), 500).unref();
      });
      child.on("exit", () => resolve());
    });
    expect(child.signalCode).toBe("SIGKILL");

    const last = await run();
    expect(last).toMatch(/order-18 grinder: shipped/);
    expect(last).toMatch(/all orders settled \(1 failed\)/);
    expect(first + last).toMatch(/order-19 kettle \(expired card\): failed: charge failed: card expired \(program\.ts:\d+:\d+\)/);
    const ledger = JSON.parse(await readFile(join(env.STASIS_WORKFLOW_DIR, "ledger.json"), "utf8")) as Record<string, { effect: string; order: string }>;
    const effects = Object.values(ledger).map((e) => `${e.effect} ${e.order}`).sort();
    expect(effects).toEqual(["charge order-17 espresso machine", "charge order-18 grinder", "ship order-17 espresso machine", "ship order-18 grinder"]);
  });
});
