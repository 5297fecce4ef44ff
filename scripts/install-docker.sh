#!/usr/bin/env bash
# Installs the Docker that users run today, from Debian's own archive, on Debian 12:
#   Engine 26.1 (docker.io, docker-cli, containerd from Debian 13 "trixie"),
#   Compose v2 2.26 as the CLI plugin (/usr/libexec/docker/cli-plugins/docker-compose),
#   Compose v1 1.29 (Debian 12's docker-compose, /usr/bin/docker-compose) for the
#   compatibility lane.
# trixie is added to apt at pin priority 100, so nothing else moves: only the packages
# named here are taken from it, at exact versions; runc and tini stay Debian 12's.
# Idempotent and quiet when everything is in place. An Engine 20.10 left by an older
# checkout is upgraded in place: /var/lib/docker (images, volumes) is kept.
#   scripts/install-docker.sh            install (does not start dockerd)
#   scripts/install-docker.sh --check    exit 0 when installed as wanted, 1 otherwise
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

ENGINE_VERSION="26.1.5+dfsg1-9+deb13u1+b1"
CONTAINERD_VERSION="1.7.24~ds1-6+deb13u1"
COMPOSE_V2_VERSION="2.26.1-4"
PLUGIN=/usr/libexec/docker/cli-plugins/docker-compose
PLUGIN_STAMP=/usr/libexec/docker/cli-plugins/.docker-compose.stacksnap-version
SOURCES=/etc/apt/sources.list.d/stacksnap-trixie.sources
PIN=/etc/apt/preferences.d/stacksnap-trixie

installed_version() { dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | awk '$3=="installed"{print $4}'; }

is_complete() {
  [[ "$(installed_version docker.io)" == "$ENGINE_VERSION" ]] &&
    [[ "$(installed_version docker-cli)" == "$ENGINE_VERSION" ]] &&
    [[ "$(installed_version containerd)" == "$CONTAINERD_VERSION" ]] &&
    [[ -n "$(installed_version docker-compose)" ]] &&
    [[ -x "$PLUGIN" && -f "$PLUGIN_STAMP" && "$(cat "$PLUGIN_STAMP")" == "$COMPOSE_V2_VERSION" ]] &&
    [[ -f "$SOURCES" && -f "$PIN" ]]
}

if [[ "${1:-}" == "--check" ]]; then is_complete; exit; fi
is_complete && exit 0

SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
log=/tmp/stacksnap-apt.log

# 1. trixie, pinned low.
mirror="$("$here/debian-mirror.sh")"
need_update=0
if [[ ! -f "$SOURCES" ]]; then
  $SUDO tee "$SOURCES" >/dev/null <<EOF
# Added by StackSnap's scripts/install-docker.sh: Docker Engine 26 and Compose v2 only
# (pinned at priority 100 in $PIN, so nothing else is taken from trixie).
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  need_update=1
fi
if [[ ! -f "$PIN" ]]; then
  $SUDO tee "$PIN" >/dev/null <<'EOF'
# Added by StackSnap's scripts/install-docker.sh: trixie packages only when asked for by
# exact version (docker.io, docker-cli, containerd, docker-compose 2).
Package: *
Pin: release n=trixie
Pin-Priority: 100
EOF
fi
if [[ $need_update == 1 ]] || ! apt-cache show "docker.io=$ENGINE_VERSION" >/dev/null 2>&1; then
  echo "apt-get update (adding Debian 13 for Docker Engine 26)" >&2
  $SUDO apt-get update -q >"$log" 2>&1 || { echo "apt-get update failed:" >&2; tail -n 20 "$log" >&2; exit 1; }
fi

# 2. Engine 26 + Compose v1 (Debian 12). A running 20.10 dockerd is stopped first; the
# package upgrade keeps /var/lib/docker.
if [[ "$(installed_version docker.io)" != "$ENGINE_VERSION" ]] && pgrep -x dockerd >/dev/null; then
  echo "stopping the running dockerd for the upgrade to Engine 26" >&2
  $SUDO pkill -x dockerd || true
  for _ in $(seq 1 60); do pgrep -x dockerd >/dev/null || break; sleep 0.5; done
  $SUDO pkill -x containerd || true
fi
echo "installing Docker Engine 26.1 and Compose (v2 plugin, v1 for the compatibility lane)" >&2
# policy-rc.d: the packages must not try to start services (no systemd here; scripts start
# dockerd themselves).
prc=/usr/sbin/policy-rc.d; own_prc=0
if [[ ! -e $prc ]]; then printf '#!/bin/sh\nexit 101\n' | $SUDO tee $prc >/dev/null; $SUDO chmod +x $prc; own_prc=1; fi
trap '[[ $own_prc == 1 ]] && $SUDO rm -f '"$prc" EXIT
$SUDO apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold \
  "docker.io=$ENGINE_VERSION" "docker-cli=$ENGINE_VERSION" "containerd=$CONTAINERD_VERSION" \
  docker-compose/bookworm iptables >"$log" 2>&1 || {
  echo "apt-get install failed:" >&2; tail -n 30 "$log" >&2; exit 1; }

# 3. Compose v2 as the CLI plugin, from the trixie package's own binary (the package itself
# would replace Compose v1's /usr/bin/docker-compose).
if [[ ! -x "$PLUGIN" || ! -f "$PLUGIN_STAMP" || "$(cat "$PLUGIN_STAMP" 2>/dev/null)" != "$COMPOSE_V2_VERSION" ]]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download -q "docker-compose=$COMPOSE_V2_VERSION" >"$log" 2>&1) || {
    echo "apt-get download docker-compose=$COMPOSE_V2_VERSION failed:" >&2; tail -n 20 "$log" >&2; exit 1; }
  dpkg-deb -x "$tmp"/docker-compose_*.deb "$tmp/root"
  $SUDO install -d -m 0755 "$(dirname "$PLUGIN")"
  $SUDO install -m 0755 "$tmp/root/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN"
  echo "$COMPOSE_V2_VERSION" | $SUDO tee "$PLUGIN_STAMP" >/dev/null
  rm -rf "$tmp"
fi
is_complete || { echo "install-docker.sh: the installed versions are not the expected ones" >&2; exit 1; }
