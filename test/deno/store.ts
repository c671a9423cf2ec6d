// Run by test/deno.test.ts under Deno: the file store and a thaw of the v1 fixture.
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Program, Runtime } from "../../host/index.ts";
import { loadImage, saveImage } from "../../host/node/index.ts";

const fixtures = new URL("../fixtures/", import.meta.url);
const program = await Program.load(new Uint8Array(await readFile(new URL("pingpong-v1.wasm", fixtures))));
const path = join(await mkdtemp(join(tmpdir(), "stasis-deno-")), "state.img");
await saveImage(path, await readFile(new URL("pingpong-v1.img", fixtures)));
const output: string[] = [];
const rt = await Runtime.restore(program, await loadImage(path), { print: (line) => output.push(line) });
await rt.run();
console.log(output.join(","));
