#!/usr/bin/env bash
# Restore of a 1 GiB mixed volume (half random, half text) through the whole pipeline
# (issue 5): `stacksnap restore ID --as NEW` (fetch from the local target, authenticate
# and check the whole archive, then create the volume, fill it through the Engine's
# archive endpoint and bring the project up), against the same data through
#   openssl enc -d -aes-256-ctr | zstd -d | docker cp - CONTAINER:/     (target: ours ≤ 1.5×)
# into a fresh volume of a created container. Also stacksnap's peak RSS. BENCH_RUNS (2)
# alternating runs of each; the best of each side is compared. The "data path" is the
# verify and files steps (what the reference does); the whole command also writes the
# copy's compose file and starts its containers.
# Usage: restore_pipeline.sh BUILD_DIR [SIZE_MIB]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
size_mib="${2:-1024}"
bin="$build/stacksnap"
source "$root/bench/tools/bench_lib.sh"
"$root/scripts/ensure-dockerd.sh" >/dev/null
"$root/tests/fixtures/images/build.sh" >/dev/null
work="$(mktemp -d /var/tmp/stacksnap-bench-XXXXXX)"
cleanup() {
  docker rm -f benchrst-ref >/dev/null 2>&1 || true
  docker volume rm benchrst_ref >/dev/null 2>&1 || true
  [[ -f "$work/rst/docker-compose.stacksnap.yml" ]] &&
    docker compose -p benchrst2 -f "$work/rst/docker-compose.stacksnap.yml" down -v >/dev/null 2>&1
  docker compose -p benchrst2 -f "$work/docker-compose.yml" down -v >/dev/null 2>&1 || true
  docker compose -p benchrst -f "$work/docker-compose.yml" down -v >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cid="$(bench_volume_project benchrst "$work")"
bench_fill_volume "$cid" "$size_mib"
data_dir="$work/state"
bench_stacksnap_init "$bin" "$data_dir" "$work/store"
"$bin" --data-dir "$data_dir" backup benchrst --json >"$work/backup.json"
id=$(grep -o '"backup_id":"[^"]*"' "$work/backup.json" | tail -1 | cut -d'"' -f4)
[[ -n "$id" ]] || { echo "restore_pipeline: backup failed" >&2; tail -5 "$work/backup.json" >&2; exit 1; }
key="$(openssl rand -hex 32)"; iv="$(openssl rand -hex 16)"
docker cp "$cid:/data" - | zstd -3 -T0 -q | openssl enc -aes-256-ctr -K "$key" -iv "$iv" > "$work/ref.bin"
sync

# Alternating runs, each starting with no dirty pages (sync, untimed), so that neither side
# pays for the other's writeback; the best run of each side is compared.
runs="${BENCH_RUNS:-2}"
ta_all=(); ts_all=(); data_all=(); rss=0
for run in $(seq 1 "$runs"); do
  echo "== run $run: A) openssl enc -d | zstd -d | docker cp - (into a fresh volume)"
  docker rm -f benchrst-ref >/dev/null 2>&1 || true
  docker volume rm benchrst_ref >/dev/null 2>&1 || true
  docker volume create benchrst_ref >/dev/null
  docker create --name benchrst-ref -v benchrst_ref:/data stacksnap-fixture/app:test sleep infinity >/dev/null
  sync
  ta=$(bench_time sh -c "openssl enc -d -aes-256-ctr -K $key -iv $iv < $work/ref.bin | zstd -d -q | docker cp - benchrst-ref:/")
  n_ref=$(docker run --rm -v benchrst_ref:/data stacksnap-fixture/app:test sh -c 'du -sm /data | cut -f1')
  echo "   ${ta} s (${n_ref} MiB restored)"
  ta_all+=("$ta")

  echo "== run $run: stacksnap restore $id --as benchrst2"
  if [[ -f "$work/rst/docker-compose.stacksnap.yml" ]]; then
    docker compose -p benchrst2 -f "$work/rst/docker-compose.stacksnap.yml" down -v >/dev/null 2>&1 || true
  fi
  rm -rf "$work/rst"
  sync
  /usr/bin/time -v -o "$work/time.txt" "$bin" --data-dir "$data_dir" restore "$id" --as benchrst2 --to "$work/rst" --json >"$work/events.json"
  ts=$(grep -o '"duration_ms":[0-9]*' "$work/events.json" | tail -1 | cut -d: -f2)
  tw=$(grep "Elapsed (wall clock)" "$work/time.txt" | awk '{print $NF}')
  r=$(grep "Maximum resident set size" "$work/time.txt" | awk '{print $NF}')
  (( r > rss )) && rss=$r
  # "<verify + files ms> <step>=<ms> ..." from the job's step events.
  read -r data_ms steps < <(python3 - "$work/events.json" <<'PY'
import json,sys
ev=[json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
done=[e for e in ev if e.get('type')=='step_finished']
print(sum(e['duration_ms'] for e in done if e['step'] in ('verify','files')),
      ' '.join(f"{e['step']}={e['duration_ms']}" for e in done))
PY
)
  n_ours=$(docker run --rm -v benchrst2_data:/data stacksnap-fixture/app:test sh -c 'du -sm /data | cut -f1')
  echo "   wall ${tw}, job ${ts} ms, peak RSS $((r / 1024)) MiB, ${n_ours} MiB restored"
  echo "   steps (ms): $steps"
  [[ "$n_ours" == "$n_ref" ]] || echo "   WARNING: restored sizes differ (ours ${n_ours} MiB, reference ${n_ref} MiB)"
  ts_all+=("$ts"); data_all+=("$data_ms")
done
rm -f "$work/ref.bin"

python3 - "$rss" "${ta_all[*]}" "${ts_all[*]}" "${data_all[*]}" <<'PY'
import sys
rss=int(sys.argv[1])
ta=[float(x) for x in sys.argv[2].split()]
ts=[float(x)/1000 for x in sys.argv[3].split()]
td=[float(x)/1000 for x in sys.argv[4].split()]
print("runs: reference " + " ".join(f"{x:.2f}" for x in ta) + " s; stacksnap " + " ".join(f"{x:.2f}" for x in ts) +
      " s (verify + files: " + " ".join(f"{x:.2f}" for x in td) + " s)")
print(f"RESULT restore={min(ts):.2f}s ref_openssl_zstd_docker_cp={min(ta):.2f}s ratio={min(ts)/min(ta):.2f}x (target <=1.5x) "
      f"data_path={min(td):.2f}s ({min(td)/min(ta):.2f}x) peak_rss={rss/1024:.0f}MiB (best of {len(ta)} each)")
PY
