#!/usr/bin/env bash
# A fresh Debian 12 root for the package tests, without any registry: debootstrap
# bookworm (minbase, plus systemd so that the unit can be enabled and verified as on a
# real host), with apt's package lists, `docker import`ed as
# stacksnap-test/debian12:<recipe-hash>; prints the image name.
# Cached twice, like tests/fixtures/images/build.sh: the image itself, and the root under
# $STACKSNAP_FIXTURE_WORK (default /var/cache/stacksnap-fixtures/debian12-root-<hash>), so
# that an image lost to a `docker system prune` is imported again in seconds instead of
# debootstrapped again (about two minutes on a 2-core machine; once per recipe).
# Nothing of StackSnap's dependencies is in it: installing the package pulls them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
hash="$(sha256sum "$here/debian12-root.sh" | cut -c1-12)"
image="stacksnap-test/debian12:$hash"
docker image inspect "$image" >/dev/null 2>&1 && { echo "$image"; exit 0; }

work="${STACKSNAP_FIXTURE_WORK:-/var/cache/stacksnap-fixtures}"
root="$work/debian12-root-$hash"
if [[ ! -f "$root/.complete" ]]; then
  "$repo/scripts/ensure-packages.sh" debootstrap
  mirror="$("$repo/scripts/debian-mirror.sh")"
  mkdir -p "$work"; rm -rf "$root"
  echo "debootstrap bookworm for the package tests, once (about two minutes)..." >&2
  debootstrap --variant=minbase --include=systemd bookworm "$root" "$mirror" >"$work/debian12-root.log" 2>&1 ||
    { echo "debootstrap failed; see $work/debian12-root.log" >&2; tail -n 20 "$work/debian12-root.log" >&2; exit 1; }
  printf 'deb %s bookworm main\ndeb %s-security bookworm-security main\n' "$mirror" "${mirror%/debian}/debian-security" \
    >"$root/etc/apt/sources.list"
  # The package lists, so that the test's `apt install ./stacksnap_*.deb` downloads only
  # the packages (test-deb.sh runs apt-get update itself when these went stale).
  chroot "$root" apt-get update -q >>"$work/debian12-root.log" 2>&1 ||
    { echo "apt-get update in the Debian 12 root failed; see $work/debian12-root.log" >&2; exit 1; }
  rm -f "$root/var/cache/apt/archives"/*.deb
  touch "$root/.complete"
fi
tar -C "$root" --exclude=./.complete -c . |
  docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "$image"
