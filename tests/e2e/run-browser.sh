#!/usr/bin/env bash
# The dashboard's browser end-to-end test against the real binary:
#   tests/e2e/run-browser.sh [BUILD_DIR]      (default build/release; $STACKSNAP_BIN wins)
# Starts dockerd if needed, builds the fixture images, brings the `shop` fixture stack up
# as project $E2E_PROJECT, starts `stacksnap serve` on a free loopback port with a fresh
# data dir, and runs tests/e2e/browser.test.mjs (playwright-core + Debian chromium).
# Screenshots land in tests/e2e/screenshots/. Everything it started is torn down on exit.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-build/release}"
bin="${STACKSNAP_BIN:-$root/$build/stacksnap}"
project="${E2E_PROJECT:-e2eshop}"
export E2E_PROJECT="$project"

echo "== browser e2e (dashboard)"
[[ -x "$bin" ]] || { echo "browser e2e: no stacksnap binary at $bin (make build)" >&2; exit 1; }
if ! "$bin" --help 2>/dev/null | grep -q serve; then
  echo "browser e2e: $bin has no 'serve' command" >&2; exit 1
fi
"$root/scripts/ensure-packages.sh" chromium
command -v npm >/dev/null || "$root/scripts/ensure-packages.sh" nodejs npm
if [[ ! -d "$here/node_modules/playwright-core" || "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
"$root/scripts/ensure-dockerd.sh"
"$root/tests/fixtures/images/build.sh"

tmp="$(mktemp -d /tmp/stacksnap-e2e-browser.XXXXXX)"
server_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [[ -z "${E2E_KEEP:-}" ]]; then
    "$root/tests/fixtures/stacks/down.sh" shop "$project" "$tmp/stack" >/dev/null 2>&1 || true
    "$root/tests/fixtures/stacks/down.sh" shop "$project-restored" "$tmp/none" >/dev/null 2>&1 || true
    "$root/tests/fixtures/stacks/down.sh" shop "$project-restored2" "$tmp/none" >/dev/null 2>&1 || true
    rm -rf "$tmp"
  else
    echo "browser e2e: E2E_KEEP set, leaving $tmp and the stacks in place" >&2
  fi
  if [[ $rc -ne 0 && -f "$tmp/server.log" ]]; then
    echo "--- last server log lines ---" >&2; tail -n 40 "$tmp/server.log" >&2 || true
  fi
  exit $rc
}
trap cleanup EXIT INT TERM

# Leftovers of an earlier, interrupted run.
"$root/tests/fixtures/stacks/down.sh" shop "$project-restored" "$tmp/none" >/dev/null 2>&1 || true
"$root/tests/fixtures/stacks/down.sh" shop "$project" "/var/tmp/stacksnap-stacks/$project" >/dev/null 2>&1 || true
echo "bringing up fixture stack shop as $project" >&2
"$root/tests/fixtures/stacks/up.sh" shop "$project" "$tmp/stack" >/dev/null
# The copy-restore test needs an original that publishes a host port: the web service of
# the running project gets one through a third compose file (recorded with the others).
web_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
cat >"$tmp/stack/docker-compose.ports.yml" <<YAML
services:
  web:
    ports:
      - "127.0.0.1:${web_port}:8080"
YAML
(
  source "$root/tests/fixtures/stacks/compose.sh"
  cd "$tmp/stack"
  compose -p "$project" -f docker-compose.yml -f docker-compose.override.yml -f docker-compose.ports.yml up -d >"$tmp/ports-up.log" 2>&1
) || { cat "$tmp/ports-up.log" >&2; exit 1; }

# The disaster test stores a backup on the S3 test server and reads it from a second server.
"$root/tests/fixtures/s3/start.sh" >/dev/null
set -a; source "${STACKSNAP_S3_ENV:-/tmp/stacksnap-s3.env}"; set +a

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
mkdir -p "$tmp/data" "$tmp/backups"
"$bin" --data-dir "$tmp/data" serve --listen "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS -m 2 "http://127.0.0.1:$port/api/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "browser e2e: the server exited at start:" >&2; cat "$tmp/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS -m 2 "http://127.0.0.1:$port/api/health" >/dev/null || { echo "browser e2e: the server does not answer /api/health" >&2; exit 1; }
if ! curl -fsS "http://127.0.0.1:$port/" | grep -q '/assets/'; then
  echo "browser e2e: $bin serves no dashboard (built without -DSTACKSNAP_WEB_DIST=\$PWD/web/dist? run make build)" >&2
  exit 1
fi

# The first run is claimed with the one-time setup token the server wrote (and printed).
setup_token="$(cat "$tmp/data/setup-token")"
grep -q "/?setup_token=$setup_token" "$tmp/server.log" || { echo "browser e2e: the server printed no setup URL" >&2; exit 1; }

cd "$here"
E2E_BASE_URL="http://127.0.0.1:$port" E2E_SETUP_TOKEN="$setup_token" E2E_BACKUP_DIR="$tmp/backups" \
  E2E_STACK_DIR="$tmp/stack" E2E_WEB_PORT="$web_port" E2E_BIN="$bin" E2E_TMP="$tmp" node browser.test.mjs
