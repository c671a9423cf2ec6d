// --preempt is safe for any program (issue 15): no switch inside the collector, fuel
// valid before the program's top-level code runs, library code preemptible.
import binaryen from "binaryen";
import { describe, expect, it } from "vitest";
import { compileProgram } from "../build/compile.ts";
import { buildProgram } from "../build/index.ts";
import { instrument } from "../build/instrument.ts";
import { classify, ownerOf } from "../build/preempt.ts";
import { stampMetadata } from "../build/section.ts";
import { ABI_VERSION } from "../host/abi.ts";
import { Program, Runtime } from "../host/index.ts";
import { programPath } from "./helpers.ts";

type Setup = Record<string, number>;
const builds = new Map<string, Promise<Program>>();

function load(name: string, preempt: boolean): Promise<Program> {
  const key = `${name}:${preempt}`;
  if (!builds.has(key)) builds.set(key, buildProgram(programPath(name), { preempt }).then((b) => Program.load(b.wasm)));
  return builds.get(key)!;
}

function configure(rt: Runtime, setup: Setup): void {
  for (const [name, value] of Object.entries(setup)) (rt.exports[name] as (n: number) => void)(value);
}

async function straight(program: Program, setup: Setup = {}): Promise<string[]> {
  const output: string[] = [];
  const rt = await Runtime.start(program, { print: (l) => output.push(l), seed: 7 });
  configure(rt, setup);
  await rt.run();
  return output;
}

/** Runs one resumption per step at `fuel`, freezing and thawing after every step. */
async function frozenEveryStep(program: Program, fuel: number, setup: Setup = {}): Promise<{ output: string[]; linesAtStep: number[] }> {
  const output: string[] = [];
  const print = (l: string) => output.push(l);
  let rt = await Runtime.start(program, { print, seed: 7 });
  configure(rt, setup);
  const linesAtStep: number[] = [];
  while (rt.step({ budget: 1, fuel }) !== "done") {
    linesAtStep.push(output.length);
    rt = await Runtime.restore(program, rt.snapshot(), { print });
  }
  return { output, linesAtStep };
}

/** The compiled module (before Asyncify), with names: which functions call __stasis_preempt. */
async function compiled(name: string, options: Parameters<typeof compileProgram>[1]) {
  const module = binaryen.readBinaryWithFeatures(await compileProgram(programPath(name), options), binaryen.Features.All);
  try {
    const c = classify(module);
    // The optimizer inlines __stasis_preempt (a one-line export) into the checks.
    const checked = (n: string) => [...c.walked.get(n)!.calls].some((callee) => callee.startsWith("~lib/stasis/assembly/host/__stasis_preempt") || callee === "~lib/stasis/assembly/preempt/preempt");
    const exported = (name: string) => binaryen.getExportInfo(module.getExport(name)).value;
    const guarded = (name: string) => binaryen.emitText(binaryen.getFunctionInfo(module.getFunction(exported(name))).body).includes("global.set $~lib/stasis/assembly/preempt/runtimeDepth");
    return {
      checkedFromRuntime: [...c.fromRuntime].filter((n) => c.walked.has(n) && checked(n)),
      checkedLibrary: [...c.walked.keys()].filter((n) => ownerOf(n) === "library" && checked(n)),
      guarded: ["__new", "__collect"].filter(guarded),
    };
  } finally {
    module.dispose();
  }
}

describe("--preempt never switches inside the collector", () => {
  // Issue 15: 300 objects with a GC visitor, then allocation; before, fuel 1 and 7
  // aborted ("tasklet 1 is already queued") and 100 and 1000 never returned.
  for (const fuel of [1, 7, 100, 1000]) {
    it(`runs the visitor program at fuel ${fuel}, frozen and thawed after every step, as the plain build does`, async () => {
      const expected = await straight(await load("holders.ts", false));
      expect(expected).toEqual(["holders 300, total 3890, last holder 299"]);
      const { output, linesAtStep } = await frozenEveryStep(await load("holders.ts", true), fuel);
      expect(output).toEqual(expected);
      if (fuel <= 100) expect(linesAtStep.length).toBeGreaterThan(10);
    });
  }

  it("puts no fuel check in code the runtime reaches, and guards the runtime's entries", async () => {
    const { checkedFromRuntime, guarded } = await compiled("holders.ts", { mode: "release", preempt: true });
    expect(checkedFromRuntime).toEqual([]);
    expect(guarded).toEqual(["__new", "__collect"]);
  });

  it("refuses to switch inside the collector even when the visitors have fuel checks (the runtimeDepth guard alone)", async () => {
    const options = { mode: "release" as const, preempt: true, fuelChecks: { checkRuntimeCallbacks: true } };
    const { checkedFromRuntime } = await compiled("holders.ts", options);
    expect(checkedFromRuntime.length).toBeGreaterThan(0);
    const instrumented = instrument(await compileProgram(programPath("holders.ts"), options), "release");
    const { wasm } = stampMetadata(instrumented.wasm, { abi: ABI_VERSION, mode: "release", preempt: true, globals: instrumented.globals });
    const program = await Program.load(wasm);
    const expected = await straight(await load("holders.ts", false));
    for (const fuel of [1, 7, 100, 1000]) {
      const output: string[] = [];
      const rt = await Runtime.start(program, { print: (l) => output.push(l) });
      while (rt.step({ budget: 1, fuel }) !== "done");
      expect(output).toEqual(expected);
    }
  });
});

describe("--preempt: fuel is valid before any program code runs", () => {
  // Issue 15: top-level code calling a function with a loop hung Runtime.start.
  for (const fuel of [1, 7, 100, 1000]) {
    it(`starts the top-level-loop program and runs it at fuel ${fuel}, frozen and thawed after every step`, async () => {
      const expected = await straight(await load("toplevel.ts", false));
      expect(expected).toEqual(["table total 426820800"]);
      const { output } = await frozenEveryStep(await load("toplevel.ts", true), fuel);
      expect(output).toEqual(expected);
    });
  }
});

describe("--preempt: library code is preemptible", () => {
  it("puts fuel checks in an npm library's functions (assemblyscript-json)", async () => {
    const { checkedLibrary, checkedFromRuntime } = await compiled("jsonlib.ts", { mode: "release", preempt: true });
    expect(checkedLibrary.some((n) => n.startsWith("~lib/assemblyscript-json/"))).toBe(true);
    expect(checkedFromRuntime).toEqual([]);
  });

  it("preempts a long JSON.parse, frozen and thawed after every step, with the exact result", async () => {
    const setup = { setElements: 400 };
    const plain = await straight(await load("jsonlib.ts", false), setup);
    expect(plain).toEqual(["parsing 1551 bytes", "elements 400, sum 187600", "ticks during the parse: none"]);
    const { output, linesAtStep } = await frozenEveryStep(await load("jsonlib.ts", true), 500, setup);
    expect(output).toEqual(["parsing 1551 bytes", "elements 400, sum 187600", "ticks during the parse: some"]);
    // Steps that ended while main was inside JSON.parse ("parsing" printed, the result not yet).
    expect(linesAtStep.filter((lines) => lines === 1).length).toBeGreaterThan(10);
  });
});
