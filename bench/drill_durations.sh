#!/usr/bin/env bash
# Drill duration of each sample stack (issue 5): back up shop, wiki and files (brought up
# from tests/fixtures/stacks when not running, as projects $STACKSNAP_IT_PREFIX<stack>,
# default ssbench-, never a user's own `shop`), then `stacksnap drill` each backup and
# report the drill's wall time and its steps. Usage: drill_durations.sh BUILD_DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
bin="$build/stacksnap"
source "$root/bench/tools/bench_lib.sh"
"$root/scripts/ensure-dockerd.sh" >/dev/null
"$root/tests/fixtures/images/build.sh" >/dev/null
work="$(mktemp -d /var/tmp/stacksnap-bench-XXXXXX)"
trap 'rm -rf "$work"' EXIT
prefix="${STACKSNAP_IT_PREFIX:-ssbench-}"
for s in shop wiki files; do
  [[ -n "$(docker ps -q --filter "label=com.docker.compose.project=$prefix$s")" ]] ||
    "$root/tests/fixtures/stacks/up.sh" "$s" "$prefix$s" >/dev/null
done
bench_stacksnap_init "$bin" "$work/state" "$work/store"
results=()
for s in shop wiki files; do
  "$bin" --data-dir "$work/state" backup "$prefix$s" --json >"$work/backup-$s.json" ||
    { echo "drill_durations: backup of $s failed" >&2; tail -3 "$work/backup-$s.json" >&2; exit 1; }
  id=$(grep -o '"backup_id":"[^"]*"' "$work/backup-$s.json" | tail -1 | cut -d'"' -f4)
  rc=0; s0=$(date +%s.%N)
  "$bin" --data-dir "$work/state" drill "$id" --json >"$work/drill-$s.json" || rc=$?
  wall=$(echo "$(date +%s.%N) - $s0" | bc)
  line=$(python3 - "$work/drill-$s.json" "$s" "$wall" "$rc" <<'PY'
import json,sys
ev=[json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
summ=[e for e in ev if e.get('type')=='summary']
res=summ[-1].get('result','?') if summ else 'no summary'
steps=' '.join(f"{e['step']}={e['duration_ms']}" for e in ev if e.get('type')=='step_finished')
print(f"{sys.argv[2]}: {float(sys.argv[3]):.1f}s {res} (exit {sys.argv[4]}); steps (ms): {steps}")
PY
)
  echo "   $line"
  results+=("$s=$(printf %.1f "$wall")s")
  [[ $rc -eq 0 ]] || { echo "drill_durations: drill of $s failed" >&2; exit 1; }
done
echo "RESULT drill ${results[*]}"
