#!/usr/bin/env bash
# The integration tests (real dockerd, databases, S3), in two lanes:
#   1. Compose v2 (`docker compose`, the default): every integration test, with the sample
#      stacks as projects ssit-* and a foreign project named `shop` running beside them
#      (scripts/foreign-shop.sh) that must come out untouched;
#   2. Compose v1 (`docker-compose` 1.29): the sample stacks brought up by v1 as projects
#      ssv1-* (names with `_`, relative config paths), and the backup, restore, copy
#      restore and drill tests against them. Its stacks are taken down afterwards.
#   scripts/integration.sh [BUILD_DIR] [v2|v1|both]     (default build/release both)
# STACKSNAP_IT_PREFIX / STACKSNAP_COMPOSE are set per lane.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-build/release}"
lanes="${2:-both}"
# Project name prefixes of the lanes (STACKSNAP_IT_PREFIX / STACKSNAP_IT_PREFIX_V1 override).
v1_prefix="${STACKSNAP_IT_PREFIX_V1:-ssv1-}"
# The v1 lane: what a v1-created project has to keep supporting (a gtest filter).
v1_tests='StackDiscovery.*:CliProjects.JsonDescribesTheSampleStacks:CliProjects.OneProjectAsATable'
v1_tests+=':DockerContainers.ListWithLabelFiltersAndInspect:Backup.ShopHasDumpsVolumesBindsConfigAndVerifies'
v1_tests+=':Backup.WikiAndFilesBackUpAndVerify:RestoreTest.*:SampleStacks/Disaster.*:BrokenDumpDrill.*:ComposeLane.*'
bin="$root/$build/stacksnap_integration_tests"
[[ -x "$bin" ]] || { echo "integration: no $bin (make build-tests)" >&2; exit 1; }

"$root/scripts/test-services.sh"

# What a killed run left behind: projects of the lanes' prefixes that are not running (a
# restarted dockerd leaves them exited) are removed with their volumes, and networks of
# those prefixes that no container uses: they would otherwise exhaust the Engine's address
# pools (about 30 networks) and every new project would fail.
leftovers() { # prefix…
  local prefix proj
  for prefix in "$@"; do
    for proj in $(docker ps -a --filter label=com.docker.compose.project \
                    --format '{{.Label "com.docker.compose.project"}} {{.State}}' |
                  awk -v p="$prefix" 'index($1, p) == 1 && $2 != "running" {print $1}' | sort -u); do
      docker ps -aq --filter "label=com.docker.compose.project=$proj" | xargs -r docker rm -f >/dev/null 2>&1 || true
      docker volume ls -q --filter "label=com.docker.compose.project=$proj" | xargs -r docker volume rm >/dev/null 2>&1 || true
    done
    docker network ls --filter label=com.docker.compose.project \
      --format '{{.Name}} {{.Label "com.docker.compose.project"}}' |
      awk -v p="$prefix" 'index($2, p) == 1 {print $1}' |
      xargs -r -n1 docker network rm >/dev/null 2>&1 || true
  done
}
leftovers "${STACKSNAP_IT_PREFIX:-ssit-}" "$v1_prefix"
"$root/scripts/foreign-shop.sh" up
export STACKSNAP_IT_FOREIGN=shop  # every test process checks that it stays untouched
trap '"$root/scripts/foreign-shop.sh" down' EXIT

# One process per test suite (a suite's set-up — a stack brought up, backups made — is
# shared by its tests), each with a time limit; every failing suite is named at the end.
# (`ctest -L integration` runs the same tests one process per test.)
failed=()
report=()
run() { # name, gtest filter, env…
  local name="$1" filter="$2"; shift 2
  local t0 rc=0 log; t0=$(date +%s)
  log="$(mktemp /tmp/stacksnap-it.XXXXXX)"
  env "$@" timeout 1800 "$bin" --gtest_filter="$filter" --gtest_brief=1 >"$log" 2>&1 || rc=$?
  local secs=$(( $(date +%s) - t0 ))
  if [[ $rc -eq 0 ]]; then
    printf '   %-44s ok      %4d s\n' "$name" "$secs"
  else
    printf '   %-44s FAILED  %4d s (exit %d)\n' "$name" "$secs" "$rc"
    # Each failure with its message (up to the next gtest line), then the failed tests.
    awk '/Failure$/ {on=1} /^\[/ {on=0} on {print} /^\[  FAILED  \]/ {print}' "$log" | head -n 120 |
      sed 's/^/      /' >&2
    failed+=("$name")
  fi
  rm -f "$log"
}
# Suites that bring up stacks of their own (no other suite touches them) run beside the
# others, one after another in a second queue: most of an integration test's time is
# spent waiting for containers and databases, not on the CPU.
own_stack_suites=" ${STACKSNAP_IT_BESIDE:-TrickyStack SqliteCapture} "
lane() { # name, prefix, flavour, [filter]
  local name="$1" prefix="$2" flavour="$3" filter="${4:-}"
  local t0; t0=$(date +%s)
  echo "== integration tests, $name (projects $prefix*)"
  local envs=(STACKSNAP_COMPOSE="$flavour" STACKSNAP_IT_PREFIX="$prefix")
  if [[ -n "$filter" ]]; then
    run "$name" "$filter" "${envs[@]}"
  else
    local suites beside=() rest=() suite
    suites="$("$bin" --gtest_list_tests | awk '/^[^ ]/{print $1}')"
    for suite in $suites; do
      if [[ "$own_stack_suites" == *" ${suite%.} "* ]]; then beside+=("$suite"); else rest+=("$suite"); fi
    done
    local beside_failed beside_out pid=""
    beside_failed="$(mktemp /tmp/stacksnap-it-beside.XXXXXX)"
    beside_out="$(mktemp /tmp/stacksnap-it-beside-out.XXXXXX)"
    if [[ ${#beside[@]} -gt 0 ]]; then
      ( failed=()
        for suite in "${beside[@]}"; do run "${suite%.}" "$suite*" "${envs[@]}"; done
        printf '%s\n' "${failed[@]}" >"$beside_failed" ) >"$beside_out" 2>&1 &
      pid=$!
    fi
    for suite in "${rest[@]}"; do run "${suite%.}" "$suite*" "${envs[@]}"; done
    if [[ -n "$pid" ]]; then
      wait "$pid" || true
      cat "$beside_out"
      while IFS= read -r f; do [[ -n "$f" ]] && failed+=("$f"); done <"$beside_failed"
    fi
    rm -f "$beside_failed" "$beside_out"
  fi
  report+=("$(printf '%-52s %5d s' "$name" $(( $(date +%s) - t0 )))")
}
if [[ "$lanes" == both || "$lanes" == v2 ]]; then
  lane "Compose v2 (every test)" "${STACKSNAP_IT_PREFIX:-ssit-}" v2
fi
if [[ "$lanes" == both || "$lanes" == v1 ]]; then
  lane "Compose v1 (backup, restore, copy, drill)" "$v1_prefix" v1 "$v1_tests"
  for s in shop wiki files; do
    STACKSNAP_COMPOSE=v1 "$root/tests/fixtures/stacks/down.sh" "$s" "$v1_prefix$s" >/dev/null 2>&1 || true
  done
fi
printf '   %s\n' "${report[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "integration: failed: ${failed[*]}" >&2
  exit 1
fi
