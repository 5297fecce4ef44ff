#!/usr/bin/env bash
# The integration tests (real dockerd, databases, S3), in two lanes:
#   1. Compose v2 (`docker compose`, the default): every integration test, with the sample
#      stacks as projects ssit-* and a foreign project named `shop` running beside them
#      (scripts/foreign-shop.sh) that must come out untouched;
#   2. Compose v1 (`docker-compose` 1.29): the sample stacks brought up by v1 as projects
#      ssv1-* (names with `_`, relative config paths), and the backup, restore, copy
#      restore and drill tests against them. Its stacks are taken down afterwards.
#   scripts/integration.sh [BUILD_DIR] [v2|v1|both]     (default build/release both)
# STACKSNAP_IT_PREFIX / STACKSNAP_COMPOSE are set per lane; ctest's --timeout per test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-build/release}"
lanes="${2:-both}"
# Project name prefixes of the lanes (STACKSNAP_IT_PREFIX / STACKSNAP_IT_PREFIX_V1 override).
v1_prefix="${STACKSNAP_IT_PREFIX_V1:-ssv1-}"
# The v1 lane: what a v1-created project has to keep supporting.
v1_tests='^(StackDiscovery\.(FindsTheThreeSampleStacks|Shop|Wiki|FilesWithACustomVolumeNameAndAnExclusion)|CliProjects\.(JsonDescribesTheSampleStacks|OneProjectAsATable)|DockerContainers\.ListWithLabelFiltersAndInspect|Backup\.(ShopHasDumpsVolumesBindsConfigAndVerifies|WikiAndFilesBackUpAndVerify)|RestoreTest\..*|SampleStacks/Disaster\..*|BrokenDumpDrill\..*|ComposeLane\..*)$'

"$root/scripts/test-services.sh"
"$root/scripts/foreign-shop.sh" up
trap '"$root/scripts/foreign-shop.sh" down' EXIT

lane_seconds=()
run_lane() { # name, env…, -- ctest args…
  local name="$1"; shift
  local env=()
  while [[ "$1" != -- ]]; do env+=("$1"); shift; done; shift
  local t0; t0=$(date +%s)
  echo "== integration tests, lane $name"
  (cd "$root/$build" && env "${env[@]}" ctest -L integration --output-on-failure --timeout 900 "$@")
  lane_seconds+=("$name $(( $(date +%s) - t0 )) s")
}
if [[ "$lanes" == both || "$lanes" == v2 ]]; then
  run_lane "Compose v2 (all)" STACKSNAP_COMPOSE=v2 STACKSNAP_IT_PREFIX="${STACKSNAP_IT_PREFIX:-ssit-}" --
fi
if [[ "$lanes" == both || "$lanes" == v1 ]]; then
  run_lane "Compose v1 (backup, restore, copy, drill)" STACKSNAP_COMPOSE=v1 STACKSNAP_IT_PREFIX="$v1_prefix" -- -R "$v1_tests"
  for s in shop wiki files; do
    STACKSNAP_COMPOSE=v1 "$root/tests/fixtures/stacks/down.sh" "$s" "$v1_prefix$s" >/dev/null 2>&1 || true
  done
fi
printf '   %s\n' "${lane_seconds[@]}"
