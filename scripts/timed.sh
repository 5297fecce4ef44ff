#!/usr/bin/env bash
# Times the phases of `make test` and prints where the time went:
#   timed.sh start                     begin (clears the record)
#   timed.sh run "NAME" COMMAND…       run COMMAND, record its wall time under NAME
#   timed.sh report                    one line per phase and the total
# The record lives in $STACKSNAP_TIMING (default /tmp/stacksnap-test-timing.<uid>).
set -euo pipefail
rec="${STACKSNAP_TIMING:-/tmp/stacksnap-test-timing.$(id -u)}"
case "${1:-}" in
  start) printf 'start %s\n' "$(date +%s)" >"$rec" ;;
  run)
    name="$2"; shift 2
    t0=$(date +%s)
    "$@"
    printf 'phase %s\t%s\n' "$(( $(date +%s) - t0 ))" "$name" >>"$rec" ;;
  report)
    start="$(awk '$1=="start"{print $2}' "$rec")"
    echo "== all tests passed in $(( $(date +%s) - start )) s"
    awk -F'\t' '/^phase/{split($1,a," "); printf "   %6d s  %s\n", a[2], $2}' "$rec" ;;
  *) echo "usage: timed.sh start | run NAME CMD… | report" >&2; exit 2 ;;
esac
