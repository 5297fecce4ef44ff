#!/usr/bin/env bash
# Make sure a Docker Engine answers on the local socket (or $DOCKER_HOST).
# Installs Engine 26 + Compose v2 (and v1) when missing (scripts/install-docker.sh),
# starts dockerd in the background, copes with a stale pid file left by a killed
# daemon, and waits until /_ping answers. Idempotent and quiet when the engine is up.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/ensure-packages.sh" curl

sock=/var/run/docker.sock
ping() {
  if [[ -n "${DOCKER_HOST:-}" && "${DOCKER_HOST}" == tcp://* ]]; then
    curl -fsS -m 3 "http://${DOCKER_HOST#tcp://}/_ping" >/dev/null 2>&1
  else
    local s="${DOCKER_HOST:-unix://$sock}"; s="${s#unix://}"
    curl -fsS -m 3 --unix-socket "$s" http://docker/_ping >/dev/null 2>&1
  fi
}
ping && exit 0
"$here/install-docker.sh"

# A dockerd killed with -9 leaves its pid files and sockets behind; they make
# the next dockerd/containerd refuse to start.
for pidf in /var/run/docker.pid /run/docker/containerd/containerd.pid /var/run/docker/containerd/containerd.pid; do
  if [[ -f "$pidf" ]]; then
    pid="$(cat "$pidf" 2>/dev/null || true)"
    if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then rm -f "$pidf"; fi
  fi
done
if ! pgrep -x dockerd >/dev/null; then
  rm -f "$sock"
  mkdir -p /var/log
  echo "starting dockerd (log: /var/log/stacksnap-dockerd.log)" >&2
  # In a session of its own: whoever started us may kill its process group when it ends.
  setsid nohup dockerd --storage-driver=overlay2 >/var/log/stacksnap-dockerd.log 2>&1 &
  disown || true
fi
for _ in $(seq 1 120); do
  ping && exit 0
  sleep 0.5
done
echo "dockerd did not answer /_ping within 60 s; last log lines:" >&2
tail -n 20 /var/log/stacksnap-dockerd.log >&2 || true
exit 1
