#!/usr/bin/env bash
# Latency tails at 1,000 connections for BENCHMARKS.md: `/health/live` (the
# reference) and the cached book list, with the server's listen backlog at Tokio's
# 1,024 and at KCL's 4,096 (KCL_HTTP_BACKLOG), in interleaved rounds, with the
# kernel's count of connections dropped from a full accept queue
# (TcpExtListenOverflows) during each run. wrk is pinned to one core
# (`taskset -c 1`); the server runs with authentication and metrics on, as in
# production (an admin bearer token on every request).
#
#   scripts/bench-tails.sh [books=100000] [seconds=10] [rounds=3] [connections=1000]
#
# Builds the release `kcl` binary, seeds a data dir once (kept in
# $KCL_BENCH_DIR, default /tmp/kcl-bench-<books>).
set -euo pipefail
cd "$(dirname "$0")/.."
books="${1:-100000}" secs="${2:-10}" rounds="${3:-3}" conns="${4:-1000}"
ulimit -n 65536 2>/dev/null || ulimit -n 4096 || true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
# KCL_BENCH_FEATURES: the features of the build (default `cli`; `cli,aws` reuses
# the binary of scripts/bench-import.sh).
# KCL_BENCH_KCL: a `kcl` binary built already (nothing is built then).
source scripts/bench-common.sh
kcl_binary "${KCL_BENCH_FEATURES:-cli}"
kcl="$KCL_BIN"
data="${KCL_BENCH_DIR:-/tmp/kcl-bench-$books}"
if [ ! -f "$data/.seeded-$books" ]; then
  rm -rf "$data"
  KCL_DATA_DIR="$data" "$kcl" seed "$books"
  touch "$data/.seeded-$books"
fi

http_bench_setup

overflows() { awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1 } else print $n["ListenOverflows"] }' /proc/net/netstat; }

run() { # backlog label url
  local before after out rps p50 p99 max
  before=$(overflows)
  out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s --latency \
    -H "authorization: Bearer $TOKEN" "$3")
  after=$(overflows)
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  max=$(awk '$1=="Latency" {print $4}' <<<"$out")
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$round" "$1" "$2" "$rps" "$p50" "$p99" "$max" "$((after - before))"
}

echo "somaxconn $(cat /proc/sys/net/core/somaxconn), tcp_max_syn_backlog $(cat /proc/sys/net/ipv4/tcp_max_syn_backlog), open files $(ulimit -n); $conns connections, ${secs} s per run"
echo
echo "| round | backlog | request | requests/s | p50 | p99 | max | accept-queue overflows |"
echo "|---|---|---|---|---|---|---|---|"
for round in $(seq "$rounds"); do
  for backlog in 1024 4096; do
    start_kcl "$data/server.log" env KCL_LOG=warn KCL_HTTP_BACKLOG="$backlog" KCL_DATA_DIR="$data" "$kcl" serve
    # Warm the listing cache.
    curl -fsS -H "authorization: Bearer $TOKEN" "$BASE/api/books?limit=20" >/dev/null
    run "$backlog" "GET /health/live" "$BASE/health/live"
    run "$backlog" "GET /api/books?limit=20 (cached)" "$BASE/api/books?limit=20"
    stop_kcl
  done
done
