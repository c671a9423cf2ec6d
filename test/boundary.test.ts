// The host as an exception boundary: hostile handlers, forged modules and forks.
// Whatever a handler does or an image claims, a public entry either works or throws a
// StasisError; nothing escapes as a raw error or an unhandled rejection.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { packageRoot } from "../build/paths.ts";
import { DEFER, Program, Runtime, StasisError, decodeImage, encodeImage, type HostCall, type HostHandler } from "../host/index.ts";
import { call, loadProgram } from "./helpers.ts";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
});

async function scenario(n: number, handlers: Record<string, HostHandler>) {
  const output: string[] = [];
  const rt = await Runtime.start(await loadProgram("calls.ts"), { print: (l) => output.push(l), handlers });
  call(rt, "setScenario", n);
  return { rt, output };
}

async function rejection(promise: Promise<unknown>): Promise<StasisError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StasisError);
    return error as StasisError;
  }
  throw new Error("expected a rejection");
}

describe("handlers", () => {
  it("rejects_object_members_and_misbehaving_handlers as error results of that call; the program runs on", async () => {
    const hostile = { toString: () => { throw new Error("no"); } };
    const { rt, output } = await scenario(7, {
      number: (() => 42) as unknown as HostHandler,
      hostile: () => { throw hostile; },
      thenable: (() => ({ get then() { throw new Error("then exploded"); } })) as unknown as HostHandler,
      echo: (c) => c.text(),
    });
    expect(await rt.run()).toBe("done");
    expect(output).toEqual([
      'constructor: error no host function named "constructor" is registered; pass it in the handlers option',
      'toString: error no host function named "toString" is registered; pass it in the handlers option',
      '__proto__: error no host function named "__proto__" is registered; pass it in the handlers option',
      'number: error the handler for "number" returned a number; a handler returns a string, a Uint8Array or DEFER (or throws to answer with an error)',
      "hostile: error the handler failed with a value that cannot be shown",
      "thenable: error then exploded",
      "fine: ok fine",
    ]);
    expect(unhandled).toEqual([]);
  });

  it("rejects_bad_completion values with BAD_OPTION and leaves the call pending", async () => {
    const { rt } = await scenario(4, { approval: () => DEFER });
    expect(await rt.run()).toBe("waiting");
    const [pending] = rt.pendingCalls();
    for (const bad of [42, null, { error: 7 }, undefined, [1, 2]]) {
      expect(() => rt.complete(pending.id, bad as never)).toThrow(expect.objectContaining({ code: "BAD_OPTION" }));
    }
    expect(() => rt.complete(-1, "x")).toThrow(expect.objectContaining({ code: "BAD_OPTION" }));
    expect(rt.pendingCalls()).toHaveLength(1);
    rt.complete(pending.id, "approved");
    expect(await rt.run()).toBe("done");
  });
});

describe("modules", () => {
  async function built(): Promise<Uint8Array<ArrayBuffer>> {
    const program = await loadProgram("pingpong.ts");
    const rt = await Runtime.start(program, { print: () => {} });
    rt.step({ budget: 3 });
    return rt.snapshot({ embed: true });
  }

  it("rejects_forged_module_id: another program embedded under the image's module id is refused", async () => {
    const image = await built();
    const contents = await decodeImage(image);
    // The attack: embed different code whose metadata claims the id the image names.
    const other = (await loadProgram("calls.ts")).bytes!;
    const otherId = (await loadProgram("calls.ts")).id;
    const text = new TextDecoder("latin1").decode(other);
    const at = text.lastIndexOf(otherId);
    expect(at).toBeGreaterThan(0);
    const module = other.slice();
    module.set(new TextEncoder().encode(contents.moduleId), at);
    await expect(Program.load(module)).rejects.toMatchObject({ code: "BAD_MODULE", message: expect.stringMatching(/hash to/) });
    const forged = encodeImage({ ...contents, module });
    expect(await rejection(Runtime.restore(null, forged, { print: () => {} }))).toMatchObject({ code: "BAD_MODULE" });
  });

  it("rejects_module_whose_metadata_names_missing_globals", async () => {
    const program = await loadProgram("pingpong.ts");
    const bytes = program.bytes!;
    const text = new TextDecoder().decode(bytes);
    const at = text.lastIndexOf('"globals":[');
    expect(at).toBeGreaterThan(0);
    // Point the first listed global at an index the module does not export (same length).
    const damaged = bytes.slice();
    const digitAt = at + '"globals":[{"index":'.length;
    damaged[digitAt] = "9".charCodeAt(0);
    damaged[digitAt - 1] = "9".charCodeAt(0);
    expect(await rejection(Program.load(damaged))).toMatchObject({ code: "BAD_MODULE" });
  });

  it("still loads the checked-in v1 module (its id verifies)", async () => {
    const wasm = new Uint8Array(await readFile(join(packageRoot(), "test", "fixtures", "pingpong-v1.wasm")));
    await expect(Program.load(wasm)).resolves.toBeInstanceOf(Program);
  });
});

describe("lineages", () => {
  it("gives two forks of one image distinct call keys, and a plain restore the same keys again", async () => {
    const keys = (calls: HostCall[]) => calls.map((c) => c.key);
    const seen: HostCall[] = [];
    const { rt } = await scenario(1, { work: (c) => { seen.push(c); return DEFER; } });
    await rt.run();
    expect(seen).toHaveLength(100);
    // Answer half, freeze with 50 pending.
    for (const c of seen.slice(0, 50)) rt.complete(c.id, "done " + c.text());
    rt.step();
    const image = rt.snapshot();
    const before = new Set(keys(seen));

    const thaw = async (fork: boolean) => {
      const calls: HostCall[] = [];
      const again = await Runtime.restore(await loadProgram("calls.ts"), image, { print: () => {}, fork, handlers: { work: (c) => { calls.push(c); return "done " + c.text(); } } });
      await again.run();
      return { calls, lineage: again.lineageId };
    };
    const plain1 = await thaw(false);
    const plain2 = await thaw(false);
    const forkA = await thaw(true);
    const forkB = await thaw(true);
    // Calls pending at the freeze keep their keys in every thaw, forks included.
    const pendingKeys = keys(seen.slice(50)).sort();
    for (const t of [plain1, plain2, forkA, forkB]) expect(keys(t.calls).sort()).toEqual(pendingKeys);
    expect(plain1.lineage).toBe(rt.lineageId);
    expect(new Set([forkA.lineage, forkB.lineage, rt.lineageId]).size).toBe(3);
    for (const k of pendingKeys) expect(before.has(k)).toBe(true);
  });

  it("gives calls made after a fork keys no other lineage has", async () => {
    const { rt } = await scenario(2, { throws: () => DEFER, rejects: () => "x", echo: (c) => c.text() });
    await rt.run();
    const image = rt.snapshot();
    const run = async (fork: boolean) => {
      const calls: HostCall[] = [];
      const handler: HostHandler = (c) => { calls.push(c); return "x"; };
      const again = await Runtime.restore(await loadProgram("calls.ts"), image, { print: () => {}, fork, handlers: { throws: handler, rejects: handler, echo: handler } });
      await again.run();
      return calls.map((c) => `${c.name}=${c.key}`);
    };
    const [a, b, c] = [await run(true), await run(true), await run(false)];
    // "throws" was pending (inherited key); "rejects" and "echo" are issued after the thaw.
    expect(a[0]).toBe(b[0]);
    expect(a.slice(1).some((k) => b.includes(k))).toBe(false);
    expect(a.slice(1).some((k) => c.includes(k))).toBe(false);
    const d = await run(false);
    expect(d).toEqual(c);
  });
});

describe("failure classification", () => {
  it("rejects_second_trap_while_recovering: a failed instance that traps again when asked gives a TRAP, not a raw error", async () => {
    const { classifyFailure } = await import("../host/failure.ts");
    const trap = () => {
      throw new WebAssembly.RuntimeError("unreachable");
    };
    const stasis = { __stasis_reset: trap, __stasis_current: trap, __stasis_recover: trap, __stasis_stack_limit: trap } as never;
    const { error, fatal } = classifyFailure(new WebAssembly.RuntimeError("memory access out of bounds"), stasis);
    expect(error).toBeInstanceOf(StasisError);
    expect(error.code).toBe("TRAP");
    expect(error.message).toMatch(/memory access out of bounds.*too damaged to inspect \(unreachable\)/);
    expect(fatal).toBe(true);
  });
});
