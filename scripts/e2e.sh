#!/usr/bin/env bash
# Whole-binary scenarios: every tests/e2e/*.test.sh, then the browser test when present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-build/release}"
export STACKSNAP_BIN="$root/$build/stacksnap"
shopt -s nullglob
for t in "$root"/tests/e2e/*.test.sh; do
  echo "== e2e $(basename "$t")"
  bash "$t"
done
if [[ -f "$root/tests/e2e/package.json" ]]; then
  "$root/tests/e2e/run-browser.sh" "$build"
fi
