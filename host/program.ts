// Program: a compiled, validated Stasis module, ready to be started any number of times.
//
// Program.load(bytes) compiles the wasm once and reads the metadata `stasis build`
// stamped into it (build/section.ts). It refuses, with BAD_MODULE and a sentence
// saying what to do, anything that is not a Stasis module of this ABI version.
import { ABI_VERSION, METADATA_SECTION, REQUIRED_EXPORTS, type ProgramMetadata } from "./abi.ts";
import { StasisError } from "./errors.ts";
import { ENV_IMPORT_NAMES } from "./imports.ts";

export interface ProgramSource {
  /** Where the .wasm came from (a path or URL); images record it to find the program again. */
  source?: string;
}

export class Program {
  private constructor(
    readonly module: WebAssembly.Module,
    readonly metadata: ProgramMetadata,
    /** The module's bytes, when loaded from bytes (needed to embed it in an image). */
    readonly bytes: Uint8Array | undefined,
    readonly source: string | undefined,
  ) {}

  /** The module id (SHA-256 of the built module). */
  get id(): string {
    return this.metadata.moduleId;
  }

  static async load(bytes: Uint8Array<ArrayBuffer> | WebAssembly.Module, options: ProgramSource = {}): Promise<Program> {
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
    return new Program(module, readMetadata(module), bytes instanceof WebAssembly.Module ? undefined : bytes, options.source);
  }
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
  if (metadata.abi !== ABI_VERSION || !Array.isArray(metadata.globals)) {
    throw new StasisError("BAD_MODULE", `the module was built for Stasis ABI ${metadata.abi}, this host speaks ABI ${ABI_VERSION}; rebuild it with this version's \`stasis build\``);
  }
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
