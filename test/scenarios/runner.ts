// Command-line runner of the scenario suite for Deno and Bun (started by
// test/everywhere.test.ts; both run this TypeScript directly, through their Node APIs):
//   deno run -A runner.ts suite  <dir>                 → JSON outcomes
//   bun runner.ts         freeze <dir> <case> <image>  → writes the image
//   …                     thaw   <dir> <case> <image>  → JSON output lines
//   …                     relay  <dir> <image> <out>   → answers half the pending calls, writes <out>
// <dir> holds pingpong.wasm, channels.wasm and calls.wasm.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { freeze, relay, runSuite, thaw, type MatrixCase, type Programs } from "./suite.ts";

const [command, dir, which, imagePath] = process.argv.slice(2);
const load = async (name: string) => new Uint8Array(await readFile(join(dir, `${name}.wasm`)));
const programs: Programs = { pingpong: await load("pingpong"), channels: await load("channels"), calls: await load("calls") };

if (command === "suite") console.log(JSON.stringify(await runSuite(programs)));
else if (command === "freeze") await writeFile(imagePath, await freeze(programs, which as MatrixCase));
else if (command === "thaw") console.log(JSON.stringify(await thaw(programs, which as MatrixCase, new Uint8Array(await readFile(imagePath)))));
else if (command === "relay") await writeFile(imagePath, await relay(programs, new Uint8Array(await readFile(which))));
else throw new Error(`unknown command ${command}`);
