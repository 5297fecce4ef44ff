#!/usr/bin/env bash
# SSE load (issue 7): 200 clients follow one job's events while authenticated API calls
# are timed; target p99 < 100 ms. Usage: bench/sse_load.sh [BUILD_DIR] [extra options]
# (options: --clients N --seconds S --rate EVENTS_PER_S --event-bytes B --probe-hz HZ).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
shift || true
bin="$build/stacksnap_sse_load"
if [[ ! -x "$bin" ]]; then
  echo "sse_load: $bin not built (ninja -C $build stacksnap_sse_load)" >&2
  exit 1
fi
"$bin" --clients 200 --seconds 20 --rate 50 --event-bytes 300 --probe-hz 20 "$@"
