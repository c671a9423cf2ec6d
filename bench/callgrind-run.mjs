// Instantiates a kernel module and calls run(n) once (plain modules and Stasis modules
// alike), for bench/callgrind.sh.
import { readFileSync } from "node:fs";

const [file, n] = process.argv.slice(2);
const env = { abort() { throw new Error("abort"); }, seed: () => 1, "Date.now": () => 0, "console.log"() {}, trace() {} };
const { instance } = await WebAssembly.instantiate(readFileSync(file), { env });
const exports = instance.exports;
if (exports._initialize) exports._initialize();
console.log(exports.run(Number(n)));
