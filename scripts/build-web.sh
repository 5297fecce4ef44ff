#!/usr/bin/env bash
# Builds the dashboard (web/) into web/dist when its sources changed. The stacksnap
# binary embeds web/dist at build time. Installs npm packages from the lockfile.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
web="$root/web"
[[ -f "$web/package.json" ]] || exit 0
"$root/scripts/deps.sh" build
command -v npm >/dev/null || "$root/scripts/ensure-packages.sh" nodejs npm
stamp="$web/dist/.source-hash"
hash="$(cd "$web" && find src public index.html package.json package-lock.json vite.config.* tsconfig*.json \
        tailwind.config.* postcss.config.* -type f 2>/dev/null | sort | xargs sha256sum | sha256sum | cut -c1-16)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then exit 0; fi
cd "$web"
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "installing dashboard npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
echo "building dashboard" >&2
npm run -s build >/tmp/stacksnap-web-build.log 2>&1 || { cat /tmp/stacksnap-web-build.log >&2; exit 1; }
echo "$hash" >"$stamp"
