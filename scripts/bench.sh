#!/usr/bin/env bash
# Benchmarks (numbers go to docs/BENCHMARKS.md by hand after review).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-build/release}"
shopt -s nullglob
if [[ -x "$root/$build/stacksnap_bench" ]]; then
  "$root/$build/stacksnap_bench" --benchmark_counters_tabular=true
fi
for s in "$root"/bench/*.sh; do
  echo "== $(basename "$s")"
  bash "$s" "$root/$build"
done
