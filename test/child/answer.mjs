// Child process for test/hostcalls.test.ts: reads an image from stdin, thaws it with
// handlers that answer each call with its original id, runs to the end, prints output.
import { readFileSync } from "node:fs";
import { Program, Runtime } from "../../dist/host/index.js";

const [wasmPath] = process.argv.slice(2);
const program = await Program.load(new Uint8Array(readFileSync(wasmPath)));
const image = new Uint8Array(readFileSync(0));
const seen = [];
const rt = await Runtime.restore(program, image, {
  print: (line) => console.log(line),
  handlers: {
    work: async (call) => {
      seen.push(call.id);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
      return "done " + call.text();
    },
  },
});
await rt.run();
console.log("ids " + seen.sort((a, b) => a - b).join(","));
