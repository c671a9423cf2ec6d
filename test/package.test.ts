// The package as a user gets it: `npm pack` this repository (dist/ as `npm test` built it),
// then install the tarball into two new projects —
//   with the toolchain: the README's example (the blocks marked "package test") type-checks
//     with tsc against the installed declarations, builds, runs, freezes to disk and thaws;
//   without it (a thaw-only server): an image restores and runs, through the API and the
//     CLI; building fails MISSING_TOOLCHAIN; require() says "ESM only".
// Installs come from npm's cache (--prefer-offline): the same packages as this repository's.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { TOOLCHAIN } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";

const exec = promisify(execFile);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const root = packageRoot();
let tarball: string;
let full: string;
let thawOnly: string;

/** The ```ts block after `<!-- package test: name -->` in README.md. */
async function readmeBlock(name: string): Promise<string> {
  const readme = await readFile(join(root, "README.md"), "utf8");
  const match = new RegExp(`<!-- package test: ${name.replace(".", "\\.")} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!match) throw new Error(`README.md has no block marked "package test: ${name}"`);
  return match[1];
}

async function project(dir: string, packages: string[]): Promise<void> {
  await mkdir(dir);
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  // Clean of the parent npm's variables (npm test runs this file).
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("npm_")));
  await exec(npm, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", ...packages], { cwd: dir, env });
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "stasis-package-"));
  const { stdout } = await exec(npm, ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir], { cwd: root });
  tarball = join(dir, stdout.trim().split("\n").pop()!);
  full = join(dir, "full");
  thawOnly = join(dir, "thaw-only");
  await Promise.all([
    project(full, [tarball, `assemblyscript@${TOOLCHAIN.assemblyscript}`, `binaryen@${TOOLCHAIN.binaryen}`]),
    project(thawOnly, [tarball]),
  ]);
}, 180_000);

describe("the packed package", () => {
  it("ships what users need and nothing else", async () => {
    const { stdout } = await exec("tar", ["-tzf", tarball]);
    const files = stdout.trim().split("\n").map((f) => f.replace(/^package\//, ""));
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json", "dist/host/index.js", "dist/host/index.d.ts", "dist/build/cli.js", "assembly/index.ts", "asconfig.json"]));
    expect(files.filter((f) => /^(test|bench|examples|dist\/test|dist\/bench|dist\/examples)\/|\.map$/.test(f))).toEqual([]);
    const manifest = JSON.parse(await readFile(join(full, "node_modules", "stasis", "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest.private).toBeUndefined();
    expect(manifest.dependencies).toEqual({ "@assemblyscript/loader": expect.any(String) });
  });

  it("type-checks, builds, runs, freezes and thaws the README's example in a new project", async () => {
    await writeFile(join(full, "prog.ts"), await readmeBlock("prog.ts"));
    await writeFile(join(full, "main.ts"), await readmeBlock("main.ts"));
    await writeFile(
      join(full, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, lib: ["ES2022", "DOM"], types: [] }, files: ["main.ts"] }),
    );
    // tsc of this repository, on the consumer: type errors fail here, then main.js runs.
    await exec(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", full]).catch((e: { stdout: string }) => {
      throw new Error(`tsc failed on the README example:\n${e.stdout}`);
    });
    const { stdout } = await exec(process.execPath, ["main.js"], { cwd: full });
    expect(stdout.trim().split("\n")).toEqual(["a 0", "b 0", "a 1", "b 1", "a 2", "b 2", "done"]);
    expect(existsSync(join(full, "state.img"))).toBe(true);
    const cli = await exec(join(full, "node_modules", ".bin", "stasis"), ["--version"]);
    expect(cli.stdout).toMatch(/^stasis \d+\.\d+\.\d+\n$/);
  });

  it("restores an image in a project installed without the toolchain", async () => {
    expect(existsSync(join(thawOnly, "node_modules", "binaryen"))).toBe(false);
    expect(existsSync(join(thawOnly, "node_modules", "assemblyscript"))).toBe(false);
    // test/programs/pingpong.ts frozen mid-run (the fixture of a version-1 image), and a
    // source to try building.
    await copyFile(join(root, "test", "fixtures", "pingpong-v1.wasm"), join(thawOnly, "prog.wasm"));
    await copyFile(join(root, "test", "fixtures", "pingpong-v1.img"), join(thawOnly, "state.img"));
    await writeFile(join(thawOnly, "prog.ts"), await readmeBlock("prog.ts"));
    await writeFile(
      join(thawOnly, "thaw.mjs"),
      `import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { Program, Runtime } from "stasis";
import { loadImage } from "stasis/node";
const print = (line) => console.log(line);
const program = await Program.load(new Uint8Array(await readFile("prog.wasm")));
await (await Runtime.restore(program, await loadImage("state.img"), { print })).run();
const { buildProgram } = await import("stasis/build");
await buildProgram("prog.ts").catch((e) => print(e.code + ": " + e.message));
try { createRequire(import.meta.url)("stasis"); } catch (e) { print(e.message); }
`,
    );
    const { stdout } = await exec(process.execPath, ["thaw.mjs"], { cwd: thawOnly });
    const lines = stdout.trim().split("\n");
    expect(lines.slice(0, 4)).toEqual(["b 1", "a 2", "b 2", "done"]);
    expect(lines[4]).toMatch(/^MISSING_TOOLCHAIN: building a program needs the AssemblyScript toolchain, and [a-z ]+ (is|are) not installed: run `npm install --save-dev assemblyscript@/);
    expect(lines[5]).toMatch(/^stasis is ESM only: use `import/);
    const cli = await exec(join(thawOnly, "node_modules", ".bin", "stasis"), ["resume", "state.img", "--program", "prog.wasm"], { cwd: thawOnly });
    expect(cli.stdout.trim().split("\n")).toEqual(["b 1", "a 2", "b 2", "done"]);
    const build = await exec(join(thawOnly, "node_modules", ".bin", "stasis"), ["build", "prog.ts", "-o", "prog2.wasm"], { cwd: thawOnly }).catch((e: { code: number; stderr: string }) => e);
    expect(build).toMatchObject({ code: 1, stderr: expect.stringMatching(/^stasis: MISSING_TOOLCHAIN: /) });
  });
});
