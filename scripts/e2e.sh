#!/usr/bin/env bash
# Whole-binary scenarios: every tests/e2e/*.test.sh, then the browser test of the
# dashboard (tests/e2e/run-browser.sh) when tests/e2e/package.json exists.
#   scripts/e2e.sh [BUILD_DIR]      (default build/release)
# Set STACKSNAP_E2E_BROWSER=0 to skip the browser test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-build/release}"
export STACKSNAP_BIN="$root/$build/stacksnap"
shopt -s nullglob
for t in "$root"/tests/e2e/*.test.sh; do
  echo "== e2e $(basename "$t")"
  bash "$t"
done
if [[ -f "$root/web/package.json" ]]; then
  echo "== dashboard unit tests (vitest)"
  (cd "$root/web" && { [[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error >/dev/null; } && npx vitest run)
fi
if [[ -f "$root/tests/e2e/package.json" && "${STACKSNAP_E2E_BROWSER:-1}" != "0" ]]; then
  "$root/tests/e2e/run-browser.sh" "$build"
fi
