#!/usr/bin/env bash
# Prints the Debian mirror this host's apt uses (deb822 sources first, then the classic
# sources.list), or deb.debian.org when none is configured.
set -euo pipefail
mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
[[ -n "$mirror" ]] || mirror="$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
echo "${mirror:-http://deb.debian.org/debian}"
