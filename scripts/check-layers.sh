#!/usr/bin/env bash
# The include rule of docs/adr/0006-layers.md: a folder of src/ may include only the
# folders listed for it below (its own always). Prints every include that breaks it and
# exits 1; quiet and 0 when the code follows the rule. Run by `make test`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/src"

declare -A allowed=(
  [base]=""
  [seal]="base"
  [codec]="base"
  [docker]="base"
  [catalog]="base"
  [storage]="base"
  [notify]="base"
  [schedule]="base"
  [webui]=""
  [job]="base catalog"
  [archive]="base codec seal"
  [chunks]="base codec seal storage"
  [stack]="base docker"
  [sqlite]="base seal"
  [dbengine]="archive base docker job"
  [repo]="base archive catalog chunks seal storage"
  [retention]="base catalog"
  [backup]="base archive catalog chunks codec docker dbengine job repo seal sqlite stack storage"
  [restore]="base archive catalog chunks codec docker dbengine job repo seal sqlite stack storage"
  [app]="base archive backup catalog chunks codec docker dbengine job notify repo restore retention schedule seal sqlite stack storage"
  [http]="app base archive backup catalog chunks codec docker dbengine job notify repo restore retention schedule seal sqlite stack storage webui"
  [cli]="app base archive backup catalog chunks codec docker dbengine http job notify repo restore retention schedule seal sqlite stack storage webui"
)

status=0
for dir in */; do
  folder="${dir%/}"
  if [[ -z "${allowed[$folder]+set}" ]]; then
    echo "src/$folder/: a folder the layer rule does not know; add it to scripts/check-layers.sh and docs/adr/0006-layers.md"
    status=1
    continue
  fi
  while IFS= read -r hit; do
    file="${hit%%:*}"
    target="$(sed -E 's/.*#include "([a-z_0-9]+)\/.*/\1/' <<<"$hit")"
    [[ "$target" == "$folder" ]] && continue
    if [[ " ${allowed[$folder]} " != *" $target "* ]]; then
      echo "src/$file: $folder/ may not include $target/ (${hit#*:})"
      status=1
    fi
  done < <(grep -rnE '^#include "[a-z_0-9]+/' "$folder" | sed -E 's/^([^:]+):[0-9]+:/\1:/' || true)
done
main_includes="$(grep -E '^#include "' main.cpp | grep -v '"cli/' || true)"
if [[ -n "$main_includes" ]]; then echo "src/main.cpp: includes beyond cli/: $main_includes"; status=1; fi
if [[ $status -ne 0 ]]; then
  echo "layer rule broken (docs/adr/0006-layers.md)"
fi
exit $status
