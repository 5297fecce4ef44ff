#!/usr/bin/env bash
# Installs what a given task needs, only when missing (quiet when present).
#   deps.sh build   — compiler, CMake and the libraries StackSnap links
#   deps.sh test    — build + what the tests use (Docker Engine 26 + Compose v2 and v1 via
#                     install-docker.sh, debootstrap, clang for
#                     fuzzing, awscli, zstd, Node.js for the S3 test server and the browser)
#   deps.sh bench   — test + tools of the reference pipelines (gnupg, time, restic, borgbackup)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build=(g++ cmake ninja-build make pkg-config libarchive-dev libzstd-dev libssl-dev libsodium-dev
       libcurl4-openssl-dev libboost-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
       libsqlite3-dev libyaml-dev libgtest-dev libgmock-dev libbenchmark-dev
       libhowardhinnant-date-dev tzdata libpugixml-dev ccache)
test=(debootstrap zstd clang libclang-rt-14-dev awscli curl openssl
      sqlite3 time procps iproute2)
bench=(gnupg hyperfine bc restic borgbackup)
case "${1:-build}" in
  build) "$here/ensure-packages.sh" "${build[@]}" ;;
  test)  "$here/ensure-packages.sh" "${build[@]}" "${test[@]}"; "$here/install-docker.sh" ;;
  bench) "$here/ensure-packages.sh" "${build[@]}" "${test[@]}" "${bench[@]}"; "$here/install-docker.sh" ;;
  *) echo "usage: deps.sh build|test|bench" >&2; exit 2 ;;
esac
# Node.js + npm: the dashboard build and the test servers need them.
if [[ "${1:-build}" != build || -d "$here/../web" ]]; then
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    "$here/ensure-packages.sh" nodejs npm
  fi
fi
