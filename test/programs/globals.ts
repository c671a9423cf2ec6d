// A program-level global the host can find among the exported mutable globals.
let marker: i32 = 0;

export function setMarker(n: i32): void {
  marker = n;
}
export function getMarker(): i32 {
  return marker;
}
export function main(): void {}
