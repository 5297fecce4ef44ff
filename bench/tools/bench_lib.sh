# Shared by the pipeline benchmarks: the 1 GiB "mixed" volume (half random, half text).
# bench_fill_volume CONTAINER SIZE_MIB  fills /data of CONTAINER through docker exec.
bench_fill_volume() {
  local cid="$1" size_mib="$2" half=$(( $2 / 2 ))
  echo "filling the volume with ${size_mib} MiB (half random, half text)…"
  docker exec "$cid" sh -c "mkdir -p /data/random /data/text
    for i in \$(seq 1 $((half / 16))); do head -c 16M /dev/urandom > /data/random/r\$i.bin; done
    seq 1 3000000 | sed 's/\$/ lorem ipsum dolor sit amet, consectetur adipiscing elit/' > /tmp/t.txt
    n=0; while [ \$(du -sm /data/text | cut -f1) -lt $half ]; do n=\$((n+1)); cp /tmp/t.txt /data/text/t\$n.txt; done; rm /tmp/t.txt"
  sync
}

# bench_time CMD...  prints the wall time of CMD in seconds.
bench_time() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "$e - $s" | bc; }
