// Module ids between their two forms, 64 lowercase hex digits and 32 bytes, by lookup
// tables (no regex, no parseInt per pair: both run on every freeze and thaw). Ids met
// before come from a small cache, so the hot path does one Map lookup per image.

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
/** Nibble of a char code, or -1 for anything but 0-9 a-f. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) NIBBLE["0123456789abcdef".charCodeAt(i)] = i;

const CACHE_LIMIT = 64;
const cache = new Map<string, Uint8Array>();

/** The 32 bytes of a module id; throws (a plain Error: callers pass ids they checked) if it is not 64 lowercase hex digits. */
export function hexToBytes(hex: string): Uint8Array {
  const cached = cache.get(hex);
  if (cached) return cached;
  const bytes = new Uint8Array(32);
  let valid = typeof hex === "string" && hex.length === 64;
  for (let i = 0; valid && i < 32; i++) {
    const hi = hex.charCodeAt(2 * i);
    const lo = hex.charCodeAt(2 * i + 1);
    const value = hi < 128 && lo < 128 ? (NIBBLE[hi] << 4) | NIBBLE[lo] : -1;
    if (value < 0) valid = false;
    else bytes[i] = value;
  }
  if (!valid) throw new Error(`module id must be 64 hex digits, got "${hex}"`);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(hex, bytes);
  return bytes;
}

/** Lowercase hex of `bytes`. */
export function bytesToHex(bytes: Uint8Array): string {
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += HEX[bytes[i]];
  return hex;
}
