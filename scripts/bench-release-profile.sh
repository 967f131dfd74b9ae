#!/usr/bin/env bash
# What the release profile (thin LTO, stripped symbols; Cargo.toml) buys: the `kcl`
# binary built with it and without it (cargo's default release settings), side by
# side in one run: size, thumbnailing a folder of photos on one thread, and HTTP
# requests per second on the embedded profile (wrk, Debian package `wrk`).
#
#   scripts/bench-release-profile.sh PHOTOS [books=20000] [seconds=10]
#
# PHOTOS: a folder of large JPEGs (BENCHMARKS.md says how its set was made). The two
# builds go to $KCL_BENCH_DIR (default /tmp/kcl-bench-profile); set KCL_BENCH_BEFORE
# and KCL_BENCH_AFTER to binaries built already to skip building. Each build is a
# full release build of the `cli,aws` features (about 10 minutes on 2 cores).
# Timings: 5 runs of each binary in turn (A B A B ...), medians.
set -euo pipefail
cd "$(dirname "$0")/.."
photos="${1:?usage: $0 PHOTOS [books] [seconds]}" books="${2:-20000}" secs="${3:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
dir="${KCL_BENCH_DIR:-/tmp/kcl-bench-profile}"
mkdir -p "$dir"
command -v wrk >/dev/null && [ -x /usr/bin/time ] \
  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk time; }

before="${KCL_BENCH_BEFORE:-}" after="${KCL_BENCH_AFTER:-}"
if [ -z "$before" ]; then
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_STRIP=none \
    cargo build --quiet --release --bin kcl --features cli,aws
  cp "$CARGO_TARGET_DIR/release/kcl" "$dir/kcl-default-profile"
  before="$dir/kcl-default-profile"
fi
if [ -z "$after" ]; then
  cargo build --quiet --release --bin kcl --features cli,aws
  cp "$CARGO_TARGET_DIR/release/kcl" "$dir/kcl-release-profile"
  after="$dir/kcl-release-profile"
fi

median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

echo "| binary | size | thumbnails, 1 thread, median wall | /health/live req/s | /api/books?limit=20 req/s (cached) | same, uncached |"
echo "|---|---:|---:|---:|---:|---:|"
declare -A thumb
for bin in "$before" "$after"; do thumb[$bin]=""; done
for _ in 1 2 3 4 5 6; do # the first round warms the page cache and is not counted
  for bin in "$before" "$after"; do
    rm -rf "$dir/out"
    /usr/bin/time -f %e -o "$dir/wall" "$bin" thumbnail --threads 1 --size 256 "$photos" "$dir/out" >/dev/null 2>&1
    thumb[$bin]+="$(tail -1 "$dir/wall") "
  done
done

data="$dir/data-$books"
if [ ! -f "$data/.seeded" ]; then
  rm -rf "$data"
  KCL_DATA_DIR="$data" "$after" seed "$books" >/dev/null
  touch "$data/.seeded"
fi
rps() { # url
  wrk -t2 -c64 -d"${secs}s" --latency "$1" | awk '/Requests\/sec/ {print int($2)}'
}
for bin in "$before" "$after"; do
  for ttl in 60 0; do
    port=$(( 20000 + RANDOM % 20000 ))
    KCL_DATA_DIR="$data" KCL_HTTP_ADDR="127.0.0.1:$port" KCL_AUTH=off KCL_LOG=warn \
      KCL_LIST_CACHE_TTL_SECS=$ttl "$bin" serve 2>/dev/null &
    pid=$!
    for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/health/live" 2>/dev/null && break; sleep 0.1; done
    if [ $ttl = 60 ]; then
      live=$(rps "http://127.0.0.1:$port/health/live")
      cached=$(rps "http://127.0.0.1:$port/api/books?limit=20")
    else
      uncached=$(rps "http://127.0.0.1:$port/api/books?limit=20")
    fi
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
  read -r -a runs <<<"${thumb[$bin]}"
  size=$(stat -c %s "$bin")
  echo "| $(basename "$bin") | $((size / 1024 / 1024)) MiB | $(median "${runs[@]:1}") s | $live | $cached | $uncached |"
done
