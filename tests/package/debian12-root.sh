#!/usr/bin/env bash
# A fresh Debian 12 root for the package tests, without any registry: debootstrap
# bookworm (minbase, plus systemd so that the unit can be enabled and verified as on a
# real host), `docker import`ed as stacksnap-test/debian12:<recipe-hash>. Built once
# (about a minute), then reused; prints the image name. The image is the cache: the
# root is not kept.
# Nothing of StackSnap's dependencies is in it: installing the package pulls them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
hash="$(sha256sum "$here/debian12-root.sh" | cut -c1-12)"
image="stacksnap-test/debian12:$hash"
docker image inspect "$image" >/dev/null 2>&1 && { echo "$image"; exit 0; }
"$repo/scripts/ensure-packages.sh" debootstrap

mirror="$("$repo/scripts/debian-mirror.sh")"
root="$(mktemp -d /var/tmp/stacksnap-debian12-XXXXXX)"
trap 'rm -rf "$root" "$root.log"' EXIT
echo "debootstrap bookworm for the package tests, once (about a minute)..." >&2
debootstrap --variant=minbase --include=systemd bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
  { echo "debootstrap failed:" >&2; tail -n 20 "$root.log" >&2; exit 1; }
printf 'deb %s bookworm main\ndeb %s-security bookworm-security main\n' "$mirror" "${mirror%/debian}/debian-security" \
  >"$root/etc/apt/sources.list"
rm -f "$root/var/cache/apt/archives"/*.deb
tar -C "$root" -c . | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "$image"
