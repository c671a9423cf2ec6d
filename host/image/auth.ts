// Image authentication: an optional HMAC-SHA-256 over the whole image, with Web Crypto
// (crypto.subtle: Node ≥ 20, Deno, Bun, browsers), so a host can refuse images it did
// not write itself (docs/SECURITY.md, docs/IMAGE-FORMAT.md "Signature").
//
// Layout: a signed image is an ordinary v1 image whose last section is a signature
// section (kind 5, flags 0, stored = raw = 32) holding
//     HMAC-SHA-256(key, every byte of the image before the 32 MAC bytes)
// i.e. the header (whose total length and section count include the signature section),
// every other section, and the signature section's own 24-byte header. The CRC-32C
// trailer follows as in every image. Unsigned images are unchanged, byte for byte.
//
// Contracts: signImage(image, key) → a signed copy (an existing signature is replaced);
// verifyImageSignature(image, key) → resolves, or throws UNSIGNED (no signature) or
// BAD_SIGNATURE (signed with another key, or changed since); Runtime.restore(..., { key })
// calls it before decoding anything else. Keys are ≥ 16 bytes (a string is its UTF-8
// bytes) or an HMAC CryptoKey. Re-encoding an image (compressImage) drops its signature:
// sign last.
import { StasisError } from "../errors.ts";
import { imageChecksum } from "./seal.ts";
import { readHeader } from "./decode.ts";
import { SECTION_HEADER_BYTES, SectionKind, TRAILER_BYTES } from "./format.ts";

/** Bytes, a string (its UTF-8 bytes), or an HMAC-SHA-256 CryptoKey. */
export type ImageKey = Uint8Array | string | CryptoKey;

export const SIGNATURE_BYTES = 32;
const SIGNATURE_SECTION_BYTES = SECTION_HEADER_BYTES + SIGNATURE_BYTES;
const MIN_KEY_BYTES = 16;

async function hmacKey(key: ImageKey): Promise<CryptoKey> {
  if (typeof key === "object" && !(key instanceof Uint8Array)) return key;
  const raw = typeof key === "string" ? new TextEncoder().encode(key) : key;
  if (raw.length < MIN_KEY_BYTES) throw new StasisError("BAD_OPTION", `an image key must have at least ${MIN_KEY_BYTES} bytes, got ${raw.length}; use 32 random bytes`);
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new StasisError("BAD_OPTION", "image keys need Web Crypto (crypto.subtle), which this JavaScript runtime does not provide (in browsers: a secure context)");
  return subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

/** Where the signature section starts, if the image (already checked by readHeader) has one. */
function signatureAt(image: Uint8Array): number | null {
  const at = image.length - TRAILER_BYTES - SIGNATURE_SECTION_BYTES;
  if (at < 60) return null;
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const isSignature =
    view.getUint32(at, true) === SectionKind.Signature && view.getUint32(at + 4, true) === 0 &&
    view.getBigUint64(at + 8, true) === BigInt(SIGNATURE_BYTES) && view.getBigUint64(at + 16, true) === BigInt(SIGNATURE_BYTES);
  return isSignature ? at : null;
}

/** True if the image carries a signature section (not whether it is valid). */
export function isImageSigned(image: Uint8Array): boolean {
  readHeader(image);
  return signatureAt(image) !== null;
}

/** A copy of `image` signed with `key` (an existing signature is replaced). */
export async function signImage(image: Uint8Array, key: ImageKey): Promise<Uint8Array<ArrayBuffer>> {
  readHeader(image);
  const cryptoKey = await hmacKey(key);
  const existing = signatureAt(image);
  const body = image.subarray(0, existing ?? image.length - TRAILER_BYTES);
  const count = new DataView(image.buffer, image.byteOffset, image.byteLength).getUint32(56, true) - (existing === null ? 0 : 1);
  const out = new Uint8Array(body.length + SIGNATURE_SECTION_BYTES + TRAILER_BYTES);
  out.set(body);
  const view = new DataView(out.buffer);
  view.setBigUint64(48, BigInt(out.length), true);
  view.setUint32(56, count + 1, true);
  const at = body.length;
  view.setUint32(at, SectionKind.Signature, true);
  view.setUint32(at + 4, 0, true);
  view.setBigUint64(at + 8, BigInt(SIGNATURE_BYTES), true);
  view.setBigUint64(at + 16, BigInt(SIGNATURE_BYTES), true);
  const macAt = at + SECTION_HEADER_BYTES;
  const mac = await crypto.subtle.sign("HMAC", cryptoKey, out.subarray(0, macAt));
  out.set(new Uint8Array(mac), macAt);
  view.setUint32(macAt + SIGNATURE_BYTES, imageChecksum(out.subarray(0, macAt + SIGNATURE_BYTES)), true);
  return out;
}

/** Resolves if `image` is signed with `key`; throws UNSIGNED or BAD_SIGNATURE otherwise. */
export async function verifyImageSignature(image: Uint8Array, key: ImageKey): Promise<void> {
  readHeader(image);
  const cryptoKey = await hmacKey(key);
  const at = signatureAt(image);
  if (at === null) {
    throw new StasisError("UNSIGNED", "the image is not signed, and this host requires signed images (a key was given); thaw only images written by a holder of the key, or sign it with signImage");
  }
  const macAt = at + SECTION_HEADER_BYTES;
  const valid = await crypto.subtle.verify("HMAC", cryptoKey, image.slice(macAt, macAt + SIGNATURE_BYTES), image.slice(0, macAt));
  if (!valid) {
    throw new StasisError("BAD_SIGNATURE", "the image's signature does not match this key: it was signed with another key or changed since; do not thaw it unless you know where it came from");
  }
}
