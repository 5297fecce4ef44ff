#!/usr/bin/env bash
# A foreign Compose project named "shop" beside the integration suite (the name of a
# sample stack; tests/fixtures/foreign-shop):
#   foreign-shop.sh up     start it, unless a project named shop already runs (a user's
#                          own: then that one plays the part, and is left alone)
#   foreign-shop.sh down   remove it again, only if it is ours (label org.stacksnap.foreign)
# The integration tests check at the end of each test process that its containers are
# still the same and still running (tests/integration/test_env.cpp).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
file="$root/tests/fixtures/foreign-shop/compose.yaml"
ours() { docker ps -aq --filter label=com.docker.compose.project=shop --filter label=org.stacksnap.foreign=1; }
any() { docker ps -aq --filter label=com.docker.compose.project=shop; }
case "${1:-}" in
  up)
    if [[ -n "$(any)" && -z "$(ours)" ]]; then
      echo "a Compose project named shop already runs here (not ours): the suite runs beside it" >&2
      exit 0
    fi
    docker compose -f "$file" up -d --quiet-pull >/dev/null 2>&1 ||
      { docker compose -f "$file" up -d; exit 1; }
    echo "foreign project shop is up beside the suite ($(ours | wc -l) containers)" >&2 ;;
  down)
    [[ -n "$(ours)" ]] && docker compose -f "$file" down -v >/dev/null 2>&1 || true ;;
  *) echo "usage: foreign-shop.sh up|down" >&2; exit 2 ;;
esac
