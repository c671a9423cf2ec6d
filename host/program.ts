// Program: a compiled, validated Stasis module, ready to be started any number of times.
//
// Program.load(bytes) compiles the wasm once and reads the metadata `stasis build`
// stamped into it (build/section.ts). It refuses, with BAD_MODULE and a sentence
// saying what to do, anything that is not a Stasis module of this ABI version.
//
// The module id is not taken on trust: Program.load recomputes the SHA-256 of every byte
// before the "stasis" section (which must be the module's last section) and refuses a
// module whose metadata claims another id, so an image cannot smuggle in other code under
// a known module's id. A program loaded from a compiled WebAssembly.Module has no bytes to
// hash; the caller vouches for it.
//
// Each Program keeps a pool of warm instances (pool.ts): rt.release() returns a runtime's
// instance to it and Runtime.restore() thaws into one, at most `pool` of them idle
// (Program.load option, default DEFAULT_POOL_SIZE; 0 turns the pool off).
import { ABI_VERSION, GLOBAL_EXPORT_PREFIX, METADATA_SECTION, REQUIRED_EXPORTS, type ProgramMetadata } from "./abi.ts";
import { StasisError } from "./errors.ts";
import { ENV_IMPORT_NAMES } from "./imports.ts";
import { GLOBAL_TYPES, MAX_GLOBALS } from "./image/format.ts";
import { sha256Hex } from "./sha256.ts";
import { readFrames, type FrameTable } from "./frames.ts";
import { DEFAULT_POOL_SIZE, InstancePool } from "./pool.ts";

export interface ProgramSource {
  /** Where the .wasm came from (a path or URL); images record it to find the program again. */
  source?: string;
}

export interface ProgramOptions extends ProgramSource {
  /**
   * Most idle instances kept for reuse by Runtime.restore after rt.release() (pool.ts).
   * Default 4; 0 keeps none. Each idle instance holds on to its memory.
   */
  pool?: number;
}

export class Program {
  private constructor(
    readonly module: WebAssembly.Module,
    readonly metadata: ProgramMetadata,
    /** The module's bytes, when loaded from bytes (needed to embed it in an image). */
    readonly bytes: Uint8Array | undefined,
    readonly source: string | undefined,
    /** Idle instances of this module (pool.ts); internal to the host. */
    readonly pool: InstancePool,
  ) {}

  private frameTable: FrameTable | null | undefined;

  /** The stack decoder's tables (host/frames.ts); null for modules built before them. Read on first use. */
  get frames(): FrameTable | null {
    if (this.frameTable === undefined) this.frameTable = readFrames(this.module);
    return this.frameTable;
  }

  /** The module id (SHA-256 of the built module). */
  get id(): string {
    return this.metadata.moduleId;
  }

  static async load(bytes: Uint8Array<ArrayBuffer> | WebAssembly.Module, options: ProgramOptions = {}): Promise<Program> {
    const poolSize = options.pool ?? DEFAULT_POOL_SIZE;
    if (!Number.isInteger(poolSize) || poolSize < 0 || poolSize > 1024) throw new StasisError("BAD_OPTION", `pool must be a whole number of instances from 0 to 1024, got ${String(options.pool)}`);
    let module: WebAssembly.Module;
    if (bytes instanceof WebAssembly.Module) {
      module = bytes;
    } else {
      try {
        module = await WebAssembly.compile(bytes);
      } catch (cause) {
        throw new StasisError("BAD_MODULE", `not a valid WebAssembly module (${(cause as Error).message}); pass the .wasm written by \`stasis build\``, { cause });
      }
    }
    const metadata = readMetadata(module);
    if (!(bytes instanceof WebAssembly.Module)) await verifyModuleId(bytes, metadata.moduleId);
    return new Program(module, metadata, bytes instanceof WebAssembly.Module ? undefined : bytes, options.source, new InstancePool(poolSize));
  }
}

/** Checks that `id` is the SHA-256 of the bytes before the module's last section, the "stasis" one. */
async function verifyModuleId(bytes: Uint8Array, id: string): Promise<void> {
  const start = lastSectionStart(bytes);
  const actual = await sha256Hex(bytes.subarray(0, start));
  if (actual !== id) {
    throw new StasisError("BAD_MODULE", `the module claims id ${id} but its bytes hash to ${actual}: it was altered after \`stasis build\`; rebuild it, and do not trust the image it came from`);
  }
}

/** Offset of the last section of a (compiled, hence well-formed) module, which must be the custom section "stasis". */
function lastSectionStart(bytes: Uint8Array): number {
  const readLeb = (at: number): [number, number] => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7, at++) {
      const byte = bytes[at];
      value += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return [value, at + 1];
    }
    return [value, at];
  };
  let last = -1;
  let isStasis = false;
  for (let at = 8; at < bytes.length; ) {
    const sectionStart = at;
    const id = bytes[at];
    const [size, body] = readLeb(at + 1);
    if (id === 0) {
      const [nameLength, name] = readLeb(body);
      isStasis = new TextDecoder().decode(bytes.subarray(name, name + nameLength)) === METADATA_SECTION;
    } else isStasis = false;
    last = sectionStart;
    at = body + size;
  }
  if (!isStasis) throw new StasisError("BAD_MODULE", "the module's \"stasis\" section is not its last section: it was altered after `stasis build`; rebuild it");
  return last;
}

function readMetadata(module: WebAssembly.Module): ProgramMetadata {
  const sections = WebAssembly.Module.customSections(module, METADATA_SECTION);
  if (sections.length !== 1) {
    throw new StasisError("BAD_MODULE", "this WebAssembly module is not a Stasis program (no \"stasis\" section); build it with `stasis build program.ts -o program.wasm`");
  }
  let metadata: ProgramMetadata;
  try {
    metadata = JSON.parse(new TextDecoder().decode(sections[0])) as ProgramMetadata;
  } catch (cause) {
    throw new StasisError("BAD_MODULE", "the module's \"stasis\" section is damaged; rebuild the program with `stasis build`", { cause });
  }
  if (typeof metadata !== "object" || metadata === null || metadata.abi !== ABI_VERSION) {
    throw new StasisError("BAD_MODULE", `the module was built for Stasis ABI ${metadata?.abi}, this host speaks ABI ${ABI_VERSION}; rebuild it with this version's \`stasis build\``);
  }
  const globalExports = new Set(WebAssembly.Module.exports(module).filter((e) => e.kind === "global").map((e) => e.name));
  const seen = new Set<number>();
  const wellFormed =
    typeof metadata.moduleId === "string" && /^[0-9a-f]{64}$/.test(metadata.moduleId) &&
    (metadata.preempt === undefined || typeof metadata.preempt === "boolean") && (metadata.mode === "release" || metadata.mode === "debug") &&
    Array.isArray(metadata.globals) && metadata.globals.length <= MAX_GLOBALS &&
    metadata.globals.every((g) =>
      typeof g === "object" && g !== null && Number.isInteger(g.index) && g.index >= 0 && !seen.has(g.index) && seen.add(g.index) &&
      GLOBAL_TYPES.includes(g.type) && globalExports.has(GLOBAL_EXPORT_PREFIX + g.index));
  if (!wellFormed) throw new StasisError("BAD_MODULE", "the module's \"stasis\" section is damaged (ids, mode or the exported globals it lists); rebuild the program with `stasis build`");
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = REQUIRED_EXPORTS.filter((name) => !exported.has(name));
  if (missing.length > 0) throw new StasisError("BAD_MODULE", `the module lacks the Stasis exports ${missing.join(", ")}; rebuild it with \`stasis build\``);
  const unknown = WebAssembly.Module.imports(module).filter((i) => i.module !== "env" || !ENV_IMPORT_NAMES.has(i.name));
  if (unknown.length > 0) {
    const names = unknown.map((i) => `${i.module}.${i.name}`).join(", ");
    throw new StasisError("BAD_MODULE", `the program imports ${names}, which the Stasis host does not provide; remove those @external declarations`);
  }
  return metadata;
}
