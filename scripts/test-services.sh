#!/usr/bin/env bash
# Starts what the integration tests need and that is not running yet:
# the Docker Engine, the fixture images, and (once storage lands) the S3 test server.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/ensure-dockerd.sh"
"$root/tests/fixtures/images/build.sh"
if [[ -x "$root/tests/fixtures/s3/start.sh" ]]; then "$root/tests/fixtures/s3/start.sh"; fi
