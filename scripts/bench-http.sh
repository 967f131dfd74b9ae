#!/usr/bin/env bash
# HTTP throughput of the server on the embedded profile, measured with wrk
# (Debian package `wrk`), all endpoints in one run beside /health/live, with
# authentication and metrics on as in production (requests carry an admin bearer
# token; /health/live needs none).
#
#   scripts/bench-http.sh [books=100000] [seconds=15] [connections="64 1000"]
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
books="${1:-100000}" secs="${2:-15}" conn_list="${3:-64 1000}"
# 1,000 connections need as many file descriptors, in wrk and in the server.
ulimit -n 65536 2>/dev/null || ulimit -n 4096 || true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

features=(--features cli)
if [ -n "${KCL_BENCH_DATABASE_URL:-}" ]; then
  features=(--features cli,aws)
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

# A secret for this run, and an HS256 admin token signed with it (the server checks
# it as it would any client's).
secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
token=$(python3 scripts/bench-token.py "$secret")

run() { # label url
  local out rps p50 p99 shed
  out=$(wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s --latency -H "authorization: Bearer $token" "$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  # Answers other than 2xx: 503 `overloaded` when over KCL_HTTP_MAX_IN_FLIGHT
  # (load shedding); anything else is a failure of the run.
  shed=$(awk '/Non-2xx or 3xx responses/ {print $5}' <<<"$out")
  if [ -n "$shed" ]; then
    status=$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $token" "$2")
    [ "$status" = 200 ] || { echo "$2 answers $status" >&2; exit 1; }
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$conns" "$1" "$cache" "$rps" "$p50" "$p99" "${shed:-0}"
}

echo "| connections | request | listing cache | requests/s | p50 | p99 | non-2xx (shed) |"
echo "|---|---|---|---|---|---|---|"
for conns in $conn_list; do
  for ttl in 60 0; do
    cache=$([ "$ttl" = 0 ] && echo off || echo on)
    KCL_LOG=warn KCL_LIST_CACHE_TTL_SECS=$ttl KCL_DATA_DIR="$data" KCL_HTTP_ADDR="127.0.0.1:$port" \
      KCL_AUTH_JWT_SECRET="$secret" "$bin/server" 2>"$data/server.log" &
    pid=$!
    for _ in $(seq 1 100); do curl -fsS "$base/health/live" >/dev/null 2>&1 && break; sleep 0.1; done
    run "GET /health/live" "$base/health/live"
    run "GET /api/books?limit=20" "$base/api/books?limit=20"
    run "GET /api/books?q=amor%20caminho&limit=20" "$base/api/books?q=amor%20caminho&limit=20"
    run "GET /api/books?category=poesia&available=true&sort=-year&limit=20" "$base/api/books?category=poesia&available=true&sort=-year&limit=20"
    curl -fsS "$base/metrics" | grep -E '^kcl_cache_requests_total' >&2 || true
    kill "$pid"; wait "$pid" || true; pid=""
  done
done
