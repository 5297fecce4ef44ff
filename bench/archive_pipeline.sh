#!/usr/bin/env bash
# Archive writer and deep verify against the shell reference pipeline (issue 3):
#   tar -c | zstd -3 -T0 | openssl enc -aes-256-ctr      vs  stacksnap pack   (1 GiB mixed corpus)
#   openssl enc -d | zstd -d | tar -x                     vs  stacksnap verify (deep)
# and peak RSS of our writer and verify on a 1 GiB and a 4 GiB corpus (/usr/bin/time -v).
# Targets: writer ≤ 1.3× the reference wall time; verify ≤ the reference decode; RSS ≤ 64 MiB.
#
# Usage: bench/archive_pipeline.sh [BUILD_DIR]
#   ARCHIVE_BENCH_DIR=/path   where the corpora live (default /tmp/stacksnap-archive-bench; kept)
#   ARCHIVE_BENCH_SKIP_4G=1   skip the 4 GiB corpus
#   ARCHIVE_BENCH_RUNS=N      runs per measurement, the best is reported (default 2)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build/release}"
bin="$build/stacksnap"
[[ -x "$bin" ]] || { echo "archive_pipeline: $bin not built" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "archive_pipeline: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
work="${ARCHIVE_BENCH_DIR:-/tmp/stacksnap-archive-bench}"
runs="${ARCHIVE_BENCH_RUNS:-2}"
mkdir -p "$work"
corpus="$work/corpus-1g"
key_hex=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
iv_hex=000102030405060708090a0b0c0d0e0f

# ---- corpus: 512 MiB random + 512 MiB text (compresses ~3:1), files of 4 KiB .. 64 MiB ----
make_corpus() {
  local dir="$1"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/random" "$dir.tmp/text"
  head -c $((512 << 20)) /dev/zero | openssl enc -aes-128-ctr -nosalt -pass pass:stacksnap-bench 2>/dev/null > "$dir.tmp/pool"
  ( cd "$dir.tmp/random" && mkdir tiny &&
    dd if=../pool bs=1M count=256 status=none | split -b $((64 << 20)) - big- &&
    dd if=../pool bs=1M skip=256 count=128 status=none | split -b $((8 << 20)) - mid- &&
    dd if=../pool bs=1M skip=384 count=112 status=none | split -b $((1 << 20)) - small- &&
    dd if=../pool bs=1M skip=496 count=16 status=none | split -a 4 -b 4096 - tiny/t- )
  rm "$dir.tmp/pool"
  # text: words with numbers, like logs and SQL dumps; a 4 MiB block rotated per file so
  # no two files share a window.
  perl -e 'srand(7); my @w = qw(select from where order customer invoice total status shipped pending
      INFO WARN ERROR request id user latency_ms GET POST /api/v1/orders 200 404 500 true false null
      INSERT INTO VALUES 2026-11-25T20:17:30Z shop-db-1 postgres volume backup);
      my $s = ""; while (length($s) < (4 << 20)) { $s .= $w[int(rand(@w))] . (rand() < 0.08 ? "\n" : " ");
      $s .= int(rand(100000)) . " " if rand() < 0.15; } print substr($s, 0, 4 << 20);' > "$dir.tmp/block"
  local i=0 total=0 size
  for size in $((64 << 20)) $((64 << 20)) $((32 << 20)) $((32 << 20)) $((16 << 20)) $((16 << 20)); do
    perl -e 'my ($n, $rot, $f) = @ARGV; open(my $h, "<", $f); local $/; my $b = <$h>;
      my $o = ""; my $r = $rot; while (length($o) < $n) { $o .= substr($b, $r) . substr($b, 0, $r); $r = ($r * 7 + 4099) % length($b); }
      print substr($o, 0, $n);' "$size" $((i * 65537 + 1)) "$dir.tmp/block" > "$dir.tmp/text/log-$i.txt"
    total=$((total + size)); i=$((i + 1))
  done
  mkdir -p "$dir.tmp/text/many"
  while (( total < (512 << 20) )); do
    perl -e 'my ($n, $rot, $f) = @ARGV; open(my $h, "<", $f); local $/; my $b = <$h>; print substr(substr($b, $rot) . $b, 0, $n);' \
      $((256 << 10)) $((i * 4099 % (3 << 20))) "$dir.tmp/block" > "$dir.tmp/text/many/t-$i.sql"
    total=$((total + (256 << 10))); i=$((i + 1))
  done
  rm "$dir.tmp/block"
  mv "$dir.tmp" "$dir"
}

if [[ ! -d "$corpus" ]]; then
  echo "== generating the 1 GiB mixed corpus in $corpus"
  make_corpus "$corpus"
fi
echo "== corpus: $(du -sb "$corpus" | cut -f1) bytes in $(find "$corpus" -type f | wc -l) files"

data="$work/data"
mkdir -p "$data"
[[ -f "$data/key" ]] || "$bin" --data-dir "$data" key init >/dev/null

# best-of-N wall time and peak RSS of a command: prints "seconds rss_kib"
measure() {
  local best_s="" best_rss=0 best_cpu="" s rss u sy
  for ((r = 0; r < runs; r++)); do
    if ! /usr/bin/time -f "%e %M %U %S" -o "$work/time.out" bash -c "$CMD" >/dev/null 2>"$work/cmd.err"; then
      echo "archive_pipeline: command failed: $CMD" >&2; cat "$work/cmd.err" >&2; exit 1
    fi
    read -r s rss u sy < "$work/time.out"
    if [[ -z "$best_s" ]] || awk "BEGIN{exit !($s < $best_s)}"; then best_s=$s; best_cpu=$(awk "BEGIN{print $u + $sy}"); fi
    (( rss > best_rss )) && best_rss=$rss
  done
  echo "$best_s $best_rss $best_cpu"
}
warm() { find "$1" -type f -print0 | xargs -0 cat >/dev/null; }

report=()
row() { report+=("$(printf '%-44s %8s s %8s s %8s MiB' "$1" "$2" "$4" "$(( $3 / 1024 ))")"); }

load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== writer vs reference on 1 GiB"
warm "$corpus"
CMD="tar -cf - -C '$corpus' . | zstd -3 -T0 -q | openssl enc -aes-256-ctr -K $key_hex -iv $iv_hex > '$work/ref.tar.zst.enc'"
read -r ref_s ref_rss ref_cpu < <(measure)
row "reference: tar | zstd -3 -T0 | openssl enc" "$ref_s" "$ref_rss" "$ref_cpu"
CMD="'$bin' --data-dir '$data' pack '$corpus' --out '$work/ours.ssa' --force"
read -r w_s w_rss w_cpu < <(measure)
row "stacksnap pack (tar + zstd-3 + seal)" "$w_s" "$w_rss" "$w_cpu"

echo "== deep verify vs reference decode on 1 GiB"
mkdir -p "$work/x"
CMD="rm -rf '$work/x'/*; openssl enc -d -aes-256-ctr -K $key_hex -iv $iv_hex < '$work/ref.tar.zst.enc' | zstd -d -q | tar -xf - -C '$work/x'"
read -r dx_s dx_rss dx_cpu < <(measure)
row "reference: openssl -d | zstd -d | tar -x" "$dx_s" "$dx_rss" "$dx_cpu"
CMD="openssl enc -d -aes-256-ctr -K $key_hex -iv $iv_hex < '$work/ref.tar.zst.enc' | zstd -d -q | tar -tf - >/dev/null"
read -r dt_s dt_rss dt_cpu < <(measure)
row "reference: openssl -d | zstd -d | tar -t" "$dt_s" "$dt_rss" "$dt_cpu"
rm -rf "$work/x"
CMD="'$bin' --data-dir '$data' verify '$work/ours.ssa'"
read -r v_s v_rss v_cpu < <(measure)
row "stacksnap verify (deep)" "$v_s" "$v_rss" "$v_cpu"

if [[ "${ARCHIVE_BENCH_SKIP_4G:-0}" != 1 ]]; then
  corpus4="$work/corpus-4g"
  if [[ ! -d "$corpus4" ]]; then
    echo "== building the 4 GiB corpus (4 copies of the 1 GiB one)"
    mkdir -p "$corpus4.tmp"
    for c in 0 1 2 3; do cp -a "$corpus" "$corpus4.tmp/copy-$c"; done
    mv "$corpus4.tmp" "$corpus4"
  fi
  echo "== peak RSS on 4 GiB"
  runs_saved=$runs; runs=1
  CMD="'$bin' --data-dir '$data' pack '$corpus4' --out '$work/ours4.ssa' --force"
  read -r w4_s w4_rss w4_cpu < <(measure)
  row "stacksnap pack, 4 GiB" "$w4_s" "$w4_rss" "$w4_cpu"
  CMD="'$bin' --data-dir '$data' verify '$work/ours4.ssa'"
  read -r v4_s v4_rss v4_cpu < <(measure)
  row "stacksnap verify (deep), 4 GiB" "$v4_s" "$v4_rss" "$v4_cpu"
  runs=$runs_saved
  rm -f "$work/ours4.ssa" "$work/ours4.ssa.sha256"
fi

echo
printf '%-44s %10s %10s %12s\n' "1 GiB mixed corpus (best of $runs)" "wall" "user+sys" "peak RSS"
echo "load average before: $load0"
printf '%s\n' "${report[@]}"
ratio_w=$(awk "BEGIN{printf \"%.2f\", $w_s / $ref_s}")
ratio_v=$(awk "BEGIN{printf \"%.2f\", $v_s / $dx_s}")
echo
echo "sizes: reference $(stat -c %s "$work/ref.tar.zst.enc") bytes, ours $(stat -c %s "$work/ours.ssa") bytes"
verdict() { if awk "BEGIN{exit !($1)}"; then echo "ok  "; else echo "MISS"; fi; }
echo "$(verdict "$ratio_w <= 1.3") writer / reference        = $ratio_w (target <= 1.30)"
echo "$(verdict "$ratio_v <= 1.0") deep verify / decode (-x)  = $ratio_v (target <= 1.00)"
echo "$(verdict "$w_rss <= 65536 && $v_rss <= 65536") peak RSS 1 GiB: writer $((w_rss / 1024)) MiB, verify $((v_rss / 1024)) MiB (target <= 64)"
if [[ -n "${w4_rss:-}" ]]; then
  echo "$(verdict "$w4_rss <= 65536 && $v4_rss <= 65536") peak RSS 4 GiB: writer $((w4_rss / 1024)) MiB, verify $((v4_rss / 1024)) MiB (target <= 64, same as 1 GiB)"
fi
rm -f "$work/ref.tar.zst.enc" "$work/ours.ssa" "$work/ours.ssa.sha256"
