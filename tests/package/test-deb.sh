#!/usr/bin/env bash
# The .deb on a fresh Debian 12 (tests/package/debian12-root.sh, run under the test
# dockerd; its dependencies come from Debian's archive through apt):
#   install → `stacksnap --version` is the build's, /var/lib/stacksnap is 0700, the unit is
#   enabled and passes `systemd-analyze verify`, the dbgsym package matches the binary;
#   a key is made; a reinstall (an upgrade's maintainer scripts) keeps it; purge removes
#   the program and the unit's enablement but leaves the data dir, as README.Debian says.
#   tests/package/test-deb.sh PACKAGE_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pkgdir="$(realpath "$1")"
deb="$(ls "$pkgdir"/stacksnap_*_amd64.deb)"; dbgsym="$(ls "$pkgdir"/stacksnap-dbgsym_*_amd64.deb)"
expected="$("$pkgdir/stage/stacksnap/usr/bin/stacksnap" --version)"
image="$("$here/debian12-root.sh")"
# Downloaded dependencies are kept between runs.
cache="${STACKSNAP_FIXTURE_WORK:-/var/cache/stacksnap-fixtures}/apt-archives"
mkdir -p "$cache/partial"

# Everything runs in one container (no systemd as PID 1 there: the maintainer scripts then
# enable the unit without starting it). Host networking: apt needs Debian's archive.
script=$(cat <<'EOF'
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
export DEBIAN_FRONTEND=noninteractive
install_pkgs() {
  apt-get install -y -q --no-install-recommends "$@" >/tmp/apt.log 2>&1 && return 0
  apt-get update -q >/tmp/apt-update.log 2>&1 || { tail -n 5 /tmp/apt-update.log >&2; }
  apt-get install -y -q --no-install-recommends "$@" >/tmp/apt.log 2>&1 || { tail -n 30 /tmp/apt.log >&2; return 1; }
}
[[ ! -e /usr/bin/stacksnap && ! -e /var/lib/stacksnap ]] || fail "the root is not fresh"
install_pkgs "/pkg/$DEB" || fail "apt-get install ./$DEB"
ok "apt-get install ./$DEB pulled its dependencies: $(grep -c '^Setting up' /tmp/apt.log) packages set up"
[[ "$(stacksnap --version)" == "$EXPECTED" ]] || fail "stacksnap --version: $(stacksnap --version)"
ok "stacksnap --version: $EXPECTED"
[[ "$(stat -c '%a %U' /var/lib/stacksnap)" == "700 root" ]] || fail "data dir: $(stat -c '%a %U' /var/lib/stacksnap)"
ok "/var/lib/stacksnap is 0700 root"
[[ "$(readlink /etc/systemd/system/multi-user.target.wants/stacksnap.service)" == /lib/systemd/system/stacksnap.service ]] ||
  fail "the unit was not enabled"
ok "stacksnap.service enabled"
out="$(systemd-analyze verify /lib/systemd/system/stacksnap.service 2>&1)" || fail "systemd-analyze verify: $out"
[[ -z "$out" ]] || fail "systemd-analyze verify printed: $out"
ok "systemd-analyze verify stacksnap.service: clean"
grep -q 'apt purge.*leave /var/lib/stacksnap in place' /usr/share/doc/stacksnap/README.Debian ||
  fail "README.Debian does not say that a purge keeps the data dir"
ok "README.Debian says a purge keeps /var/lib/stacksnap"
# (`stacksnap doctor` without a Docker Engine nor Compose: it names what to fix and exits 5.)
set +e; stacksnap doctor >/tmp/doctor.txt 2>&1; rc=$?; set -e
[[ $rc == 5 ]] && grep -q '^  FAIL  engine' /tmp/doctor.txt && grep -q '^  FAIL  compose' /tmp/doctor.txt ||
  { cat /tmp/doctor.txt >&2; fail "doctor without an Engine: exit $rc"; }
ok "stacksnap doctor without an Engine and Compose: exit 5, both named with a fix"

dpkg -i "/pkg/$DBGSYM" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "dpkg -i $DBGSYM"; }
id="$(dpkg-query -W -f='${Build-Ids}' stacksnap-dbgsym)"
[[ -f "/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" ]] || fail "no debug file for build ID $id"
grep -q "$id" <(od -An -tx1 -v /usr/bin/stacksnap | tr -d ' \n') || fail "/usr/bin/stacksnap does not carry build ID $id"
ok "stacksnap-dbgsym holds the debug file of the binary's build ID $id"

stacksnap key init >/dev/null
key_before="$(sha256sum /var/lib/stacksnap/key)"
dpkg -i "/pkg/$DEB" >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log >&2; fail "reinstall"; }
[[ "$(sha256sum /var/lib/stacksnap/key)" == "$key_before" && "$(stat -c %a /var/lib/stacksnap)" == 700 ]] ||
  fail "the reinstall changed the data dir"
ok "reinstalling (preinst/postinst of an upgrade) keeps the key and the data dir's mode"

apt-get purge -y -q stacksnap stacksnap-dbgsym >/tmp/purge.log 2>&1 || { cat /tmp/purge.log >&2; fail "apt-get purge"; }
[[ ! -e /usr/bin/stacksnap && ! -e /lib/systemd/system/stacksnap.service && ! -e /etc/default/stacksnap ]] ||
  fail "purge left package files"
[[ ! -e /etc/systemd/system/multi-user.target.wants/stacksnap.service ]] || fail "purge left the unit enabled"
[[ "$(sha256sum /var/lib/stacksnap/key)" == "$key_before" && -f /var/lib/stacksnap/state.db ]] ||
  fail "purge removed the data dir"
ok "apt-get purge removed the program, its unit and conffile, and left /var/lib/stacksnap (key, state.db)"
EOF
)
docker run --rm --network host -v "$pkgdir:/pkg:ro" -v "$cache:/var/cache/apt/archives" \
  -e DEB="$(basename "$deb")" -e DBGSYM="$(basename "$dbgsym")" -e EXPECTED="$expected" \
  "$image" bash -c "$script"
