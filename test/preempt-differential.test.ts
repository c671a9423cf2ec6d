// Differential: each program built plain and with --preempt. The --preempt build runs at a
// tiny fuel, frozen and thawed after every step, and must print what the plain build's
// straight run prints. Where preemption legitimately reorders what tasklets print
// (`order: "schedule"`), the frozen run must print exactly what the --preempt build's own
// straight run at the same fuel prints, and the same multiset of lines as the plain
// build; where the lines themselves depend on the schedule (`order: "lines"`), only the
// former. (Programs and sizes chosen to keep the file well under a minute on 2 cores;
// the visitor, top-level and library programs are in preempt-safety.test.ts.)
import { describe, expect, it } from "vitest";
import { buildProgram } from "../build/index.ts";
import { Program, Runtime } from "../host/index.ts";
import { programPath } from "./helpers.ts";

interface Case {
  program: string;
  fuel: number;
  setup?: Record<string, number>;
  order?: "schedule" | "lines";
}

const cases: Case[] = [
  { program: "gc-preempt.ts", fuel: 9 },
  { program: "deep.ts", fuel: 3, setup: { setDepth: 20 } },
  { program: "pingpong.ts", fuel: 1, order: "schedule" },
  { program: "channels.ts", fuel: 3, order: "lines" },
  { program: "primitives.ts", fuel: 2, order: "lines" },
];

async function runStraight(program: Program, c: Case, fuel?: number): Promise<string[]> {
  const output: string[] = [];
  const rt = await Runtime.start(program, { print: (l) => output.push(l), seed: 11 });
  for (const [name, value] of Object.entries(c.setup ?? {})) (rt.exports[name] as (n: number) => void)(value);
  while (rt.step({ budget: 1000, fuel }) !== "done");
  return output;
}

async function runFrozen(program: Program, c: Case): Promise<{ output: string[]; freezes: number }> {
  const output: string[] = [];
  const print = (l: string) => output.push(l);
  let rt = await Runtime.start(program, { print, seed: 11 });
  for (const [name, value] of Object.entries(c.setup ?? {})) (rt.exports[name] as (n: number) => void)(value);
  let freezes = 0;
  while (rt.step({ budget: 1, fuel: c.fuel }) !== "done") {
    rt = await Runtime.restore(program, rt.snapshot(), { print });
    freezes++;
  }
  return { output, freezes };
}

describe("--preempt differential: plain build ≡ --preempt build frozen after every step at tiny fuel", () => {
  for (const c of cases) {
    it(`${c.program} at fuel ${c.fuel}${c.order ? ` (${c.order} order)` : ""}`, async () => {
      const plain = await Program.load((await buildProgram(programPath(c.program))).wasm);
      const preemptible = await Program.load((await buildProgram(programPath(c.program), { preempt: true })).wasm);
      const expected = await runStraight(plain, c);
      expect(expected.length).toBeGreaterThan(0);
      const { output } = await runFrozen(preemptible, c);
      if (c.order === undefined) {
        expect(output).toEqual(expected);
      } else {
        expect(output).toEqual(await runStraight(preemptible, c, c.fuel));
        if (c.order === "schedule") expect([...output].sort()).toEqual([...expected].sort());
      }
    });
  }
});
