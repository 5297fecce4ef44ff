#!/usr/bin/env bash
# libFuzzer targets live in tests/fuzz/<name>.cpp; corpora in tests/fuzz/corpus/<name>/.
#   fuzz.sh --targets                 print the target names
#   fuzz.sh --run BUILD_DIR SECONDS   run every target, SECONDS split between them
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
targets=()
for f in "$root"/tests/fuzz/*.cpp; do [[ -e "$f" ]] && targets+=("$(basename "$f" .cpp)"); done
case "${1:-}" in
  --targets) echo "${targets[@]}" ;;
  --run)
    build="$2"; total="$3"
    [[ ${#targets[@]} -gt 0 ]] || { echo "no fuzz targets in tests/fuzz" >&2; exit 1; }
    per=$(( (total + ${#targets[@]} - 1) / ${#targets[@]} ))
    (( per < 30 )) && per=30
    for t in "${targets[@]}"; do
      corpus="$root/tests/fuzz/corpus/$t"; work="$root/$build/corpus-$t"
      mkdir -p "$work"; [[ -d "$corpus" ]] && cp -n "$corpus"/* "$work"/ 2>/dev/null || true
      echo "== fuzz $t for ${per}s"
      "$root/$build/$t" -max_total_time="$per" -print_final_stats=0 "$work" >"$root/$build/$t.log" 2>&1 || {
        tail -n 40 "$root/$build/$t.log" >&2; echo "fuzz target $t failed" >&2; exit 1; }
      grep -E '^(#[0-9]+\s+DONE|Done)' "$root/$build/$t.log" | tail -n 1 || true
    done ;;
  *) echo "usage: fuzz.sh --targets | --run BUILD_DIR SECONDS" >&2; exit 2 ;;
esac
