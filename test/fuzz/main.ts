// `npm run fuzz [cases]`: the fuzz corpus at scale (default 1,000,000 cases; a fresh seed
// each run unless FUZZ_SEED is set; FUZZ_STALL_MS: how long a case may run before it counts
// as a loop, default 1000). Prints the outcomes and every escape; exits 1 on any.
import { fuzzBases } from "./bases.ts";
import { runCorpus } from "./corpus.ts";

const total = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 0x7fffffff);
const bases = await fuzzBases();
const started = Date.now();
console.log(`fuzzing ${total.toLocaleString("en-US")} mutated images (seed ${seed}, ${bases.length} bases)`);
const report = await runCorpus(bases, {
  seed,
  casesPerBase: Math.ceil(total / bases.length),
  stallMs: Number(process.env.FUZZ_STALL_MS ?? 1000),
  onProgress: (so) =>
    process.stderr.write(`\r  ${so.cases.toLocaleString("en-US")} cases, ${so.escapes.length} escapes, ${so.loops.length} loops, ${((Date.now() - started) / 1000).toFixed(0)} s`),
});
process.stderr.write("\n");
console.log("outcomes:", report.results);
console.log(`loops stopped by the watchdog: ${report.loops.length}${report.loops.length ? ` (first: base ${report.loops[0][0]} case ${report.loops[0][1]})` : ""}`);
console.log(`escapes: ${report.escapes.length}`);
for (const escape of report.escapes.slice(0, 20)) console.log("  " + escape);
process.exitCode = report.escapes.length === 0 ? 0 : 1;
