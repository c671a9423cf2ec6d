// Image authentication (host/image/auth.ts): HMAC-SHA-256 signatures, refused unsigned
// or wrongly signed images when a key is given, and the CLI's STASIS_IMAGE_KEY.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../build/paths.ts";
import { decodeImage, encodeImage, importImageKey, isImageSigned, Program, Runtime, signImage, verifyImageSignature } from "../host/index.ts";
import { sealImage } from "../host/image/checksum.ts";

const exec = promisify(execFile);
const cli = join(packageRoot(), "dist", "build", "cli.js");
const fixtures = join(packageRoot(), "test", "fixtures");
const KEY = "correct horse battery staple 42";
const OTHER = new Uint8Array(32).fill(7);
let program: Program;
let unsigned: Uint8Array;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stasis-auth-"));
  program = await Program.load(new Uint8Array(await readFile(join(fixtures, "pingpong-v1.wasm"))));
  // The v1 fixture written again as a current-format image (signing keeps an image's format version).
  unsigned = encodeImage(await decodeImage(new Uint8Array(await readFile(join(fixtures, "pingpong-v1.img")))));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function finish(image: Uint8Array, options: { key?: string | Uint8Array } = {}): Promise<string[]> {
  const output: string[] = [];
  const rt = await Runtime.restore(program, image, { print: (line) => output.push(line), ...options });
  await rt.run();
  return output;
}

/** The image with one byte changed and the checksum made right again (only the MAC can tell). */
function tampered(image: Uint8Array, at: number): Uint8Array {
  const copy = image.slice();
  copy[at] ^= 1;
  sealImage(copy);
  return copy;
}

describe("signed images", () => {
  it("a signed image verifies and thaws with the key, and without one, to the same run", async () => {
    const signed = await signImage(unsigned, KEY);
    expect(signed.length).toBe(unsigned.length + 56);
    expect(isImageSigned(signed)).toBe(true);
    expect(isImageSigned(unsigned)).toBe(false);
    await verifyImageSignature(signed, KEY);
    const plain = await finish(unsigned);
    expect(await finish(signed, { key: KEY })).toEqual(plain);
    expect(await finish(signed)).toEqual(plain);
    // Decoding skips the signature; the unsigned bytes are what they always were.
    expect(encodeImage(await decodeImage(signed))).toEqual(unsigned);
    expect(encodeImage(await decodeImage(unsigned))).toEqual(unsigned);
  });

  it("a key imported once (importImageKey) signs and verifies like the raw key", async () => {
    const imported = await importImageKey(KEY);
    const signed = await signImage(unsigned, imported);
    expect(signed).toEqual(await signImage(unsigned, KEY));
    await verifyImageSignature(signed, imported);
    await expect(verifyImageSignature(await signImage(unsigned, await importImageKey(OTHER)), imported)).rejects.toMatchObject({ code: "BAD_SIGNATURE" });
  });

  it("rejects_unsigned images when a key is given", async () => {
    await expect(Runtime.restore(program, unsigned, { key: KEY })).rejects.toMatchObject({ code: "UNSIGNED" });
  });

  it("rejects_bad_signature: another key, a changed byte, a re-signed image under the old key", async () => {
    const signed = await signImage(unsigned, KEY);
    await expect(Runtime.restore(program, signed, { key: OTHER })).rejects.toMatchObject({ code: "BAD_SIGNATURE" });
    // The header, a section, the MAC itself.
    for (const at of [20, 200, signed.length - 20, signed.length - 5]) {
      await expect(verifyImageSignature(tampered(signed, at), KEY), `byte ${at}`).rejects.toMatchObject({ code: "BAD_SIGNATURE" });
    }
    // The signature section's header: no longer a signature at all.
    await expect(verifyImageSignature(tampered(signed, signed.length - 40), KEY)).rejects.toMatchObject({ code: "UNSIGNED" });
    const resigned = await signImage(signed, OTHER);
    expect(resigned.length).toBe(signed.length);
    await verifyImageSignature(resigned, OTHER);
    await expect(verifyImageSignature(resigned, KEY)).rejects.toMatchObject({ code: "BAD_SIGNATURE" });
  });

  it("rejects_stripped_signature: cutting the signature section off leaves an unsigned image", async () => {
    const signed = await signImage(unsigned, KEY);
    const stripped = new Uint8Array(signed.length - 56);
    stripped.set(signed.subarray(0, stripped.length - 4));
    const view = new DataView(stripped.buffer);
    view.setBigUint64(48, BigInt(stripped.length), true);
    view.setUint32(56, view.getUint32(56, true) - 1, true);
    sealImage(stripped);
    expect(stripped).toEqual(unsigned);
    await expect(Runtime.restore(program, stripped, { key: KEY })).rejects.toMatchObject({ code: "UNSIGNED" });
  });

  it("rejects_short_key with BAD_OPTION", async () => {
    await expect(signImage(unsigned, "short")).rejects.toMatchObject({ code: "BAD_OPTION" });
  });
});

describe("STASIS_IMAGE_KEY in the CLI", () => {
  const withKey = (key: string) => ({ env: { ...process.env, STASIS_IMAGE_KEY: key } });
  const failure = (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr });

  it("run signs its checkpoints; resume refuses unsigned and wrongly signed images (rejects_unsigned_cli)", async () => {
    const state = join(dir, "run.img");
    await exec(process.execPath, [cli, "run", join(fixtures, "pingpong-v1.wasm"), "--checkpoint", state], withKey(KEY));
    const written = new Uint8Array(await readFile(state));
    await verifyImageSignature(written, KEY);

    const plain = join(dir, "plain.img");
    await writeFile(plain, unsigned);
    const refused = await exec(process.execPath, [cli, "resume", plain, "--program", join(fixtures, "pingpong-v1.wasm")], withKey(KEY)).catch(failure);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/^stasis: UNSIGNED: /) });
    const wrong = join(dir, "wrong.img");
    await writeFile(wrong, await signImage(unsigned, OTHER));
    const bad = await exec(process.execPath, [cli, "resume", wrong, "--program", join(fixtures, "pingpong-v1.wasm")], withKey(KEY)).catch(failure);
    expect(bad).toMatchObject({ code: 1, stderr: expect.stringMatching(/^stasis: BAD_SIGNATURE: /) });
  });

  it("an image signed with the key that embeds its module resumes without --trust-embedded, and stays signed", async () => {
    const rt = await Runtime.start(program, { print: () => {}, seed: 1 });
    rt.step({ budget: 3 });
    const image = join(dir, "embedded.img");
    await writeFile(image, await signImage(rt.snapshot({ embed: true }), KEY));
    const { stdout } = await exec(process.execPath, [cli, "resume", image], withKey(KEY));
    expect(stdout.length).toBeGreaterThan(0);
    await verifyImageSignature(new Uint8Array(await readFile(image)), KEY);
    const inspected = await exec(process.execPath, [cli, "inspect", image, "--json"], withKey(KEY));
    expect(JSON.parse(inspected.stdout).signature).toBe("valid");
  });
});
