// The image checksum, in one place: every writer seals an image with imageChecksum and
// every reader checks it here (encode.ts, decode.ts, auth.ts, delta.ts), so adopting a
// faster check in a later format version changes this file and TRAILER_BYTES alone.
// Version 1 and 2 images end in the CRC-32C (Castagnoli) of every byte before it.
import { crc32c } from "./crc32c.ts";

/** The checksum the trailer of an image holds, over `bytes` (everything before the trailer). */
export function imageChecksum(bytes: Uint8Array): number {
  return crc32c(bytes);
}
