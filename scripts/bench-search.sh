#!/usr/bin/env bash
# Uncached listing and search latency at several catalog sizes, for BENCHMARKS.md:
# for each size the catalog is grown (by `kcl seed`, the bulk import) and six
# requests are run by wrk at 64 connections with the listing cache off
# (KCL_LIST_CACHE_TTL_SECS=0), beside /health/live in the same run:
#   plain list, a dense search (`amor caminho`: about 25 % of the books) without and
#   with its count (`count=true`), a selective search (`12345`: a handful), a
#   filtered listing, and page 50 by cursor.
#
#   scripts/bench-search.sh [sizes="10000 100000 1000000"] [seconds=10]
#   KCL_BENCH_DATABASE_URL=postgres://.../db scripts/bench-search.sh ...   # PostgreSQL
#
# On SQLite the data dir is $KCL_BENCH_DIR (default /tmp/kcl-bench-search); on
# PostgreSQL a database created on that server for the run and dropped after it. Authentication and metrics on, as
# in production. Needs wrk, curl, python3; builds the release `kcl` binary
# (KCL_BENCH_FEATURES, default `cli,aws`).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="${1:-10000 100000 1000000}" secs="${2:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
# KCL_BENCH_KCL: a `kcl` binary built already (nothing is built then).
source scripts/bench-common.sh
kcl_binary "${KCL_BENCH_FEATURES:-cli,aws}"
kcl="$KCL_BIN"
data="${KCL_BENCH_DIR:-/tmp/kcl-bench-search}"
rm -rf "$data"; mkdir -p "$data"
profile=SQLite
http_bench_setup
db=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null
  [ -n "$db" ] && psql -q "$KCL_BENCH_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  true
}
trap cleanup EXIT
if [ -n "${KCL_BENCH_DATABASE_URL:-}" ]; then
  profile=PostgreSQL
  db="kcl_bench_search_$$"
  psql -q "$KCL_BENCH_DATABASE_URL" -c "CREATE DATABASE $db"
  base_url="${KCL_BENCH_DATABASE_URL%%\?*}"
  export KCL_DATABASE_URL="${base_url%/*}/$db"
fi
export KCL_DATA_DIR="$data"
auth=(-H "authorization: Bearer $TOKEN")

run() { # size label path
  local out rps p50 p99
  out=$(wrk -t2 -c64 -d"${secs}s" --timeout 10s --latency "${auth[@]}" "$BASE$3")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then echo "$3: non-2xx answers" >&2; grep Non-2xx <<<"$out" >&2; fi
  printf '| %s | %s | %s | %s | %s | %s |\n' "$profile" "$1" "$2" "$rps" "$p50" "$p99"
}

echo "| profile | books | request | requests/s | p50 | p99 |"
echo "|---|---|---|---|---|---|"
have=0
for size in $sizes; do
  "$kcl" seed "$((size - have))" "$have" >&2
  have=$size
  [ "$profile" = PostgreSQL ] && psql -q "$KCL_DATABASE_URL" -c ANALYZE
  start_kcl "$data/server.log" env KCL_LOG=warn KCL_LIST_CACHE_TTL_SECS=0 "$kcl" serve
  # The cursor of page 50 of the plain list.
  cursor=""
  for _ in $(seq 49); do
    page=$(curl -fsS "${auth[@]}" "$BASE/api/books?limit=20${cursor:+&cursor=$cursor}")
    cursor=$(python3 -c 'import json,sys,urllib.parse; print(urllib.parse.quote(json.load(sys.stdin)["next_cursor"], safe=""))' <<<"$page")
  done
  run "$size" "GET /health/live (reference)" "/health/live"
  run "$size" "plain list" "/api/books?limit=20"
  run "$size" "dense search (amor caminho)" "/api/books?q=amor%20caminho&limit=20"
  # The same, counted (`count=true`: up to 1,000 matches, the API's "1-20 of 1,000+").
  run "$size" "dense search, counted" "/api/books?q=amor%20caminho&limit=20&count=true"
  run "$size" "selective search (12345)" "/api/books?q=12345&limit=20"
  run "$size" "filtered (poesia, available, -year)" "/api/books?category=poesia&available=true&sort=-year&limit=20"
  run "$size" "page 50 by cursor" "/api/books?limit=20&cursor=$cursor"
  stop_kcl
done
