// Builds one kernel of bench/programs/kernels as plain | default | preempt into a .wasm
// file, for bench/callgrind.sh. Run after `npm run build`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildProgram } from "../dist/build/index.js";
import { packageRoot } from "../dist/build/paths.js";
import { compilePlain } from "../dist/bench/plain.js";

const [variant, kernel, out] = process.argv.slice(2);
const path = join(packageRoot(), "bench", "programs", "kernels", `${kernel}.ts`);
const wasm = variant === "plain" ? await compilePlain(path) : (await buildProgram(path, { preempt: variant === "preempt" })).wasm;
writeFileSync(out, wasm);
