#!/usr/bin/env bash
# A second Docker Engine beside the main one: 20.10 from Debian 12's own docker.io (API
# 1.41, what Debian 12 users run), to check that StackSnap still works with it.
# Unpacked from the .deb (apt-get download), never installed: the main Engine 26 and its
# packages stay as they are. Its own socket, data root, exec root, managed containerd,
# cgroup parent, address pool (10.213.0.0/16) and default bridge (ss20br0, made here: with
# `--bridge none` dockerd 20.10 *deletes* docker0 at start, the main Engine's bridge);
# no iptables rules, so it cannot disturb the main Engine's containers.
#   engine20.sh start        start it (idempotent); prints DOCKER_HOST for it
#   engine20.sh stop         stop it (its data root is kept: loaded images survive)
#   engine20.sh load IMAGE…  copy images from the main Engine into it (when missing)
#   engine20.sh host         print DOCKER_HOST for it
set -euo pipefail
VERSION="20.10.24+dfsg1-1+deb12u1+b6"
root=/opt/stacksnap-engine20
run=/run/stacksnap-engine20
data=/var/lib/stacksnap-engine20
sock="$run/docker.sock"
host="unix://$sock"
ping() { curl -fsS -m 3 --unix-socket "$sock" http://docker/_ping >/dev/null 2>&1; }

ensure_binary() {
  [[ -x "$root/usr/sbin/dockerd" && "$(cat "$root/.version" 2>/dev/null)" == "$VERSION" ]] && return 0
  local tmp; tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download "docker.io=$VERSION" >/dev/null 2>&1) || {
    apt-get update >/dev/null 2>&1 || true
    (cd "$tmp" && apt-get download "docker.io=$VERSION" >/dev/null)
  }
  rm -rf "$root"; mkdir -p "$root"
  dpkg-deb -x "$tmp"/docker.io_*.deb "$root"
  echo "$VERSION" >"$root/.version"
  rm -rf "$tmp"
}

case "${1:-}" in
  start)
    ping && { echo "DOCKER_HOST=$host"; exit 0; }
    ensure_binary
    mkdir -p "$run" "$data"
    echo '{}' >"$run/daemon.json"
    if ! ip link show ss20br0 >/dev/null 2>&1; then
      ip link add ss20br0 type bridge
      ip addr add 10.213.255.1/24 dev ss20br0
      ip link set ss20br0 up
    fi
    PATH="$root/usr/sbin:$root/usr/bin:$PATH" nohup "$root/usr/sbin/dockerd" \
      --config-file "$run/daemon.json" --host "$host" --data-root "$data" --exec-root "$run/exec" \
      --pidfile "$run/docker.pid" --bridge ss20br0 --iptables=false --ip-masq=false \
      --default-address-pool base=10.213.0.0/16,size=24 --cgroup-parent stacksnap-engine20 \
      --storage-driver overlay2 --log-level warn >/var/log/stacksnap-engine20.log 2>&1 &
    for _ in $(seq 1 120); do
      ping && { echo "DOCKER_HOST=$host"; exit 0; }
      sleep 0.5
    done
    echo "Engine 20.10 did not start; see /var/log/stacksnap-engine20.log" >&2
    tail -n 20 /var/log/stacksnap-engine20.log >&2
    exit 1 ;;
  stop)
    if [[ -f "$run/docker.pid" ]]; then
      pid="$(cat "$run/docker.pid")"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi ;;
  load)
    shift
    for image in "$@"; do
      DOCKER_HOST="$host" docker image inspect "$image" >/dev/null 2>&1 && continue
      docker save "$image" | DOCKER_HOST="$host" docker load >/dev/null
    done ;;
  host) echo "$host" ;;
  *) echo "usage: engine20.sh start | stop | load IMAGE… | host" >&2; exit 2 ;;
esac
