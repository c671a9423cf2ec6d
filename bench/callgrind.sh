#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind) of the compute kernels built plain,
# default and --preempt: repeatable where wall-clock time on a shared machine is not.
# Each figure is instructions(run(large)) - instructions(run(small)) executed in
# JIT-compiled code on the main thread, so start-up, compilation and the engine's own
# threads cancel out or are left out (counting the whole process varied by up to 6%
# between identical runs; this does not); V8 compiles wasm with TurboFan only
# (--no-liftoff), so both runs execute the same code. Takes about five minutes.
# Usage: npm run build && bash bench/callgrind.sh
# Prints the table and writes it to bench/callgrind.txt, which `npm run bench` puts into
# bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
count() { # instructions executed in JIT-compiled code (V8 names it ???:0x…) on the main thread
  local out; out="$(mktemp -d)"
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg.out" \
    node --no-liftoff --no-wasm-lazy-compilation bench/callgrind-run.mjs "$1" "$2" >/dev/null 2>&1
  callgrind_annotate --threshold=100 "$out/cg.out-01" | awk '/\?\?\?:0x/ { gsub(",", "", $1); s += $1 } END { print s }'
  rm -rf "$out"
}
{
printf '# %s, node %s, %s\n' "$(date -u +%Y-%m-%d)" "$(node --version)" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
printf '%-9s %-8s %14s %8s\n' kernel build instructions ratio
for spec in "sha256 5 15" "nbody 50000 150000" "fannkuch 8 9"; do
  set -- $spec
  base=""
  for variant in plain default preempt; do
    node bench/callgrind-build.mjs "$variant" "$1" "$tmp/$1-$variant.wasm"
    delta=$(( $(count "$tmp/$1-$variant.wasm" "$3") - $(count "$tmp/$1-$variant.wasm" "$2") ))
    base=${base:-$delta}
    awk -v k="$1" -v v="$variant" -v d="$delta" -v b="$base" 'BEGIN { printf "%-9s %-8s %14d %8.3f\n", k, v, d, d / b }'
  done
done
} | tee bench/callgrind.txt
