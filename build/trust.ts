// What the command line trusts in an image (docs/SECURITY.md, "The command line").
//
//  - The program: --program, else the module embedded in the image only with
//    --trust-embedded (an embedded module is code that came with the image), else the
//    path the image recorded, resolved against the image's directory. A program file
//    must be a regular file of at most 64 MiB (no /dev/zero, FIFOs or directories), and
//    a recorded one that is not a Stasis module is reported without its bytes.
//  - inspect thaws the image (which runs module code) only with --tasklets, and then in
//    a worker thread terminated after a time limit (inspect-worker.ts).
//  - STASIS_IMAGE_KEY (at least 16 bytes): checkpoints are signed with it (HMAC-SHA-256,
//    host/image/auth.ts), and resume and inspect --tasklets refuse images not signed with
//    it (UNSIGNED, BAD_SIGNATURE). A module embedded in an image signed with the key
//    came from a holder of the key, so it is trusted without --trust-embedded.
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { Program, signImage, StasisError, verifyImageSignature, type ImageContents } from "../host/index.ts";
import { DEFAULT_MAX_MODULE_BYTES } from "../host/image/format.ts";
import { readRegularFile } from "../host/node/index.ts";
import type { InspectReply, InspectRequest } from "./inspect-worker.ts";

export interface ProgramChoice {
  /** --program */
  explicit?: string;
  /** The image's path, or "-" for standard input. */
  imagePath: string;
  /** --trust-embedded */
  trustEmbedded: boolean;
}

/** Where a recorded program path points: relative paths start at the image's directory. */
export function recordedCandidates(recorded: string, imagePath: string): string[] {
  if (isAbsolute(recorded)) return [recorded];
  const base = imagePath === "-" ? process.cwd() : dirname(resolve(imagePath));
  return [...new Set([resolve(base, recorded), join(base, basename(recorded))])];
}

/** Reads a program file: regular, at most 64 MiB; a recorded one is described without its bytes. */
export async function loadProgramFile(path: string, recorded: boolean): Promise<Program> {
  const bytes = await readRegularFile(path, DEFAULT_MAX_MODULE_BYTES, "program");
  try {
    return await Program.load(bytes, { source: resolve(path) });
  } catch (error) {
    if (!recorded || !(error instanceof StasisError) || error.code !== "BAD_MODULE") throw error;
    throw new StasisError("MODULE_MISMATCH", `the image names ${path} as its program, but that file is not a Stasis module of this version; pass the right one with --program`);
  }
}

/** The program to thaw an image with, or null for the embedded module (trusted explicitly). */
export async function chooseProgram(contents: ImageContents, choice: ProgramChoice): Promise<Program | null> {
  if (choice.explicit !== undefined) return loadProgramFile(choice.explicit, false);
  if (contents.module) {
    if (choice.trustEmbedded) return null;
    throw new StasisError(
      "UNTRUSTED",
      `the image carries its own program (module ${contents.moduleId}); running it runs code that came with the image. ` +
        "Pass the program you expect with --program (the image must match it), or --trust-embedded if you trust the image",
    );
  }
  const recorded = contents.host.program;
  if (recorded === undefined) throw new StasisError("MODULE_MISMATCH", `the image records no program; pass module ${contents.moduleId} with --program`);
  const candidates = recordedCandidates(recorded, choice.imagePath);
  for (const path of candidates) {
    try {
      return await loadProgramFile(path, true);
    } catch (error) {
      const missing = error instanceof StasisError && (error.cause as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
      if (!missing) throw error;
    }
  }
  throw new StasisError("MODULE_MISMATCH", `the image needs module ${contents.moduleId}, recorded as ${recorded}, which does not exist (looked for ${candidates.join(" and ")}); pass it with --program`);
}

/** Thaws the image in a worker thread to list tasklets and calls; LIMIT after `timeLimitMs`. */
export async function inspectInWorker(image: Uint8Array, program: Program | null, timeLimitMs: number): Promise<Extract<InspectReply, { ok: true }>> {
  const request: InspectRequest = {
    image: image.slice(),
    program: program?.bytes ? (program.bytes.slice() as Uint8Array<ArrayBuffer>) : null,
    source: program?.source,
  };
  const worker = new Worker(new URL("./inspect-worker.js", import.meta.url), {
    workerData: request,
    transferList: [request.image.buffer, ...(request.program ? [request.program.buffer] : [])],
    stdout: true,
    stderr: true,
  });
  try {
    const reply = await new Promise<InspectReply>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new StasisError("LIMIT", `thawing the image took longer than ${timeLimitMs / 1000} s and was stopped (its program may loop); raise --time-limit if you trust it`)), timeLimitMs);
      worker.once("message", (message: InspectReply) => {
        clearTimeout(timer);
        resolvePromise(message);
      });
      worker.once("error", (error) => {
        clearTimeout(timer);
        reject(new StasisError("TRAP", `thawing the image failed: ${error.message}`));
      });
      worker.once("exit", () => {
        clearTimeout(timer);
        reject(new StasisError("TRAP", "thawing the image ended without an answer"));
      });
    });
    if (!reply.ok) throw new StasisError((reply.code ?? "TRAP") as StasisError["code"], reply.message);
    return reply;
  } finally {
    await worker.terminate();
  }
}

/** The key from STASIS_IMAGE_KEY, or undefined when it is not set (or empty). */
export function imageKey(): string | undefined {
  return process.env.STASIS_IMAGE_KEY || undefined;
}

/** Signs a checkpoint when STASIS_IMAGE_KEY is set. */
export async function seal(image: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const key = imageKey();
  return key === undefined ? image : signImage(image, key);
}

/** With STASIS_IMAGE_KEY set, throws unless the image is signed with it; returns whether it was checked. */
export async function checkSignature(image: Uint8Array): Promise<boolean> {
  const key = imageKey();
  if (key === undefined) return false;
  await verifyImageSignature(image, key);
  return true;
}
