// Failure isolation (host/isolate.ts): a throw or trap in a tasklet other than main stops
// that tasklet alone; the rest of the program runs on, under joins, channels, pending
// host calls, freeze/thaw and GC stress. A failure in main, or in the allocator, still
// ends the instance.
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../build/paths.ts";
import { DEFER, Runtime, type TaskletInfo } from "../host/index.ts";
import type { TaskletFailure } from "../host/isolate.ts";
import { call, loadProgram } from "./helpers.ts";

async function scenario(n: number, mode: "release" | "debug" = "release", handlers = {}) {
  const output: string[] = [];
  const failures: TaskletFailure[] = [];
  const rt = await Runtime.start(await loadProgram("isolate.ts", mode), { print: (l) => output.push(l), handlers, onTaskletFailure: (f) => failures.push(f) });
  call(rt, "setScenario", n);
  return { rt, output, failures };
}

const failedOnes = (rt: Runtime): TaskletInfo[] => rt.tasklets().filter((t) => t.failed);

describe("failure isolation", () => {
  for (const mode of ["release", "debug"] as const) {
    it(`stops a throwing tasklet alone; its joiners wake and see failed and error (${mode})`, async () => {
      const { rt, output, failures } = await scenario(0, mode);
      expect(await rt.run()).toBe("done");
      const seen = "tasklet 2 failed: order 3 declined (isolate.ts:19:5)";
      expect(output).toEqual([`joiner saw ${seen}`, `joiner saw ${seen}`, `joiner saw ${seen}`, `main saw ${seen}, dead yes`, "counter 10", "main done"]);
      expect(failures).toEqual([{ taskletId: 2, code: "ABORT", message: "order 3 declined (isolate.ts:19:5)" }]);
      expect(failedOnes(rt)).toMatchObject([{ id: 2, status: "dead", failed: true, error: "order 3 declined (isolate.ts:19:5)" }]);
    });
  }

  it("leaves channels consistent: the other consumer drains the rest, a blocked sender finishes", async () => {
    const { rt, output } = await scenario(1);
    expect(await rt.run()).toBe("done");
    expect(output).toEqual([
      "drained 209 of 210, lost 1; results 15",
      "tasklet 2 failed: consumer choked on 1 (isolate.ts:69:25)",
      "work closed yes, buffered 0",
      "main done",
    ]);
  });

  it("keeps pending host calls of other tasklets: they are answered after the failure", async () => {
    const { rt, output } = await scenario(2, "release", { approval: () => DEFER });
    expect(await rt.run()).toBe("waiting");
    expect(output).toEqual(["tasklet 3 failed: order 1 declined (isolate.ts:19:5)"]);
    const [pending] = rt.pendingCalls();
    expect(pending).toMatchObject({ name: "approval", tasklet: 2 });
    rt.complete(pending.id, "approved");
    expect(await rt.run()).toBe("done");
    expect(output.slice(1)).toEqual(["asker got approved", "main done"]);
  });

  for (const mode of ["release", "debug"] as const) {
    it(`isolates traps in program code: divide by zero, unreachable, a bad address, stack overflow (${mode})`, async () => {
      const { rt, output, failures } = await scenario(3, mode);
      expect(await rt.run()).toBe("done");
      expect(failures.map((f) => f.code)).toEqual(["TRAP", "TRAP", "TRAP", "TRAP"]);
      expect(output.slice(0, 4)).toEqual([
        "tasklet 2 failed: trapped: divide by zero",
        "tasklet 3 failed: trapped: unreachable",
        "tasklet 4 failed: trapped: memory access out of bounds",
        expect.stringMatching(/^tasklet 5 failed: trapped: .*(the wasm call stack overflowed: recursion too deep)/),
      ]);
      expect(output.slice(4)).toEqual(["counter 5", "main done"]);
    });
  }

  it("rejects_throw_in_main: ABORT ends the instance as before", async () => {
    const { rt } = await scenario(4);
    await expect(rt.run()).rejects.toMatchObject({ code: "ABORT", message: expect.stringContaining("main gave up (isolate.ts:") });
    expect(() => rt.tasklets()).toThrow(expect.objectContaining({ code: "POISONED" }));
  });

  for (const [n, code, what] of [[5, "ABORT", "an abort in the collector"], [6, "TRAP", "a trap in the collector"]] as const) {
    it(`rejects_runtime_failure_in_a_tasklet: ${what} still poisons`, async () => {
      const { rt, failures } = await scenario(n);
      await expect(rt.run()).rejects.toMatchObject({ code, taskletId: 2 });
      expect(failures).toEqual([]);
      expect(() => rt.step()).toThrow(expect.objectContaining({ code: "POISONED" }));
    });
  }

  it("freezes and thaws right after a failure: the failed tasklet and its error travel, the rest finishes the same", async () => {
    const straight = await scenario(0);
    await straight.rt.run();
    const { rt, output, failures } = await scenario(0);
    while (failures.length === 0) expect(rt.step({ budget: 1 })).not.toBe("done");
    const image = rt.snapshot({ embed: true });
    const thawed = await Runtime.restore(null, image, { print: (l) => output.push(l) });
    expect(failedOnes(thawed)).toMatchObject([{ id: 2, failed: true, error: "order 3 declined (isolate.ts:19:5)" }]);
    expect(await thawed.run()).toBe("done");
    expect(output).toEqual(straight.output);
    // inspect reads the failure from the image alone.
    const dir = await mkdtemp(join(tmpdir(), "stasis-isolate-"));
    await writeFile(join(dir, "f.img"), image);
    const exec = promisify(execFile);
    const { stdout } = await exec(process.execPath, [join(packageRoot(), "dist", "build", "cli.js"), "inspect", join(dir, "f.img")]);
    expect(stdout).toContain("tasklet 2: failed: order 3 declined (isolate.ts:19:5)");
  });

  for (const mode of ["release", "debug"] as const) {
    it(`keeps the heap GC-correct while random tasklets throw (GC stress, ${mode})`, async () => {
      const output: string[] = [];
      const rt = await Runtime.start(await loadProgram("gc-fail.ts", mode), { print: (l) => output.push(l) });
      expect(await rt.run()).toBe("done");
      expect(output).toEqual(["checks 14950 failures 0 failed 100 wrong 0"]);
      expect(failedOnes(rt).length).toBe(100);
    }, 120_000);
  }
});
