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

# bench_volume_project PROJECT DIR  writes DIR/docker-compose.yml (one app container with a
# named volume "data" at /data), brings it up and prints the container's id.
bench_volume_project() {
  local project="$1" dir="$2"
  cat >"$dir/docker-compose.yml" <<YAML
services:
  app:
    image: stacksnap-fixture/app:test
    command: ["sh", "-c", "exec sleep infinity"]
    volumes: ["data:/data"]
volumes:
  data:
YAML
  docker compose -p "$project" -f "$dir/docker-compose.yml" up -d >/dev/null 2>&1
  docker compose -p "$project" -f "$dir/docker-compose.yml" ps -q app
}

# bench_stacksnap_init BIN DATA_DIR STORE_DIR  a key and a local target "bench".
bench_stacksnap_init() {
  mkdir -p "$2"
  "$1" --data-dir "$2" key init >/dev/null
  "$1" --data-dir "$2" target add local bench --path "$3" >/dev/null
}
