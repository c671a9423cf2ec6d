// Step 1 of the build: AssemblyScript source → wasm, through asc's JS API.
//
// What this adds to a plain `asc prog.ts`:
//  - A generated entry file (virtual, next to the program) re-exports the program,
//    spawns its `main` as the first tasklet and exports the host ABI (assembly/host.ts).
//  - `stasis/assembly` resolves to this package's assembly/ folder wherever the program
//    lives (asc looks for it in node_modules folders; those reads are answered here).
//  - Compiler options come from this package's asconfig.json (target release|debug),
//    plus the caller's `ascOptions` (those Stasis relies on are refused: BAD_OPTION).
//  - A transform marks the switch functions as never-inlined (see assembly/switch.ts)
//    before asc optimizes.
//  - Diagnostics become `file:line:col: message` lines; errors throw COMPILE_ERROR.
import { readFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import asc from "assemblyscript/asc";
import binaryen from "binaryen";
import { StasisError } from "../host/errors.ts";
import { assemblyDir, packageRoot } from "./paths.ts";
import { insertFuelChecks, type FuelCheckOptions } from "./preempt.ts";

export type BuildMode = "release" | "debug";

/**
 * Functions whose inlining would break the switch (internal names, wildcards); and
 * __stasis_preempt, the target of --preempt's fuel checks, so that a preempted
 * tasklet's stack shows where it was preempted (host/stacks.ts) instead of a plain
 * schedule(). It runs only when the fuel is spent: out of line costs a call per slice.
 */
export const NEVER_INLINE = [
  "~lib/stasis/assembly/switch/suspend", "~lib/stasis/assembly/switch/schedule", "~lib/stasis/assembly/switch/enter", "~lib/stasis/assembly/switch/switchInto",
  "~lib/stasis/assembly/host/__stasis_preempt",
];

const ENTRY_NAME = "__stasis_entry__.ts";

export interface CompileOptions {
  mode: BuildMode;
  /** Insert fuel checks so loops can be preempted (build/preempt.ts). */
  preempt?: boolean;
  /** Shadow-stack bytes (AssemblyScript `--stackSize`); default 32768. */
  shadowStackSize?: number;
  /** Tests only (build/preempt.ts). */
  fuelChecks?: FuelCheckOptions;
  /** More asc command-line options (`--transform`, `--use`, `--noAssert`, …), after Stasis's own. */
  ascOptions?: string[];
  /** Filled with runtime class id → internal class name (for the stack decoder). */
  classNames?: Map<number, string>;
}

/** asc options that would break what Stasis relies on, or that it sets itself. */
const RESERVED_ASC_OPTIONS = new Map<string, string>([
  ["outFile", "use stasis build -o"], ["o", "use stasis build -o"], ["textFile", "stasis writes only the .wasm"], ["t", "stasis writes only the .wasm"],
  ["bindings", "stasis writes only the .wasm"], ["b", "stasis writes only the .wasm"], ["config", "stasis uses its own asconfig.json"], ["target", "use --debug"],
  ["baseDir", "stasis sets it to the program's folder"], ["runtime", "tasklets need the incremental runtime"], ["exportRuntime", "the host needs the runtime exports"],
  ["exportStart", "the host runs the start function itself"], ["noExportMemory", "the host reads the memory to freeze it"], ["importMemory", "the host reads the memory to freeze it"],
  ["sharedMemory", "a shared memory cannot be frozen"], ["stackSize", "use --shadow-stack"], ["enable", "the switch supports only the default WebAssembly features"],
  ["disable", "the switch needs the default WebAssembly features"], ["importTable", "the host does not provide a table"],
]);

/** asc's option names: `optimizeLevel`, its aliases (`O`), and shorthands as written (`-O3`). */
function ascOptionNames(): Set<string> {
  const names = new Set<string>();
  for (const [key, description] of Object.entries(asc.options)) {
    names.add(key);
    if (description.alias) names.add(description.alias);
  }
  return names;
}

/** Checks asc options passed through, before the compiler sees them (it would only warn). */
export function checkAscOptions(options: readonly string[]): void {
  const known = ascOptionNames();
  for (const option of options) {
    if (!option.startsWith("-") || known.has(option)) continue;
    const name = option.replace(/^--?/, "").replace(/=.*$/, "");
    const reason = RESERVED_ASC_OPTIONS.get(name);
    if (reason !== undefined) throw new StasisError("BAD_OPTION", `the asc option ${option} cannot be passed through stasis build: ${reason}`);
    if (!known.has(name)) throw new StasisError("BAD_OPTION", `asc has no option ${option}; see npx asc --help`);
  }
}

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  severity: "error" | "warning" | "info";
  code: number;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity} AS${d.code}: ${d.message}`;
}

function entrySource(programModule: string): string {
  return [
    `export * from "${programModule}";`,
    `import { main as __stasis_user_main } from "${programModule}";`,
    `import { Task } from "stasis/assembly";`,
    `import { spawnMain } from "stasis/assembly/scheduler";`,
    `export * from "stasis/assembly/host";`,
    `class __StasisMain extends Task { run(): void { __stasis_user_main(); } }`,
    `export function __stasis_start(): void { spawnMain(new __StasisMain()); }`,
    ``,
  ].join("\n");
}

/** Maps a path asc asks for under some node_modules/stasis/assembly to our assembly/ folder. */
function stasisAssemblyPath(path: string): string | null {
  const marker = `${sep}node_modules${sep}stasis${sep}assembly${sep}`;
  const at = path.lastIndexOf(marker);
  if (at < 0) return null;
  return join(assemblyDir(), path.slice(at + marker.length));
}

export async function compileProgram(entry: string, options: CompileOptions): Promise<Uint8Array> {
  const entryPath = resolve(entry);
  const baseDir = dirname(entryPath);
  const programModule = "./" + basename(entryPath).replace(/\.ts$/, "");
  const virtualEntry = join(baseDir, ENTRY_NAME);
  const diagnostics: Diagnostic[] = [];
  const texts = new Map<string, string>();
  let output: Uint8Array | undefined;

  const argv = [ENTRY_NAME, "--config", join(packageRoot(), "asconfig.json"), "--target", options.mode, "--outFile", "out.wasm", "--noColors", "--baseDir", baseDir];
  if (options.shadowStackSize !== undefined) argv.push("--stackSize", String(options.shadowStackSize));
  if (options.ascOptions) {
    checkAscOptions(options.ascOptions);
    argv.push(...options.ascOptions);
  }

  const sink = { write: () => true };
  const result = await asc.main(argv, {
    stdout: sink,
    stderr: sink,
    async readFile(filename: string, dir: string) {
      const path = resolve(dir, filename);
      if (path === virtualEntry) return entrySource(programModule);
      const file = stasisAssemblyPath(path) ?? path;
      try {
        const text = await readFile(file, "utf8");
        texts.set(file, text);
        return text;
      } catch {
        return null;
      }
    },
    writeFile(_name: string, contents: Uint8Array | string) {
      if (typeof contents !== "string") output = contents;
    },
    listFiles() {
      return [];
    },
    reportDiagnostic(d) {
      const source = d.range?.source;
      let line = 0;
      let column = 0;
      let file = ENTRY_NAME;
      if (source && d.range && source.normalizedPath !== ENTRY_NAME) {
        const path = sourcePath(source.normalizedPath, baseDir);
        const text = texts.get(path);
        if (text !== undefined) ({ line, column } = lineAndColumn(text, d.range.start));
        file = displayPath(path);
      }
      const severity = d.category === 3 ? "error" : d.category === 2 ? "warning" : "info";
      diagnostics.push({ file, line, column, severity, code: d.code, message: d.message });
    },
    // asc accepts a plain transform object and uses it as is; the declared type wants the
    // fields asc injects into transform classes.
    transforms: [afterCompile(options.preempt === true, options.fuelChecks, options.classNames) as unknown as asc.Transform],
  });

  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0 || result.error) {
    const lines = [...new Set(errors.map((d) => explain(d, entryPath)))];
    if (lines.length === 0) lines.push(`${result.error?.message ?? result.error}`);
    throw new StasisError("COMPILE_ERROR", `${displayPath(entryPath)} does not compile:\n${lines.join("\n")}`);
  }
  if (!output) throw new StasisError("COMPILE_ERROR", "the AssemblyScript compiler produced no output");
  return output;
}

/** Errors in the generated entry can only mean the program lacks a proper main. */
function explain(d: Diagnostic, entryPath: string): string {
  if (d.file === ENTRY_NAME) {
    return `${displayPath(entryPath)}:1:1: error: the program must export a function main(): void (the host runs it as the first tasklet)`;
  }
  return formatDiagnostic(d);
}

/** The file behind an asc source path (stasis/assembly files map to ours). */
function sourcePath(normalizedPath: string, baseDir: string): string {
  const lib = "~lib/stasis/assembly/";
  if (normalizedPath.startsWith(lib)) return join(assemblyDir(), normalizedPath.slice(lib.length));
  if (normalizedPath.startsWith("~lib/")) return normalizedPath;
  return join(baseDir, normalizedPath);
}

function displayPath(path: string): string {
  if (path.startsWith("~lib/")) return path;
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: offset - lineStart + 1 };
}

/** The part of asc's Program read here (asc gives it to class transforms as `this.program`). */
interface AscProgram {
  managedClasses: Map<number, { internalName: string }>;
}

/**
 * Runs between compilation and asc's optimizer, while internal names are known. A class,
 * because asc hands its Program only to transforms given as classes.
 */
function afterCompile(preempt: boolean, fuelChecks: FuelCheckOptions = {}, classNames: Map<number, string> | undefined = undefined) {
  return class {
    declare program: AscProgram;
    afterCompile(module: binaryen.Module): void {
      if (classNames) for (const [id, cls] of this.program.managedClasses) classNames.set(id, cls.internalName);
      try {
        for (const name of NEVER_INLINE) {
          binaryen.setPassArgument("no-inline", name);
          module.runPasses(["no-inline"]);
        }
      } finally {
        binaryen.setPassArgument("no-inline", null);
      }
      if (preempt) insertFuelChecks(module, fuelChecks);
    }
  };
}
