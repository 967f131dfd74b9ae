#!/usr/bin/env bash
# CPU time a request costs the server and PostgreSQL's backends, for BENCHMARKS.md
# ("Uncached listings against /health/live"): steadier than requests/s on a shared,
# noisy machine. Runs wrk (-t2 -c64, 2 s to warm up, then SECONDS) against PATH on a
# release `kcl serve` with the listing cache off, and divides the server's and every
# `postgres` process's user+system time (/proc/PID/stat) over the timed run by the
# requests wrk counted. Alternate binaries in rounds to compare them.
#
#   KCL_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/kclbench \
#     scripts/bench-list-cpu.sh KCL_BINARY [PATH=/api/books?limit=20] [SECONDS=8]
#
# The data directory is scripts/bench-list.sh's (/tmp/kcl-bench-pg-100000: run that
# first to seed it, or set KCL_BENCH_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$1" path="${2:-/api/books?limit=20}" secs="${3:-8}"
: "${KCL_BENCH_DATABASE_URL:?set KCL_BENCH_DATABASE_URL (the database scripts/bench-list.sh seeded)}"
source scripts/bench-common.sh
http_bench_setup
start_kcl /dev/null env KCL_DATABASE_URL="$KCL_BENCH_DATABASE_URL" KCL_LOG=warn \
  KCL_LIST_CACHE_TTL_SECS=0 KCL_DATA_DIR="${KCL_BENCH_DIR:-/tmp/kcl-bench-pg-100000}" "$bin" serve
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_cpu() { local t=0 p; for p in $(pgrep -u postgres); do t=$((t + $(cpu "$p"))); done; echo "$t"; }
wrk -t2 -c64 -d2s -H "authorization: Bearer $TOKEN" "$BASE$path" >/dev/null
k0=$(cpu "$PID") p0=$(pg_cpu)
out=$(wrk -t2 -c64 -d"${secs}s" -H "authorization: Bearer $TOKEN" "$BASE$path")
k1=$(cpu "$PID") p1=$(pg_cpu)
stop_kcl
awk -v k=$((k1 - k0)) -v p=$((p1 - p0)) -v t="$ticks" -v b="$(basename "$bin")" \
  -v n="$(awk '/requests in/ {print $1}' <<<"$out")" -v r="$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
  'BEGIN { printf "| %s | %.0f µs | %.0f µs | %s |\n", b, k / t / n * 1e6, p / t / n * 1e6, r }'
