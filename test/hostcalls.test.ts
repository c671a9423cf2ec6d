// Durable host calls: tasklets wait on the host without blocking each other, and the
// waits survive a freeze.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../build/paths.ts";
import { DEFER, Runtime, type HostHandler } from "../host/index.ts";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { call, loadProgram } from "./helpers.ts";

const exec = promisify(execFile);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startScenario(n: number, handlers: Record<string, HostHandler>, output: string[] = []) {
  const rt = await Runtime.start(await loadProgram("calls.ts"), { print: (l) => output.push(l), handlers });
  call(rt, "setScenario", n);
  return { rt, output };
}

const work: HostHandler = async (c) => {
  await delay(Math.random() * 30);
  return "done " + c.text();
};

describe("host calls", () => {
  it("100 tasklets wait on calls settled in random order; each gets its own answer", async () => {
    const { rt, output } = await startScenario(1, { work });
    expect(await rt.run()).toBe("done");
    expect(output).toEqual(["100 answers, 0 wrong"]);
  });

  it("turns handler errors and unknown names into error results, never a host crash", async () => {
    const { rt, output } = await startScenario(2, {
      throws: () => {
        throw new Error("card declined");
      },
      rejects: async () => Promise.reject(new Error("service down")),
      echo: (c) => c.text(),
    });
    await rt.run();
    expect(output).toEqual([
      "throws: error card declined",
      "rejects: error service down",
      'unknown: error no host function named "no-such-function" is registered; pass it in the handlers option',
      "fine: ok fine",
    ]);
  });

  it("passes bytes both ways", async () => {
    const { rt, output } = await startScenario(5, { reverse: (c) => c.payload.slice().reverse() });
    await rt.run();
    expect(output).toEqual(["bytes reversed"]);
  });

  it("lets the host answer a deferred call later with rt.complete", async () => {
    const { rt, output } = await startScenario(4, { approval: () => DEFER });
    expect(await rt.run()).toBe("waiting");
    const [pending] = rt.pendingCalls();
    expect(pending).toMatchObject({ name: "approval", tasklet: 1 });
    expect(new TextDecoder().decode(pending.payload)).toBe("order-7");
    rt.complete(pending.id, "granted");
    expect(await rt.run()).toBe("done");
    expect(output).toEqual(["approval: granted"]);
    expect(() => rt.complete(pending.id, "again")).toThrow(expect.objectContaining({ code: "BAD_OPTION" }));
  });

  it("freezes with 100 calls pending, thaws in a new process, which answers them by their original ids", async () => {
    const { rt } = await startScenario(1, { work: () => DEFER });
    expect(await rt.run()).toBe("waiting");
    const ids = rt.pendingCalls().map((c) => c.id).sort((a, b) => a - b);
    expect(ids).toHaveLength(100);
    const dir = await mkdtemp(join(tmpdir(), "stasis-calls-"));
    const wasm = join(dir, "calls.wasm");
    await writeFile(wasm, rt.program.bytes!);
    const image = rt.snapshot();
    const child = exec(process.execPath, [join(packageRoot(), "test", "child", "answer.mjs"), wasm]);
    child.child.stdin!.end(Buffer.from(image));
    const { stdout } = await child;
    expect(stdout.trim().split("\n")).toEqual(["100 answers, 0 wrong", "ids " + ids.join(",")]);
  });

  it("rejects_thaw_without_handlers, naming each missing one", async () => {
    const { rt } = await startScenario(1, { work: () => DEFER });
    await rt.run();
    await expect(Runtime.restore(rt.program, rt.snapshot(), { print: () => {} })).rejects.toMatchObject({
      code: "MISSING_HANDLER",
      message: expect.stringContaining('"work"'),
    });
  });

  it("sleeps across a thaw for the remaining time only", async () => {
    const { rt } = await startScenario(3, {});
    const started = Date.now();
    rt.step(); // the tasklet computes its deadline and calls sleep
    await delay(600);
    const image = rt.snapshot();
    const output: string[] = [];
    const thawed = await Runtime.restore(rt.program, image, { print: (l) => output.push(l) });
    await thawed.run();
    const total = Date.now() - started;
    expect(output).toEqual(["woke"]);
    expect(total).toBeGreaterThanOrEqual(1500);
    expect(total).toBeLessThan(2000); // not 600 ms + another full 1500 ms
  });

  it("rejects_switch_inside_a_host_callback (wasm → JS → wasm) with a clear error", async () => {
    const holder: { rt?: Runtime } = {};
    const { rt } = await startScenario(6, {}, []);
    const output: string[] = [];
    const withCallback = await Runtime.start(rt.program, {
      print: (line) => {
        output.push(line);
        if (line === "calling back") (holder.rt!.exports.yieldNow as () => void)();
      },
    });
    holder.rt = withCallback;
    call(withCallback, "setScenario", 6);
    await expect(withCallback.run()).rejects.toMatchObject({ code: "MISUSE", message: expect.stringMatching(/inside a host callback/) });
    expect(output).toEqual(["calling back"]);
  });
});
