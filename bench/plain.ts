// Plain AssemblyScript builds for the benchmarks' baselines: `asc -O3` of one file, no
// Stasis runtime, no Asyncify, in memory.
import { basename, dirname } from "node:path";
import asc from "assemblyscript/asc";

/** `asc <file> -O3 --runtime incremental [extra]`; the module's bytes. */
export async function compilePlain(path: string, extra: string[] = []): Promise<Uint8Array<ArrayBuffer>> {
  let wasm: Uint8Array | undefined;
  const sink = { write: () => true };
  // baseDir is the program's folder, so asc does not pick up this package's asconfig.json.
  const args = [basename(path), "-O3", "--runtime", "incremental", ...extra, "--outFile", "out.wasm", "--baseDir", dirname(path)];
  const { error } = await asc.main(args, {
    stdout: sink,
    stderr: sink,
    writeFile: (_name: string, contents: Uint8Array | string) => {
      if (typeof contents !== "string") wasm = contents;
    },
  });
  if (error || !wasm) throw new Error(`cannot compile ${path}: ${error?.message}`);
  return new Uint8Array(wasm);
}

/** Host imports a plain asc module may ask for. */
export const plainImports = {
  env: { abort: () => { throw new Error("abort"); }, seed: () => 1, "Date.now": () => 0, "console.log": () => {}, trace: () => {} },
};
