#!/usr/bin/env bash
# HTTP throughput of the server on the embedded profile, measured with wrk
# (Debian package `wrk`), all endpoints in one run beside /health/live.
#
#   scripts/bench-http.sh [books=100000] [seconds=15] [connections=64]
#
# Builds the release server, seeds a data dir (kept in $KCL_BENCH_DIR, default
# /tmp/kcl-bench-<books>, reused when it already holds the books), then runs wrk
# twice per endpoint set: listing cache on (the default) and off
# (KCL_LIST_CACHE_TTL_SECS=0). Prints a Markdown table.
#
# On PostgreSQL instead of SQLite: KCL_BENCH_DATABASE_URL=postgres://.../db (an empty
# database, seeded once; the release build then gets `--features aws`).
set -euo pipefail
cd "$(dirname "$0")/.."
books="${1:-100000}" secs="${2:-15}" conns="${3:-64}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

features=()
if [ -n "${KCL_BENCH_DATABASE_URL:-}" ]; then
  features=(--features aws)
  export KCL_DATABASE_URL="$KCL_BENCH_DATABASE_URL"
fi
cargo build --quiet --release "${features[@]}" --example server --example seed
bin="$CARGO_TARGET_DIR/release/examples"
data="${KCL_BENCH_DIR:-/tmp/kcl-bench-$books}"
if [ ! -f "$data/.seeded-$books" ]; then
  rm -rf "$data"
  KCL_DATA_DIR="$data" "$bin/seed" "$books"
  # A bulk load leaves PostgreSQL without statistics until autovacuum gets to it.
  if [ -n "${KCL_BENCH_DATABASE_URL:-}" ]; then psql -q "$KCL_BENCH_DATABASE_URL" -c ANALYZE; fi
  touch "$data/.seeded-$books"
fi

port=$(( 20000 + RANDOM % 20000 ))
base="http://127.0.0.1:$port"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT

run() { # label url
  local out rps p50 p99
  out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  if grep -q 'Non-2xx' <<<"$out"; then echo "non-2xx answers for $2" >&2; exit 1; fi
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$cache" "$rps" "$p50" "$p99"
}

echo "| request | listing cache | requests/s | p50 | p99 |"
echo "|---|---|---|---|---|"
for ttl in 60 0; do
  cache=$([ "$ttl" = 0 ] && echo off || echo on)
  KCL_LOG=warn KCL_LIST_CACHE_TTL_SECS=$ttl KCL_DATA_DIR="$data" KCL_HTTP_ADDR="127.0.0.1:$port" "$bin/server" &
  pid=$!
  for _ in $(seq 1 100); do curl -fsS "$base/health/live" >/dev/null 2>&1 && break; sleep 0.1; done
  run "GET /health/live" "$base/health/live"
  run "GET /api/books?limit=20" "$base/api/books?limit=20"
  run "GET /api/books?q=amor%20caminho&limit=20" "$base/api/books?q=amor%20caminho&limit=20"
  run "GET /api/books?category=poesia&available=true&sort=-year&limit=20" "$base/api/books?category=poesia&available=true&sort=-year&limit=20"
  kill "$pid"; wait "$pid" || true; pid=""
done
