#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind) of the compute kernels built plain,
# default and --preempt: repeatable where wall-clock time on a shared machine is not.
# Each figure is instructions(run(large)) - instructions(run(small)), so start-up and
# compilation cancel out; V8 compiles wasm with TurboFan only (--no-liftoff), so both runs
# execute the same code. Takes about five minutes. Usage: npm run build && bash bench/callgrind.sh
# Prints the table and writes it to bench/callgrind.txt, which `npm run bench` puts into
# bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    node --no-liftoff --no-wasm-lazy-compilation bench/callgrind-run.mjs "$1" "$2" 2>&1 |
    awk '/Collected/ { gsub(",", "", $4); print $4 }'
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
