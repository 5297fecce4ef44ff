#!/usr/bin/env bash
# A fresh Debian 12 root for the package tests, without any registry: debootstrap
# bookworm (minbase, plus systemd so that the unit can be enabled and verified as on a
# real host), `docker import`ed as stacksnap-test/debian12:<recipe-hash>. Built once
# (about a minute), then reused; prints the image name.
# Nothing of StackSnap's dependencies is in it: installing the package pulls them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
hash="$(sha256sum "$here/debian12-root.sh" | cut -c1-12)"
image="stacksnap-test/debian12:$hash"
docker image inspect "$image" >/dev/null 2>&1 && { echo "$image"; exit 0; }
"$repo/scripts/ensure-packages.sh" debootstrap

mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
[[ -n "$mirror" ]] || mirror="$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
[[ -n "$mirror" ]] || mirror=http://deb.debian.org/debian
work="${STACKSNAP_FIXTURE_WORK:-/var/cache/stacksnap-fixtures}"
root="$work/debian12-$hash"
mkdir -p "$work"
if [[ ! -f "$root/.complete" ]]; then
  rm -rf "$root"
  echo "debootstrap bookworm for the package tests (about a minute)..." >&2
  debootstrap --variant=minbase --include=systemd bookworm "$root" "$mirror" >"$work/debian12-debootstrap.log" 2>&1 || {
    echo "debootstrap failed; see $work/debian12-debootstrap.log" >&2; tail -n 20 "$work/debian12-debootstrap.log" >&2; exit 1; }
  printf 'deb %s bookworm main\ndeb %s-security bookworm-security main\n' "$mirror" "${mirror%/debian}/debian-security" \
    >"$root/etc/apt/sources.list"
  rm -f "$root/var/cache/apt/archives"/*.deb
  touch "$root/.complete"
fi
tar -C "$root" --exclude=./.complete -c . | docker import --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "$image"
