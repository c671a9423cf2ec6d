// Step 3 of the build: stamp the module with its identity.
//
// A custom section named "stasis" is appended to the finished module. Its payload is
// UTF-8 JSON (ProgramMetadata in host/abi.ts): the ABI version, the build mode and the
// module id, the SHA-256 of every byte before the section. Images ("Freeze and thaw")
// name the module they need by this id.
//
// Before it, appendCustomSection adds "stasis.frames" (host/frames.ts): the stack
// decoder's tables. It is part of the module id, like every other byte.
import { createHash } from "node:crypto";
import { METADATA_SECTION, type ProgramMetadata } from "../host/abi.ts";

function leb128(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Appends custom section `name` holding `payload`. */
export function appendCustomSection(wasm: Uint8Array, name: string, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  const nameBytes = new TextEncoder().encode(name);
  const body = [...leb128(nameBytes.length), ...nameBytes];
  const header = Uint8Array.from([0, ...leb128(body.length + payload.length), ...body]);
  const out = new Uint8Array(wasm.length + header.length + payload.length);
  out.set(wasm);
  out.set(header, wasm.length);
  out.set(payload, wasm.length + header.length);
  return out;
}

export function moduleId(wasm: Uint8Array): string {
  return createHash("sha256").update(wasm).digest("hex");
}

export function stampMetadata(wasm: Uint8Array, fields: Omit<ProgramMetadata, "moduleId">): { wasm: Uint8Array<ArrayBuffer>; metadata: ProgramMetadata } {
  const metadata: ProgramMetadata = { ...fields, moduleId: moduleId(wasm) };
  const name = new TextEncoder().encode(METADATA_SECTION);
  const payload = new TextEncoder().encode(JSON.stringify(metadata));
  const body = [...leb128(name.length), ...name, ...payload];
  const section = Uint8Array.from([0, ...leb128(body.length), ...body]);
  const out = new Uint8Array(wasm.length + section.length);
  out.set(wasm);
  out.set(section, wasm.length);
  return { wasm: out, metadata };
}
