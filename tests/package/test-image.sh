#!/usr/bin/env bash
# StackSnap's container image against this host's dockerd, end to end, on a private copy of
# the `shop` sample stack (project ${STACKSNAP_IT_PREFIX:-sspkg-}shop, names no user picks;
# the prefix as for the integration tests, tests/integration/test_env.h):
#   - `serve` (the image's default command) starts as PID 1 under tini, answers
#     /api/health with this build, and stops cleanly on `docker stop`;
#   - doctor in the container finds the Engine, Compose v2, and the data dir and the
#     project's working dir shared at the same path; without the socket, or without the
#     data dir mounted, it fails naming the `-v` option that is missing;
#   - backup through the container; the project is destroyed (compose down -v, working
#     dir deleted); a restore from a container that does not see the working dir is
#     refused before anything changes, naming the path and the `-v` that fixes it; the
#     restore through a container that sees it brings the stack back: rows, Redis keys,
#     volume and bind-mount files as backed up.
#   tests/package/test-image.sh PACKAGE_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pkgdir="$(realpath "$1")"
version="$("$pkgdir/stage/stacksnap/usr/bin/stacksnap" --version)"
image="stacksnap:$(cut -d' ' -f2 <<<"$version")"
docker image inspect "$image" >/dev/null || { echo "FAIL: no image $image (make package builds it)" >&2; exit 1; }
"$repo/scripts/ensure-packages.sh" jq curl

prefix="${STACKSNAP_IT_PREFIX:-sspkg-}"
project="${prefix}shop"
root="/var/tmp/${prefix}image-test"
work="$root/work"; data="$root/data"; target="$root/target"
server=""
cleanup() {
  [[ -n "$server" ]] && docker rm -f "$server" >/dev/null 2>&1
  "$repo/tests/fixtures/stacks/down.sh" shop "$project" "$work" >/dev/null 2>&1 || true
  rm -rf "$root"
}
trap cleanup EXIT
cleanup
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

# The CLI in the image: the Engine's socket and $root (data dir, target, working dir) at
# the same paths as on the host. No network: it talks to the Engine through the socket.
ss() {
  docker run --rm --network none -v /var/run/docker.sock:/var/run/docker.sock -v "$root:$root" \
    -e STACKSNAP_DATA_DIR="$data" "$image" "$@"
}
db() { docker exec "$project-db-1" env PGPASSWORD=shop-secret-pw-4711 psql -qtA -h 127.0.0.1 -U shop -d shop -c "$1"; }
redis() { docker exec "$project-cache-1" env REDISCLI_AUTH=redis-secret-pw-0815 redis-cli "$@"; }
state() {  # what must survive: rows, a Redis key, a volume file, bind-mount files
  echo "orders=$(db 'SELECT count(*), sum(amount) FROM orders') balance=$(db 'SELECT sum(balance) FROM accounts')"
  echo "marker=$(db "SELECT count(*) FROM orders WHERE note = 'written before the image backup'") redis=$(redis GET e2e:marker)"
  docker exec "$project-web-1" sha256sum /srv/data/blob.bin /srv/data/reports/orders.txt
  (cd "$work" && sha256sum uploads/images/photo.jpg uploads/images/readme.txt)
}

mkdir -p "$target" && install -d -m 0700 "$data"
STACKSNAP_COMPOSE=v2 "$repo/tests/fixtures/stacks/up.sh" shop "$project" "$work" >/dev/null
db "INSERT INTO orders (account, amount, note) VALUES (7, 4242, 'written before the image backup')" >/dev/null
redis SET e2e:marker image-42 >/dev/null
before="$(state)"

# 1. The server as the image runs it.
server="${prefix}image-serve-$$"
docker run -d --name "$server" --network host -v /var/run/docker.sock:/var/run/docker.sock -v "$root:$root" \
  -e STACKSNAP_DATA_DIR="$data" "$image" serve --listen 127.0.0.1:0 >/dev/null
port=""
for _ in $(seq 1 100); do
  port="$(docker logs "$server" 2>&1 | sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\) .*/\1/p' | head -n 1)"
  [[ -n "$port" ]] && break; sleep 0.1
done
[[ -n "$port" ]] || { docker logs "$server" >&2; fail "serve did not start"; }
health="$(curl -fsS "http://127.0.0.1:$port/api/health")"
[[ "$(jq -r '"stacksnap \(.version) (commit \(.commit), built \(.build_date))"' <<<"$health")" == "$version" ]] ||
  fail "/api/health: $health"
ok "serve in the image answers /api/health: $health"
docker stop -t 20 "$server" >/dev/null
[[ "$(docker inspect -f '{{.State.ExitCode}}' "$server")" == 0 ]] && docker logs "$server" 2>&1 | grep -q 'Stopping (SIGTERM)' ||
  { docker logs "$server" >&2; fail "serve did not stop cleanly on docker stop"; }
ok "docker stop: serve stopped on SIGTERM, exit 0"
docker rm "$server" >/dev/null; server=""

# 2. Doctor sees what the container shares.
ss key init >/dev/null
ss target add local local --path "$target" >/dev/null
doctor="$(ss doctor --json 2>/dev/null || true)"
for id in engine container compose data-dir key target:local "paths:$project"; do
  [[ "$(jq -r --arg id "$id" '.checks[] | select(.id == $id) | .state' <<<"$doctor")" == ok ]] ||
    fail "doctor check $id: $(jq -c --arg id "$id" '.checks[] | select(.id == $id)' <<<"$doctor")"
done
[[ "$(jq -r '.checks[] | select(.id == "compose") | .summary' <<<"$doctor")" == "docker-compose 2."*"(Compose v2)" ]] ||
  fail "compose in the image: $(jq -c '.checks[] | select(.id == "compose")' <<<"$doctor")"
ok "doctor in the container: Engine, Compose v2, data dir and $project's paths shared at the same path"
# What it says when the container lacks the socket, or keeps the data dir to itself.
check_of() { jq -r --arg id "$1" '.checks[] | select(.id == $id) | "\(.state) \(.summary) fix: \(.fix)"' <<<"$2"; }
set +e
nosock="$(docker run --rm --network none -v "$root:$root" -e STACKSNAP_DATA_DIR="$data" "$image" doctor --json 2>/dev/null)"; rc=$?
set -e
[[ $rc == 5 && "$(check_of engine "$nosock")" == "fail "*"fix: run the container with -v /var/run/docker.sock:/var/run/docker.sock" ]] ||
  fail "doctor without the socket (exit $rc): $(check_of engine "$nosock")"
ok "doctor without the socket: exit 5, engine: $(check_of engine "$nosock")"
set +e
nodata="$(docker run --rm --network none -v /var/run/docker.sock:/var/run/docker.sock "$image" doctor --json 2>/dev/null)"; rc=$?
set -e
[[ $rc == 5 && "$(check_of container "$nodata")" == "fail "*"inside the container"*"-v /var/lib/stacksnap:/var/lib/stacksnap"* ]] ||
  fail "doctor without the data dir mounted (exit $rc): $(check_of container "$nodata")"
ok "doctor without the data dir mounted: exit 5, container: $(check_of container "$nodata")"

# 3. Backup, disaster, refused restore, restore.
t0=$(date +%s)
backup="$(ss backup "$project" --json)" || { echo "$backup" >&2; fail "backup through the image"; }
id="$(jq -r 'select(.type == "summary") | .backup_id' <<<"$backup" | tail -n 1)"
[[ -n "$id" && "$id" != null ]] || fail "no backup id in: $(tail -n 3 <<<"$backup")"
ok "backup $id of $project through the image ($(( $(date +%s) - t0 )) s)"

"$repo/tests/fixtures/stacks/down.sh" shop "$project" "$work" >/dev/null
[[ ! -e "$work" && -z "$(docker ps -aq --filter "label=com.docker.compose.project=$project")" &&
   -z "$(docker volume ls -q --filter "label=com.docker.compose.project=$project")" ]] || fail "the project is not gone"
ok "$project destroyed: containers, volumes and working dir"

set +e
refused="$(docker run --rm --network none -v /var/run/docker.sock:/var/run/docker.sock -v "$data:$data" \
  -v "$target:$target" -e STACKSNAP_DATA_DIR="$data" "$image" restore "$id" 2>&1)"; rc=$?
set -e
[[ $rc == 5 ]] || fail "restore without the working dir mounted: exit $rc: $refused"
grep -q "does not share with the Docker host at the same path" <<<"$refused" && grep -q -- "-v $work:$work" <<<"$refused" ||
  fail "the refusal does not name the path and its -v: $refused"
[[ ! -e "$work" && -z "$(docker ps -aq --filter "label=com.docker.compose.project=$project")" ]] ||
  fail "the refused restore changed the host"
ok "restore from a container without the working dir: refused (exit 5) naming -v $work:$work, nothing changed"

t0=$(date +%s)
restore="$(ss restore "$id" 2>&1)" || { echo "$restore" >&2; fail "restore through the image"; }
ok "restore $id through the image ($(( $(date +%s) - t0 )) s)"
for svc in db cache web; do
  [[ "$(docker inspect -f '{{.State.Running}}' "$project-$svc-1" 2>/dev/null)" == true ]] || fail "$project-$svc-1 is not running"
done
after=""
for _ in $(seq 1 60); do after="$(state 2>/dev/null || true)"; [[ "$after" == "$before" ]] && break; sleep 0.5; done
[[ "$after" == "$before" ]] || fail "restored state differs:
--- before
$before
--- after
$after"
ok "$project is back: $(head -n 2 <<<"$after" | tr '\n' ' ')and the volume and bind-mount files match"
