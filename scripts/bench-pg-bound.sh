#!/usr/bin/env bash
# How fast an uncached plain listing on PostgreSQL could be on this machine, for
# BENCHMARKS.md ("Uncached listings against /health/live"): in one run, the server's
# `/health/live` (the reference), its plain list from the listing cache (everything
# KCL does for a page but the query) and uncached, and `pgbench` running the
# listing's own statement, prepared, with 64 clients (PostgreSQL serving the query
# with a client that does nothing else). A page costs at least a cached page's work
# in KCL plus the query's in PostgreSQL, so 1 / (1/cached + 1/pgbench) bounds the
# uncached list's requests/s from above (both figures include their client's CPU:
# the bound is generous).
#
#   KCL_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/kclbench \
#     scripts/bench-pg-bound.sh [BOOKS] [SECONDS] [ROUNDS]
#
# The database is seeded once as scripts/bench-list.sh seeds it (the same data
# directory); KCL_BENCH_KCL names a release `kcl` binary (else one is built).
set -euo pipefail
cd "$(dirname "$0")/.."
books="${1:-100000}" secs="${2:-8}" rounds="${3:-2}"
: "${KCL_BENCH_DATABASE_URL:?set KCL_BENCH_DATABASE_URL to a PostgreSQL database to seed}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1)
[ -x "$pgbench" ] || { echo "pgbench not found (Debian: postgresql-contrib or the server package)" >&2; exit 1; }
source scripts/bench-common.sh
kcl_binary "${KCL_BENCH_FEATURES:-cli,aws}"
data="${KCL_BENCH_DIR:-/tmp/kcl-bench-pg-$books}"
mkdir -p "$data"
if [ ! -f "$data/.seeded-$books" ]; then
  KCL_DATABASE_URL="$KCL_BENCH_DATABASE_URL" KCL_DATA_DIR="$data" "$KCL_BIN" seed "$books"
  psql -q "$KCL_BENCH_DATABASE_URL" -c ANALYZE
  touch "$data/.seeded-$books"
fi
http_bench_setup
sql=$(mktemp)
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -f "$sql"' EXIT
# The statement `kcl-aws` prepares for `GET /api/books?limit=20` (a page and one more).
echo "SELECT id, isbn, title, author, category, year, price_cents, copies, rented, summary, \
version, created_at, updated_at, cover_key, thumb_key, times_rented FROM books WHERE TRUE \
ORDER BY title_key ASC, id ASC LIMIT 21;" >"$sql"

rps() { wrk -t2 -c64 -d"${secs}s" -H "authorization: Bearer $TOKEN" "$1" | awk '/Requests\/sec/ {print $2}'; }

echo "$books books, $(nproc) cores, ${secs} s per figure, 64 connections or clients"
echo
echo "| round | /health/live | cached list | uncached list | pgbench, the listing's statement | bound: 1/(1/cached + 1/pgbench) | uncached, % of the bound | uncached, % of live | bound, % of live |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for round in $(seq "$rounds"); do
  start_kcl "$data/server.log" env KCL_DATABASE_URL="$KCL_BENCH_DATABASE_URL" KCL_LOG=warn \
    KCL_DATA_DIR="$data" "$KCL_BIN" serve
  live=$(rps "$BASE/health/live")
  cached=$(rps "$BASE/api/books?limit=20")
  stop_kcl
  start_kcl "$data/server.log" env KCL_DATABASE_URL="$KCL_BENCH_DATABASE_URL" KCL_LOG=warn \
    KCL_LIST_CACHE_TTL_SECS=0 KCL_DATA_DIR="$data" "$KCL_BIN" serve
  uncached=$(rps "$BASE/api/books?limit=20")
  stop_kcl
  pg=$("$pgbench" -n -M prepared -c 64 -j 2 -T "$secs" -f "$sql" "$KCL_BENCH_DATABASE_URL" 2>/dev/null \
    | awk '/^tps/ {print $3}')
  awk -v r="$round" -v l="$live" -v c="$cached" -v u="$uncached" -v p="$pg" 'BEGIN {
    b = 1 / (1 / c + 1 / p)
    printf "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f %% | %.1f %% | %.1f %% |\n",
      r, l, c, u, p, b, 100 * u / b, 100 * u / l, 100 * b / l }'
done
