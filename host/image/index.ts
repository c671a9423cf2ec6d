// Images: the frozen form of a running program (format v1, docs/IMAGE-FORMAT.md).
import { decodeImage, readHeader } from "./decode.ts";
import { encodeImageAsync } from "./encode.ts";

export { decodeImage, readHeader, type ImageHeader } from "./decode.ts";
export { encodeImage, encodeImageAsync } from "./encode.ts";
export { decodeChain, decodeDelta, encodeDelta, imageIdentity, isDeltaImage, mergeImages, type DeltaContents, type ImageIdentity } from "./delta.ts";
export { importImageKey, isImageSigned, signImage, verifyImageSignature, type ImageKey } from "./auth.ts";
export type { HostRecord, ImageContents, ImageGlobal, ImageLimits, MemoryRun } from "./format.ts";
export { globalBits } from "./format.ts";

/** Re-encodes an image with its memory (and embedded module) deflated. */
export async function compressImage(image: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return encodeImageAsync(await decodeImage(image), { compress: true });
}

/** Checks an image's header and checksum without decoding it; throws a StasisError if it is not sound. */
export function verifyImage(image: Uint8Array): void {
  readHeader(image);
}
