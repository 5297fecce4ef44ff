#!/usr/bin/env bash
# Builds the Debian packages from a built `stacksnap` (make package calls it):
#   packaging/build-deb.sh BUILD_DIR OUT_DIR
# → OUT_DIR/stacksnap_<version>_<arch>.deb         stripped binary, systemd unit, docs
#   OUT_DIR/stacksnap-dbgsym_<version>_<arch>.deb  its debug symbols, by build ID
#   OUT_DIR/stage/stacksnap/                       the package's tree (the image uses it)
#   OUT_DIR/lintian.txt                            lintian's report (the build fails on
#                                                  any error or warning not overridden in
#                                                  packaging/deb/lintian-overrides)
# Version, commit and date come from the binary (`stacksnap --version`); the date is also
# the packages' SOURCE_DATE_EPOCH, so the same commit gives the same packages.
# Needs dpkg-dev (dpkg-shlibdeps), binutils, lintian, node (the dashboard's licenses).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
build="$(realpath "$1")"; out="$(realpath -m "$2")"
bin="$build/stacksnap"
[[ -x "$bin" ]] || { echo "build-deb.sh: no binary at $bin (build it first: make package)" >&2; exit 1; }
maintainer="StackSnap maintainers <maintainers@users.noreply.b-seed-3c5f4817.example>"

# "stacksnap 0.1.0 (commit 1a2b3c4d5e6f, built 2026-12-06T20:24:00Z)"
line="$("$bin" --version)"
[[ "$line" =~ ^stacksnap\ ([0-9][0-9A-Za-z.+~-]*)\ \(commit\ ([^,]+),\ built\ ([^\)]+)\)$ ]] ||
  { echo "build-deb.sh: unexpected --version output: $line" >&2; exit 1; }
version="${BASH_REMATCH[1]}"; commit="${BASH_REMATCH[2]}"; built="${BASH_REMATCH[3]}"
[[ "$commit" == *-dirty ]] && echo "build-deb.sh: note: the binary was built from uncommitted changes ($commit)" >&2
arch="$(dpkg --print-architecture)"
if [[ "$built" != unknown ]]; then export SOURCE_DATE_EPOCH="$(date -u -d "$built" +%s)"; fi
changelog_date="$(date -u -R -d "@${SOURCE_DATE_EPOCH:-0}")"

umask 022
stage="$out/stage/stacksnap"; dbg="$out/stage/stacksnap-dbgsym"
rm -rf "$out/stage"; mkdir -p "$out"
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/default" \
  "$stage/usr/share/doc/stacksnap" "$stage/usr/share/man/man1" "$stage/usr/share/lintian/overrides" \
  "$dbg/DEBIAN" "$dbg/usr/share/doc"

# The binary without its debug information, which goes by build ID into the dbgsym package
# (as dh_strip does it).
build_id="$(readelf -n "$bin" | awk '/Build ID:/{print $3; exit}')"
[[ "$build_id" =~ ^[0-9a-f]{40}$ ]] || { echo "build-deb.sh: $bin has no GNU build ID" >&2; exit 1; }
debug="$dbg/usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug"
install -d "$(dirname "$debug")"
objcopy --only-keep-debug --compress-debug-sections=zlib "$bin" "$debug"
chmod 0644 "$debug"
strip --remove-section=.comment --remove-section=.note -o "$stage/usr/bin/stacksnap" "$bin"
chmod 0755 "$stage/usr/bin/stacksnap"

install -m 0644 "$here/stacksnap.service" "$stage/lib/systemd/system/stacksnap.service"
install -m 0644 "$here/default" "$stage/etc/default/stacksnap"
install -m 0644 "$here/deb/README.Debian" "$stage/usr/share/doc/stacksnap/README.Debian"
install -m 0644 "$here/deb/lintian-overrides" "$stage/usr/share/lintian/overrides/stacksnap"
sed -e "s/@VERSION@/$version/" -e "s/@COMMIT@/$commit/" -e "s/@MAINTAINER@/$maintainer/" \
    -e "s/@DATE@/$changelog_date/" "$here/deb/changelog.in" | gzip -9n >"$stage/usr/share/doc/stacksnap/changelog.gz"
gzip -9n <"$here/stacksnap.1" >"$stage/usr/share/man/man1/stacksnap.1.gz"
# The dashboard's runtime packages (npm's view: what the bundle may embed; a package's
# CLI-only dependencies are listed too): each must be MIT or ISC, the two licenses the
# copyright file carries.
packages="$(cd "$repo/web" && npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 |
  while read -r dir; do node -e 'const p=require(process.argv[1]+"/package.json"); console.log(p.name+" "+p.version+" "+p.license)' "$dir"; done | sort -u)"
[[ -n "$packages" ]] || { echo "build-deb.sh: cannot list the dashboard's packages (run scripts/build-web.sh)" >&2; exit 1; }
if grep -qvE ' (MIT|ISC)$' <<<"$packages"; then
  echo "build-deb.sh: dashboard packages under a license packaging/deb/copyright.in does not carry:" >&2
  grep -vE ' (MIT|ISC)$' <<<"$packages" >&2; exit 1
fi
list_of() { awk -v lic="$1" '$3 == lic {printf "%s%s %s", (n++ ? ", " : ""), $1, $2} END {if (!n) printf "(none)"}' <<<"$packages"; }
sed -e "s|@DASHBOARD_PACKAGES@|$(list_of MIT)|" -e "s|@DASHBOARD_ISC_PACKAGES@|$(list_of ISC)|" \
  "$here/deb/copyright.in" >"$stage/usr/share/doc/stacksnap/copyright"
chmod 0644 "$stage/usr/share/doc/stacksnap/copyright"
ln -s stacksnap "$dbg/usr/share/doc/stacksnap-dbgsym"

# Depends: the libraries the binary links, as dpkg-shlibdeps finds them (it wants a
# debian/control to read), plus what it opens at run time.
shlib="$out/stage/shlibdeps"
install -d "$shlib/debian"
printf 'Source: stacksnap\nMaintainer: %s\n\nPackage: stacksnap\nArchitecture: any\nDescription: x\n' \
  "$maintainer" >"$shlib/debian/control"
depends="$(cd "$shlib" && dpkg-shlibdeps -O -e "$stage/usr/bin/stacksnap" 2>"$out/stage/shlibdeps.log" |
  sed -n 's/^shlibs:Depends=//p')"
[[ -n "$depends" ]] || { echo "build-deb.sh: dpkg-shlibdeps failed:" >&2; cat "$out/stage/shlibdeps.log" >&2; exit 1; }

for s in postinst prerm postrm; do install -m 0755 "$here/deb/$s" "$stage/DEBIAN/$s"; done
echo /etc/default/stacksnap >"$stage/DEBIAN/conffiles"
cat >"$stage/DEBIAN/control" <<EOF
Package: stacksnap
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $depends, tzdata
Recommends: ca-certificates, docker.io | docker-ce, docker-compose-plugin | docker-compose-v2 | docker-compose
Section: admin
Priority: optional
Description: consistent, encrypted backups of Docker Compose stacks
 StackSnap finds Compose projects on a Docker Engine by their labels, dumps
 each database inside its own container, captures volumes, bind mounts and
 compose files, and writes one archive per backup (tar, zstd, AES-256-GCM) to
 local or S3-compatible storage. Restores bring a project back as a running
 stack; drills restore into a sandbox, check it and tear it down.
 .
 This package runs the server (REST API and dashboard) as the systemd service
 stacksnap.service on 127.0.0.1:8080, and keeps its catalog and key in
 /var/lib/stacksnap, which upgrades and purges leave in place.
EOF
cat >"$dbg/DEBIAN/control" <<EOF
Package: stacksnap-dbgsym
Source: stacksnap
Version: $version
Auto-Built-Package: debug-symbols
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$dbg" | cut -f1)
Depends: stacksnap (= $version)
Section: debug
Priority: optional
Description: debug symbols for stacksnap
Build-Ids: $build_id
EOF
for root in "$stage" "$dbg"; do
  (cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums)
done

deb="$out/stacksnap_${version}_${arch}.deb"
dbgdeb="$out/stacksnap-dbgsym_${version}_${arch}.deb"
rm -f "$out"/stacksnap_*.deb "$out"/stacksnap-dbgsym_*.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
# The debug file is compressed already (zlib sections): a second compression buys little.
dpkg-deb --root-owner-group -Zgzip -z1 --build "$dbg" "$dbgdeb" >/dev/null

# lintian: errors and warnings fail the build; what remains is explained in
# packaging/deb/lintian-overrides (installed with the package).
if ! lintian --fail-on error,warning --display-info "$deb" "$dbgdeb" >"$out/lintian.txt" 2>&1; then
  echo "build-deb.sh: lintian found problems:" >&2; cat "$out/lintian.txt" >&2; exit 1
fi
echo "$deb ($(du -h "$deb" | cut -f1); binary $(du -h "$stage/usr/bin/stacksnap" | cut -f1)), $dbgdeb ($(du -h "$dbgdeb" | cut -f1))"
