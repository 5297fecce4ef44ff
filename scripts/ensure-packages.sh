#!/usr/bin/env bash
# Install the named Debian packages when any is missing. Quiet when all are present.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/stacksnap-apt.log 2>&1; then
  $SUDO apt-get update -q >/dev/null 2>&1 || true
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/stacksnap-apt.log 2>&1 || {
    echo "apt-get install failed:" >&2; tail -n 30 /tmp/stacksnap-apt.log >&2; exit 1; }
fi
