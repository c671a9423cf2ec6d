import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import asc from "assemblyscript/asc";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../build/index.ts";
import { instrument } from "../build/instrument.ts";
import { packageRoot } from "../build/paths.ts";
import { GLOBAL_EXPORT_PREFIX, METADATA_SECTION } from "../host/abi.ts";
import { Program, Runtime } from "../host/index.ts";
import { programPath, start } from "./helpers.ts";

const exec = promisify(execFile);
const cli = join(packageRoot(), "dist", "build", "cli.js");

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "stasis-test-"));
}

async function runCli(args: string[], cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cli, ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const error = e as { code: number; stdout: string; stderr: string };
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

describe("buildProgram", () => {
  it("reports a compile error as file:line:col with a COMPILE_ERROR code", async () => {
    const dir = await tempDir();
    const file = join(dir, "broken.ts");
    await writeFile(file, 'export function main(): void {\n  const n: i32 = "text";\n}\n');
    await expect(buildProgram(file)).rejects.toMatchObject({
      code: "COMPILE_ERROR",
      message: expect.stringMatching(/broken\.ts:2:18: error AS2322: Type '~lib\/string\/String' is not assignable to type 'i32'/),
    });
  });

  it("rejects_program_without_main with a sentence that says what to add", async () => {
    const dir = await tempDir();
    const file = join(dir, "nomain.ts");
    await writeFile(file, "export function helper(): void {}\n");
    await expect(buildProgram(file)).rejects.toMatchObject({
      code: "COMPILE_ERROR",
      message: expect.stringMatching(/nomain\.ts:1:1: error: the program must export a function main\(\): void/),
    });
  });

  it("stamps the module id (SHA-256 of the bytes before the section) and the ABI version", async () => {
    const built = await buildProgram(programPath("globals.ts"));
    const module = await WebAssembly.compile(built.wasm);
    const [section] = WebAssembly.Module.customSections(module, METADATA_SECTION);
    const metadata = JSON.parse(new TextDecoder().decode(section));
    expect(metadata).toEqual(built.metadata);
    const prefixLength = built.wasm.length - (section.byteLength + METADATA_SECTION.length + 1 + 1 + 2);
    const candidates = [0, 1, 2].map((extra) => createHash("sha256").update(built.wasm.subarray(0, prefixLength + extra)).digest("hex"));
    expect(candidates).toContain(metadata.moduleId);
    expect(built.sizes.instrumented).toBe(built.wasm.length);
    expect(built.sizes.compiled).toBeGreaterThan(0);
  });

  it("makes every mutable global readable and writable by the host", async () => {
    const { rt } = await start("globals.ts");
    const exports = WebAssembly.Module.exports(rt.program.module).filter((e) => e.kind === "global" && e.name.startsWith(GLOBAL_EXPORT_PREFIX));
    expect(exports.length).toBeGreaterThanOrEqual(5); // stack pointer, GC state, Asyncify state and data, scheduler…
    const instanceExports = rt.exports as Record<string, unknown>;
    const globals = exports.map((e) => instanceExports[e.name] as WebAssembly.Global);
    (rt.exports.setMarker as (n: number) => void)(0x51a515);
    const marker = globals.find((g) => g.value === 0x51a515);
    expect(marker).toBeDefined();
    marker!.value = 0x7777;
    expect((rt.exports.getMarker as () => number)()).toBe(0x7777);
  });

  it("builds a program outside this repository that imports stasis/assembly as an installed package", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, "node_modules"));
    await symlink(packageRoot(), join(dir, "node_modules", "stasis"));
    const file = join(dir, "app.ts");
    await writeFile(file, 'import { Task, spawn } from "stasis/assembly";\nclass Hi extends Task { run(): void { console.log("hi from a tasklet"); } }\nexport function main(): void { spawn(new Hi()).join(); }\n');
    const built = await buildProgram(file);
    const output: string[] = [];
    const rt = await Runtime.start(await Program.load(built.wasm), { print: (l) => output.push(l) });
    await rt.run();
    expect(output).toEqual(["hi from a tasklet"]);
  });

  it("refuses to instrument a module whose switch functions are missing", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "plain.ts"), "export function add(a: i32, b: i32): i32 { return a + b; }\n");
    let wasm: Uint8Array | undefined;
    await asc.main(["plain.ts", "--outFile", "plain.wasm", "--debug", "--baseDir", dir], {
      writeFile: (_name: string, contents: Uint8Array | string) => {
        if (typeof contents !== "string") wasm = contents;
      },
    });
    expect(() => instrument(wasm!, "release")).toThrow(expect.objectContaining({ code: "COMPILE_ERROR" }));
  });
});

describe("Program.load", () => {
  it("rejects_non_wasm_bytes", async () => {
    await expect(Program.load(new TextEncoder().encode("hello"))).rejects.toMatchObject({ code: "BAD_MODULE" });
  });

  it("rejects_plain_wasm_without_stasis_section", async () => {
    const minimal = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    await expect(Program.load(minimal)).rejects.toMatchObject({ code: "BAD_MODULE", message: expect.stringMatching(/stasis build/) });
  });
});

describe("stasis CLI", () => {
  it("builds, prints code size before and after instrumentation, and runs", async () => {
    const dir = await tempDir();
    const out = join(dir, "pingpong.wasm");
    const build = await runCli(["build", programPath("pingpong.ts"), "-o", out]);
    expect(build.code).toBe(0);
    expect(build.stdout).toMatch(/code size: [\d,]+ bytes compiled → [\d,]+ bytes instrumented \(\+\d+\.\d%\)/);
    expect(build.stdout).toMatch(/module id: [0-9a-f]{64}/);
    expect((await readFile(out)).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
    const run = await runCli(["run", out]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("a 0\nb 0\na 1\nb 1\na 2\nb 2\ndone\n");
  });

  it("exits non-zero with file:line: message and no stack trace on a compile error", async () => {
    const dir = await tempDir();
    const file = join(dir, "broken.ts");
    await writeFile(file, "export function main(): void {\n  undefinedThing();\n}\n");
    const result = await runCli(["build", file, "-o", join(dir, "x.wasm")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/broken\.ts:2:3: error AS\d+: Cannot find name 'undefinedThing'/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("reports a runtime failure with its code and exits non-zero", async () => {
    const result = await runCli(["run", join(packageRoot(), "package.json")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^stasis: BAD_MODULE: /);
  });
});
