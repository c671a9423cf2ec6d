// A fixed-seed corpus of mutated images, checksums recomputed, through every host entry
// an image reaches (test/fuzz/target.ts): nothing but a StasisError may escape, and no
// unhandled rejection may be left behind. `npm run fuzz` runs the same at a million cases.
import { describe, expect, it } from "vitest";
import { fuzzBases } from "./fuzz/bases.ts";
import { runCorpus } from "./fuzz/corpus.ts";

const CASES_PER_BASE = 5000;

describe("fuzzing images", () => {
  it(`lets only StasisErrors out of ${5 * CASES_PER_BASE} mutated, resealed images (one a delta at the end of a chain)`, async () => {
    const bases = await fuzzBases();
    const report = await runCorpus(bases, { seed: 0x5eed, casesPerBase: CASES_PER_BASE, stallMs: 2000 });
    console.log(`fuzz: ${report.cases} cases`, report.results, `loops: ${report.loops.length}`);
    expect(report.escapes).toEqual([]);
    expect(report.cases + report.loops.length).toBe(bases.length * CASES_PER_BASE);
    // The corpus must reach past the decoder into the program, or it tests little.
    expect(report.results.ok ?? 0).toBeGreaterThan(CASES_PER_BASE / 10);
  }, 600_000);
});
