// --preempt: loops that never yield are time-sliced fairly and can be frozen mid-loop.
import { describe, expect, it } from "vitest";
import { buildProgram } from "../build/index.ts";
import { Program, Runtime } from "../host/index.ts";
import { call, programPath } from "./helpers.ts";

let preemptible: Promise<Program> | undefined;
const program = () => (preemptible ??= buildProgram(programPath("plain.ts"), { preempt: true }).then((b) => Program.load(b.wasm)));

async function straight(scenario: number): Promise<string[]> {
  const output: string[] = [];
  const rt = await Runtime.start(await program(), { print: (l) => output.push(l) });
  call(rt, "setScenario", scenario);
  await rt.run();
  return output;
}

describe("--preempt", () => {
  const cases: [string, number, string][] = [
    ["a naive prime count", 0, "primes below 20000: 2262"],
    ["a recursive fib", 1, "fib(24) = 46368"],
    ["a matrix multiply", 2, "matrix checksum "],
  ];
  for (const [name, scenario, answer] of cases) {
    it(`freezes ${name} hundreds of times mid-loop at random fuel and gets the exact answer`, async () => {
      const expected = await straight(scenario);
      expect(expected[0].startsWith(answer)).toBe(true);
      const output: string[] = [];
      const print = (l: string) => output.push(l);
      let rt = await Runtime.start(await program(), { print });
      call(rt, "setScenario", scenario);
      let freezes = 0;
      while (rt.step({ budget: 1, fuel: 50 + Math.floor(Math.random() * 400) }) !== "done") {
        rt = await Runtime.restore(rt.program, rt.snapshot(), { print });
        freezes++;
      }
      expect(freezes).toBeGreaterThanOrEqual(100);
      expect(output).toEqual(expected);
    });
  }

  it("time-slices tasklets that never yield fairly", async () => {
    const rt = await Runtime.start(await program(), { print: () => {} });
    call(rt, "setScenario", 3);
    for (let i = 0; i < 20; i++) expect(rt.step({ budget: 40, fuel: 10_000 })).toBe("yielded");
    const counts = [0, 1, 2].map((i) => call(rt, "spinCount", i));
    for (const count of counts) expect(count).toBeGreaterThan(0);
    expect(Math.max(...counts) / Math.min(...counts)).toBeLessThan(1.5);
  });

  it("rejects_fuel_without_preempt_build", async () => {
    const plain = await Program.load((await buildProgram(programPath("pingpong.ts"))).wasm);
    const rt = await Runtime.start(plain, { print: () => {} });
    expect(() => rt.step({ fuel: 100 })).toThrow(expect.objectContaining({ code: "BAD_OPTION" }));
  });
});
