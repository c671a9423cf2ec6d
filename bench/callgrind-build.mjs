// Builds one kernel of bench/programs/kernels as plain | default | preempt into a .wasm
// file, for bench/callgrind.sh. Run after `npm run build`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import asc from "assemblyscript/asc";
import { buildProgram } from "../dist/build/index.js";
import { packageRoot } from "../dist/build/paths.js";

const [variant, kernel, out] = process.argv.slice(2);
const dir = join(packageRoot(), "bench", "programs", "kernels");
let wasm;
if (variant === "plain") {
  await asc.main([`${kernel}.ts`, "-O3", "--runtime", "incremental", "--outFile", "k.wasm", "--baseDir", dir], {
    writeFile: (_name, contents) => {
      if (typeof contents !== "string") wasm = contents;
    },
  });
} else {
  wasm = (await buildProgram(join(dir, `${kernel}.ts`), { preempt: variant === "preempt" })).wasm;
}
writeFileSync(out, wasm);
