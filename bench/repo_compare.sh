#!/usr/bin/env bash
# Repository format v2 (issue 19) against restic 0.14 and borg 1.2 on the same data in the
# same run, and against today's v1 path (a full sealed archive per backup):
#
#   stacksnap snapshot DIR --repo R   (the directory read into a v2 snapshot as a backup reads a
#                                     volume on the Engine's host: files cache from the previous
#                                     snapshot, new packs read back before the commit)
#   restic backup (repo v2: zstd auto, AES-256 + Poly1305), borg create (repokey-blake2, zstd,3)
#   stacksnap pack DIR + stacksnap verify FILE (v1: today's full backup archives, then deep-verifies
#                                     before it succeeds) / stacksnap extract (today's restore)
#
# On the 1 GiB mixed corpus of bench/archive_pipeline.sh (its make_corpus; the copy that
# script keeps in /tmp/stacksnap-archive-bench is reused when present): first backup (time,
# repository size), a backup after a ~1 % change (parts of 2 random files rewritten,
# 4 KiB files replaced, halves of 2 SQL dumps rewritten, a log appended), an unchanged
# re-backup (time, bytes added), a restore of the latest backup, peak RSS of each
# (/usr/bin/time %M). Then 30 daily backups with a 1 % change each on a 256 MiB subset of
# the corpus: final repository sizes. One run each (single timings); page cache warm for all.
#
# Run by `make bench` (scripts/bench.sh runs every bench/*.sh; scripts/deps.sh bench
# installs restic and borgbackup). Results: docs/BENCHMARKS.md. About 5 min on 2 cores.
#
# Usage: bench/repo_compare.sh [BUILD_DIR]
#   REPO_BENCH_DIR=/path   scratch (default /var/tmp/stacksnap-repo-bench; removed at the end)
#   REPO_BENCH_DAYS=N      daily backups (default 30; 0 skips them)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
bin="$build/stacksnap"
[[ -x "$bin" ]] || { echo "repo_compare: $bin not built" >&2; exit 1; }
for t in restic borg /usr/bin/time openssl perl; do
  command -v "$t" >/dev/null || { echo "repo_compare: needs $t (scripts/deps.sh bench)" >&2; exit 1; }
done
work="${REPO_BENCH_DIR:-/var/tmp/stacksnap-repo-bench}"
days="${REPO_BENCH_DAYS:-30}"
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
export RESTIC_PASSWORD=stacksnap-bench RESTIC_CACHE_DIR="$work/restic-cache"
export BORG_PASSPHRASE=stacksnap-bench BORG_BASE_DIR="$work/borg-home" BORG_DISPLAY_PASSPHRASE=no
"$bin" --data-dir "$work/data" key init >/dev/null
ss=("$bin" --data-dir "$work/data")

# ---- the corpus: the 1 GiB mixed one of archive_pipeline.sh --------------------------------
corpus="$work/corpus"
kept="${ARCHIVE_BENCH_DIR:-/tmp/stacksnap-archive-bench}/corpus-1g"
if [[ -d "$kept" ]]; then
  cp -a "$kept" "$corpus"
else
  eval "$(sed -n '/^make_corpus() {$/,/^}$/p' "$root/bench/archive_pipeline.sh")"
  declare -F make_corpus >/dev/null || { echo "repo_compare: make_corpus not found in archive_pipeline.sh" >&2; exit 1; }
  echo "== generating the 1 GiB mixed corpus"
  make_corpus "$corpus"
fi
bytes_of() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
files_of() { find "$1" -type f | wc -l; }
echo "== corpus: $(bytes_of "$corpus") bytes in $(files_of "$corpus") files; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- a ~1 % change, the same for a given (dir, day) ------------------------------------------
keystream() { head -c "$1" /dev/zero | openssl enc -aes-128-ctr -nosalt -pass "pass:$2" 2>/dev/null; }
text_of() {  # N SEED: log-like text
  perl -e 'my ($n, $seed) = @ARGV; srand($seed); my @w = qw(INFO WARN ERROR GET POST /api/v1/orders user
    latency_ms status shipped pending UPDATE orders SET total WHERE id); my $s = "";
    while (length($s) < $n) { $s .= "2026-12-07T08:" . int(rand(60)) . " " . join(" ", map { $w[int(rand(@w))] } 1..8)
      . " " . int(rand(1e9)) . "\n"; } print substr($s, 0, $n);' "$1" "$2"
}
patch_file() {  # FILE OFFSET < bytes
  dd of="$1" bs=64K seek="$2" oflag=seek_bytes conv=notrunc status=none
}
mutate() {  # DIR DAY
  local dir="$1" day="$2" budget f size len off k n i
  budget=$(($(bytes_of "$dir") / 100))
  local -a big tiny logs sql
  mapfile -t big < <(find "$dir/random" -maxdepth 1 -type f -size +1M | sort)
  mapfile -t tiny < <(find "$dir/random/tiny" -type f | sort)
  mapfile -t logs < <(find "$dir/text" -maxdepth 1 -name 'log-*.txt' | sort)
  mapfile -t sql < <(find "$dir/text/many" -type f | sort)
  for k in 0 1; do  # a third: the middle parts of two random files rewritten
    f="${big[$(((day * 2 + k) % ${#big[@]}))]}"; size=$(stat -c %s "$f"); len=$((budget / 6))
    off=$(((day * 7919 + k * 104729) * 4096 % (size - len)))
    keystream "$len" "day-$day-$k" | patch_file "$f" "$off"
    budget=$((budget - len))
  done
  n=$((budget / 3 / 4096))  # 4 KiB files replaced
  for ((i = 0; i < n; i++)); do keystream 4096 "tiny-$day-$i" > "${tiny[$(((day * n + i) % ${#tiny[@]}))]}"; done
  budget=$((budget - n * 4096))
  for k in 0 1; do  # the middle halves of two SQL dumps rewritten
    f="${sql[$(((day * 13 + k * 7) % ${#sql[@]}))]}"; size=$(stat -c %s "$f")
    text_of $((size / 2)) $((day * 2 + k)) | patch_file "$f" $((size / 4))
    budget=$((budget - size / 2))
  done
  (( budget > 0 )) && text_of "$budget" $((day + 1000)) >> "${logs[0]}"  # the rest: the log appended
  return 0
}

# ---- measuring -------------------------------------------------------------------------------
# measure NAME DIR CMD...: runs CMD in DIR; T (s) and RSS (KiB) set, its stdout in $work/NAME.out
measure() {
  local name="$1" dir="$2"; shift 2
  # Nothing dirty before a run (untimed): otherwise the writeback of the corpus just copied,
  # or of the restore before, lands on whichever tool runs next (1 GiB written back during
  # the next restore made it up to 1.4x slower, whichever tool it was).
  sync
  if ! /usr/bin/time -f "%e %M" -o "$work/time.out" env -C "$dir" "$@" >"$work/$name.out" 2>"$work/$name.err"; then
    echo "repo_compare: $name failed: $*" >&2; tail -n 20 "$work/$name.err" >&2; exit 1
  fi
  read -r T RSS < "$work/time.out"
}
size_of() { du -sb "$1" | cut -f1; }
mib() { awk "BEGIN{printf \"%.1f\", $1 / 1048576}"; }
json_field() { sed -E "s/.*\"$2\":\"?([^,\"}]*).*/\1/" "$work/$1.out"; }

declare -A t rss added size
borg_init() {
  borg init --encryption=repokey-blake2 "$brepo" >"$work/borg-init.log" 2>&1 || { cat "$work/borg-init.log" >&2; exit 1; }
}
ssrepo="$work/ss-repo" rrepo="$work/restic-repo" brepo="$work/borg-repo"
restic -r "$rrepo" init --repository-version 2 -q >/dev/null
borg_init

backup_all() {  # STEP: one backup by each tool of the corpus as it is now
  local step="$1" before
  measure "v1-$step" "$work" "${ss[@]}" pack "$corpus" --out "$work/v1.ssa" --force
  t[v1,$step]=$T rss[v1,$step]=$RSS size[v1,$step]=$(stat -c %s "$work/v1.ssa")
  # A v1 backup is not done at the archive: it deep-verifies it (authenticate, decompress,
  # hash every file) before it uploads or succeeds, as v2 reads back what it stored.
  measure "v1-verify-$step" "$work" "${ss[@]}" verify "$work/v1.ssa"
  t[v1verify,$step]=$T
  t[v1full,$step]=$(awk "BEGIN{print ${t[v1,$step]} + $T}")
  before=$(size_of "$ssrepo" 2>/dev/null || echo 0)
  measure "ss-$step" "$work" "${ss[@]}" snapshot "$corpus" --repo "$ssrepo" --json
  t[ss,$step]=$T rss[ss,$step]=$RSS size[ss,$step]=$(size_of "$ssrepo") added[ss,$step]=$((size[ss,$step] - before))
  ss_snapshot=$(json_field "ss-$step" snapshot)
  echo "   stacksnap $step: $(cat "$work/ss-$step.out")"
  before=$(size_of "$rrepo")
  measure "restic-$step" "$work" restic -r "$rrepo" backup -q --host bench "$corpus"
  t[restic,$step]=$T rss[restic,$step]=$RSS size[restic,$step]=$(size_of "$rrepo") added[restic,$step]=$((size[restic,$step] - before))
  before=$(size_of "$brepo")
  measure "borg-$step" "$corpus" borg create --compression zstd,3 "$brepo::$step" .
  t[borg,$step]=$T rss[borg,$step]=$RSS size[borg,$step]=$(size_of "$brepo") added[borg,$step]=$((size[borg,$step] - before))
  borg_archive=$step
}

# The first backup alone, three alternating runs of each (v2 into a new repository each
# time; v1 pack + verify): one run of either varied by up to 1.4x from run to run here.
echo "== first backup: v2 against v1 (pack + verify), 3 alternating runs"
first_v2=() first_v1=()
for i in 1 2 3; do
  rm -rf "$work/scratch-repo"
  measure scratch-v2 "$work" "${ss[@]}" snapshot "$corpus" --repo "$work/scratch-repo" --json
  first_v2+=("$T")
  measure scratch-v1 "$work" "${ss[@]}" pack "$corpus" --out "$work/scratch.ssa" --force
  v1t=$T
  measure scratch-v1v "$work" "${ss[@]}" verify "$work/scratch.ssa"
  first_v1+=("$(awk "BEGIN{print $v1t + $T}")")
done
rm -rf "$work/scratch-repo" "$work/scratch.ssa" "$work/scratch.ssa.sha256"
min_of() { printf '%s\n' "$@" | sort -g | head -1; }
echo "   v2: ${first_v2[*]} s; v1 pack + verify: ${first_v1[*]} s"

echo "== first backup"
backup_all first
echo "== backup after a 1 % change"
mutate "$corpus" 1
backup_all change
echo "== unchanged re-backup"
backup_all unchanged

echo "== restore of the latest backup"
want="$(bytes_of "$corpus") bytes in $(files_of "$corpus") files"
check_restore() {  # TOOL DIR
  local got; got="$(bytes_of "$2") bytes in $(files_of "$2") files"
  [[ "$got" == "$want" ]] || { echo "repo_compare: $1 restored $got, expected $want" >&2; exit 1; }
}
# Each tool restores into a directory of its own, all removed only after the last: ext4
# gives a directory created right after 5386 files were deleted the deleted inodes' block
# groups (`recently_deleted` took 60 % of a restore measured that way: the tool that came
# second was up to 2.5x slower, whichever it was).
measure v1-restore "$work" "${ss[@]}" extract "$work/v1.ssa" --out "$work/out-v1"
t[v1,restore]=$T rss[v1,restore]=$RSS; check_restore v1 "$work/out-v1/binds/0"
measure ss-restore "$work" "${ss[@]}" snapshot-restore "$ssrepo" "$ss_snapshot" --out "$work/out-ss" --json
t[ss,restore]=$T rss[ss,restore]=$RSS; check_restore stacksnap "$work/out-ss/binds/0"
measure restic-restore "$work" restic -r "$rrepo" restore latest -q --target "$work/out-restic"
t[restic,restore]=$T rss[restic,restore]=$RSS; check_restore restic "$work/out-restic$corpus"
mkdir -p "$work/out-borg"
measure borg-restore "$work/out-borg" borg extract "$brepo::$borg_archive"
t[borg,restore]=$T rss[borg,restore]=$RSS; check_restore borg "$work/out-borg"
rm -rf "$work"/out-*
rm -f "$work/v1.ssa" "$work/v1.ssa.sha256"

# ---- 30 daily backups on a 256 MiB subset ---------------------------------------------------
if (( days > 0 )); then
  echo "== $days daily backups, 1 % change each, 256 MiB subset"
  small="$work/small"
  mkdir -p "$small/random" "$small/text/many"
  cp -a "$corpus"/random/mid-* "$corpus/random/tiny" "$small/random/"
  cp -a "$corpus/text/log-2.txt" "$corpus/text/log-4.txt" "$corpus/text/log-5.txt" "$small/text/"
  mapfile -t sql < <(find "$corpus/text/many" -type f | sort)
  cp -a -t "$small/text/many" "${sql[@]:0:192}"
  rm -rf "$corpus" "$ssrepo" "$rrepo" "$brepo" "$RESTIC_CACHE_DIR" "$BORG_BASE_DIR"
  small_bytes=$(bytes_of "$small")
  restic -r "$rrepo" init --repository-version 2 -q >/dev/null
  borg_init
  declare -A daily_t=([ss]=0 [restic]=0 [borg]=0)
  for ((d = 1; d <= days; d++)); do
    (( d > 1 )) && mutate "$small" "$d"
    measure ss-day "$work" "${ss[@]}" snapshot "$small" --repo "$ssrepo" --json
    daily_t[ss]=$(awk "BEGIN{print ${daily_t[ss]} + $T}")
    measure restic-day "$work" restic -r "$rrepo" backup -q --host bench "$small"
    daily_t[restic]=$(awk "BEGIN{print ${daily_t[restic]} + $T}")
    measure borg-day "$small" borg create --compression zstd,3 "$brepo::day-$d" .
    daily_t[borg]=$(awk "BEGIN{print ${daily_t[borg]} + $T}")
  done
  final_bytes=$(bytes_of "$small")
fi

# ---- report ----------------------------------------------------------------------------------
echo
echo "1 GiB mixed corpus ($want after the change), one run each; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-38s %-26s %-26s %-26s %-22s\n' "" "stacksnap v2 snapshot" "restic 0.14 (repo v2)" "borg 1.2 (zstd,3)" "stacksnap v1 pack"
cell() { printf '%6.2f s %8s MiB %4d MiB' "${t[$1,$2]}" "$(mib "$3")" $((rss[$1,$2] / 1024)); }
for step in first change unchanged; do
  label="$step backup: time, $([[ $step == first ]] && echo size || echo added), RSS"
  printf '%-38s %-26s %-26s %-26s %-22s\n' "$label" "$(cell ss $step "${added[ss,$step]}")" \
    "$(cell restic $step "${added[restic,$step]}")" "$(cell borg $step "${added[borg,$step]}")" "$(cell v1 $step "${size[v1,$step]}")"
done
printf '%-38s %-26s %-26s %-26s %-22s\n' "restore latest: time, RSS" \
  "$(printf '%6.2f s %13s %4d MiB' "${t[ss,restore]}" "" $((rss[ss,restore] / 1024)))" \
  "$(printf '%6.2f s %13s %4d MiB' "${t[restic,restore]}" "" $((rss[restic,restore] / 1024)))" \
  "$(printf '%6.2f s %13s %4d MiB' "${t[borg,restore]}" "" $((rss[borg,restore] / 1024)))" \
  "$(printf '%6.2f s %13s %4d MiB' "${t[v1,restore]}" "" $((rss[v1,restore] / 1024)))"
for step in first change unchanged; do
  echo "stacksnap $step: $(json_field "ss-$step" unchanged_files) of $(json_field "ss-$step" files) files unchanged (taken unread); uploaded $(json_field "ss-$step" uploaded_bytes) bytes"
done
if (( days > 0 )); then
  echo "$days daily backups of $(mib "$small_bytes") MiB (finally $(mib "$final_bytes") MiB): final repository" \
    "stacksnap $(mib "$(size_of "$ssrepo")") MiB ($(printf '%.0f' "${daily_t[ss]}") s in all)," \
    "restic $(mib "$(size_of "$rrepo")") MiB ($(printf '%.0f' "${daily_t[restic]}") s)," \
    "borg $(mib "$(size_of "$brepo")") MiB ($(printf '%.0f' "${daily_t[borg]}") s)"
fi
echo
verdict() { if awk "BEGIN{exit !($1)}"; then echo "ok  "; else echo "MISS"; fi; }
r() { awk "BEGIN{printf \"%.2f\", $1 / $2}"; }
best_v2=$(min_of "${first_v2[@]}") best_v1=$(min_of "${first_v1[@]}")
echo "$(verdict "$best_v2 <= $best_v1") first backup / today's full backup (v1 pack + its verify), best of 3 = $(r "$best_v2" "$best_v1")× (target <= 1; v2 ${first_v2[*]} s, v1 ${first_v1[*]} s)"
echo "     the same from the single runs of the table = $(r "${t[ss,first]}" "${t[v1full,first]}")× (pack ${t[v1,first]} s + verify ${t[v1verify,first]} s)"
echo "     first backup / v1 pack alone (no verify)   = $(r "${t[ss,first]}" "${t[v1,first]}")×"
echo "$(verdict "${t[ss,first]} < ${t[restic,first]}") first backup / restic                       = $(r "${t[ss,first]}" "${t[restic,first]}")× (target < 1)"
echo "$(verdict "${added[ss,change]} <= 0.03 * ${added[ss,first]}") 1 % change: bytes added / first's         = $(r "${added[ss,change]}" "${added[ss,first]}") (target <= 0.03)"
echo "$(verdict "${t[ss,change]} <= 0.3 * ${t[ss,first]}") 1 % change: time / first's               = $(r "${t[ss,change]}" "${t[ss,first]}")× (target <= 0.3)"
echo "$(verdict "${t[ss,unchanged]} <= 0.1 * ${t[ss,first]}") unchanged: time / first's                = $(r "${t[ss,unchanged]}" "${t[ss,first]}")× (target <= 0.1)"
echo "$(verdict "${added[ss,unchanged]} <= 0.1 * ${added[ss,first]}") unchanged: bytes added / first's         = $(r "${added[ss,unchanged]}" "${added[ss,first]}") (target <= 0.1)"
echo "$(verdict "${t[ss,restore]} <= 1.2 * ${t[v1,restore]}") restore / today's restore (v1 extract)    = $(r "${t[ss,restore]}" "${t[v1,restore]}")× (target <= 1.2)"
