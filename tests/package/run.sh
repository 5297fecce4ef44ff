#!/usr/bin/env bash
# The package test lane (make test-package, called by make test): the .deb on a fresh
# Debian 12 (test-deb.sh), then the container image backing up and restoring the shop
# sample stack against this host's dockerd (test-image.sh).
#   tests/package/run.sh PACKAGE_DIR   (make package's output: build/release/package)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pkgdir="$1"
start=$(date +%s)
for t in test-deb test-image; do
  t0=$(date +%s)
  "$here/$t.sh" "$pkgdir"
  echo "   $t.sh: $(( $(date +%s) - t0 )) s"
done
echo "== package tests passed in $(( $(date +%s) - start )) s"
