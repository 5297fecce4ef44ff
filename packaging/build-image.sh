#!/usr/bin/env bash
# Builds StackSnap's container image without a registry (make package calls it, after
# build-deb.sh):
#   packaging/build-image.sh OUT_DIR
# → image stacksnap:<version> (and stacksnap:latest) in the local Docker Engine, and
#   OUT_DIR/stacksnap-image_<version>_<arch>.tar.zst (`docker load -i` it elsewhere).
#
# The root holds only what runs: the packaged binary (OUT_DIR/stage/stacksnap), Compose v2
# (Debian 13's docker-compose package, the version scripts/install-docker.sh pins, run as
# `docker-compose`), tini as PID 1, the shared libraries both link (this Debian 12 host's,
# the ones the binary was built and tested against), CA certificates, time zones, and the
# copyright files of the Debian packages all of these come from. No shell, no package
# manager. `docker import` makes it one layer.
#
# Run it with the Engine's socket and the data dir, and the Compose projects' working dirs
# at the same paths as on the host (README, "Install"; `stacksnap doctor` checks them):
#   docker run -d --name stacksnap --network host -v /var/run/docker.sock:/var/run/docker.sock \
#     -v /var/lib/stacksnap:/var/lib/stacksnap -v /srv:/srv stacksnap:<version>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$(realpath "$1")"
stage="$out/stage/stacksnap"
bin="$stage/usr/bin/stacksnap"
[[ -x "$bin" ]] || { echo "build-image.sh: no packaged binary in $stage (run build-deb.sh first)" >&2; exit 1; }
# Compose v2 from its Debian package, kept across checkouts and `make clean` with the
# other downloaded fixtures ($STACKSNAP_FIXTURE_WORK, default /var/cache/stacksnap-fixtures).
compose_version="$(sed -n 's/^COMPOSE_V2_VERSION="\(.*\)"$/\1/p' "$here/../scripts/install-docker.sh")"
[[ -n "$compose_version" ]] || { echo "build-image.sh: no COMPOSE_V2_VERSION in scripts/install-docker.sh" >&2; exit 1; }
cache="${STACKSNAP_FIXTURE_WORK:-/var/cache/stacksnap-fixtures}/image-compose"; install -d "$cache"
compose_deb="$(ls "$cache"/docker-compose_"${compose_version//:/%3a}"_*.deb 2>/dev/null | head -n 1 || true)"
if [[ -z "$compose_deb" ]]; then
  (cd "$cache" && apt-get download -q "docker-compose=$compose_version" >"$cache/download.log" 2>&1) ||
    { echo "build-image.sh: apt-get download docker-compose=$compose_version failed (scripts/install-docker.sh adds" \
           "Debian 13 to apt):" >&2; tail -n 5 "$cache/download.log" >&2; exit 1; }
  compose_deb="$(ls "$cache"/docker-compose_"${compose_version//:/%3a}"_*.deb | head -n 1)"
fi
unpacked="$out/compose"
rm -rf "$unpacked"; dpkg-deb -x "$compose_deb" "$unpacked"
compose="$unpacked/usr/libexec/docker/cli-plugins/docker-compose"
"$compose" version 2>/dev/null | grep -q 'version v\?2\.' || { echo "build-image.sh: $compose_deb has no Compose v2" >&2; exit 1; }
tini=/usr/bin/tini-static
[[ -x "$tini" ]] || { echo "build-image.sh: $tini is missing (Debian package tini)" >&2; exit 1; }

line="$("$bin" --version)"
[[ "$line" =~ ^stacksnap\ ([^ ]+)\ \(commit\ ([^,]+),\ built\ ([^\)]+)\)$ ]] || { echo "unexpected: $line" >&2; exit 1; }
version="${BASH_REMATCH[1]}"; commit="${BASH_REMATCH[2]}"; built="${BASH_REMATCH[3]}"
arch="$(dpkg --print-architecture)"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"

root="$out/image-root"
rm -rf "$root"
umask 022
# Debian 12's merged /usr layout.
install -d "$root/usr/bin" "$root/usr/lib/$multiarch" "$root/usr/lib64" "$root/etc/ssl/certs" \
  "$root/usr/share/doc" "$root/usr/libexec/docker/cli-plugins" "$root/usr/share"
ln -s usr/bin "$root/bin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"; ln -s usr/bin "$root/sbin"
install -d -m 1777 "$root/tmp"
install -d -m 0700 "$root/root" "$root/var/lib/stacksnap"

install -m 0755 "$bin" "$root/usr/bin/stacksnap"
install -m 0755 "$compose" "$root/usr/libexec/docker/cli-plugins/docker-compose"
ln -s ../libexec/docker/cli-plugins/docker-compose "$root/usr/bin/docker-compose"
install -m 0755 "$tini" "$root/usr/bin/tini"

# The shared libraries, each under its soname, and the dynamic loader.
libs="$( (ldd "$bin"; ldd "$compose") | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)"
for lib in $libs; do
  name="$(basename "$lib")"
  if [[ "$name" == ld-linux-* ]]; then
    install -m 0755 "$(realpath "$lib")" "$root/usr/lib/$multiarch/$name"
    ln -sf "../lib/$multiarch/$name" "$root/usr/lib64/$name"
  else
    install -m 0644 "$(realpath "$lib")" "$root/usr/lib/$multiarch/$name"
  fi
done
printf '/usr/lib/%s\n' "$multiarch" >"$root/etc/ld.so.conf"
ldconfig -r "$root"

cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cp -a /usr/share/zoneinfo "$root/usr/share/zoneinfo"
rm -rf "$root/usr/share/zoneinfo/right"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"

# Provenance and licenses: the Debian package of every file taken from this host.
install -d "$root/usr/share/doc/stacksnap"
cp -a "$stage/usr/share/doc/stacksnap/." "$root/usr/share/doc/stacksnap/"
# (ca-certificates.crt is generated by the ca-certificates package; no package owns it.)
packages="$( (for f in $libs "$tini" /usr/share/zoneinfo/UTC; do
  dpkg -S "$(realpath "$f")" 2>/dev/null || dpkg -S "$f"; done | cut -d: -f1 | sed 's/,.*//'; echo ca-certificates) | sort -u)"
{
  echo "# The Debian packages the files of this image come from (package version)."
  for p in $packages; do dpkg-query -W -f='${Package} ${Version}\n' "$p"; done
  echo "docker-compose $compose_version (Debian 13)"
} >"$root/usr/share/doc/stacksnap/image-packages.txt"
for p in $packages; do
  if [[ -f "/usr/share/doc/$p/copyright" ]]; then
    install -D -m 0644 "/usr/share/doc/$p/copyright" "$root/usr/share/doc/$p/copyright"
  fi
done
install -D -m 0644 "$unpacked/usr/share/doc/docker-compose/copyright" "$root/usr/share/doc/docker-compose/copyright"

# The binaries start in the root as they will in the container.
chroot "$root" /usr/bin/stacksnap --version >/dev/null
chroot "$root" /usr/bin/docker-compose version >/dev/null

image="stacksnap:$version"
previous="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
tar -C "$root" --numeric-owner --owner=0 --group=0 -c . | docker import \
  --change 'ENV PATH=/usr/bin' --change 'ENV LANG=C.UTF-8' --change 'ENV HOME=/root' \
  --change 'ENV STACKSNAP_DATA_DIR=/var/lib/stacksnap' \
  --change 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/stacksnap"]' \
  --change 'CMD ["serve"]' \
  --change "LABEL org.opencontainers.image.title=stacksnap org.opencontainers.image.version=$version org.opencontainers.image.revision=$commit org.opencontainers.image.created=$built" \
  - "$image" >/dev/null
docker tag "$image" stacksnap:latest
# The image this build replaced, unless a container still uses it (a rebuild leaves no
# untagged 136 MB image behind).
if [[ -n "$previous" && "$previous" != "$(docker image inspect -f '{{.Id}}' "$image")" ]]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
rm -f "$out"/stacksnap-image_*.tar.zst
docker save "$image" | zstd -q -T2 -o "$out/stacksnap-image_${version}_${arch}.tar.zst"
size="$(docker image inspect -f '{{.Size}}' "$image")"
echo "image $image: $((size / 1000000)) MB ($(du -h "$out/stacksnap-image_${version}_${arch}.tar.zst" | cut -f1) as $out/stacksnap-image_${version}_${arch}.tar.zst)"
