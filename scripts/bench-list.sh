#!/usr/bin/env bash
# Uncached listings against `/health/live` for BENCHMARKS.md (issue 18, point 3): the
# plain list and a filtered list with the listing cache off
# (KCL_LIST_CACHE_TTL_SECS=0), each as a share of `/health/live`'s requests/s in the
# same round; one or two `kcl` binaries (A/B), in interleaved rounds. wrk -t2 -c64,
# on the same 2 cores as the server; authentication and metrics on, as in
# production (an admin bearer token on every request).
#
#   scripts/bench-list.sh [books=100000] [seconds=10] [rounds=3]
#
# KCL_BENCH_KCL: the binary (default: the release build, built here);
# KCL_BENCH_KCL_B: a second binary, measured after the first in each round.
# KCL_BENCH_DATABASE_URL: PostgreSQL instead of SQLite (an empty database, seeded
# once; needs a build with `aws`). The SQLite data dir is $KCL_BENCH_DIR (default
# /tmp/kcl-bench-<books>), seeded once.
set -euo pipefail
cd "$(dirname "$0")/.."
books="${1:-100000}" secs="${2:-10}" rounds="${3:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
source scripts/bench-common.sh
kcl_binary "${KCL_BENCH_FEATURES:-cli,aws}"
bins=("$KCL_BIN")
[ -n "${KCL_BENCH_KCL_B:-}" ] && bins+=("$KCL_BENCH_KCL_B")

data="${KCL_BENCH_DIR:-/tmp/kcl-bench-$books}"
db_env=()
if [ -n "${KCL_BENCH_DATABASE_URL:-}" ]; then
  db_env=(KCL_DATABASE_URL="$KCL_BENCH_DATABASE_URL")
  data="${KCL_BENCH_DIR:-/tmp/kcl-bench-pg-$books}"
fi
mkdir -p "$data"
if [ ! -f "$data/.seeded-$books" ]; then
  env "${db_env[@]}" KCL_DATA_DIR="$data" "${bins[0]}" seed "$books"
  if [ -n "${KCL_BENCH_DATABASE_URL:-}" ]; then psql -q "$KCL_BENCH_DATABASE_URL" -c ANALYZE; fi
  touch "$data/.seeded-$books"
fi

http_bench_setup

wrk_rps() { # url -> "rps p99"
  local out
  out=$(wrk -t2 -c64 -d"${secs}s" --latency -H "authorization: Bearer $TOKEN" "$1")
  printf '%s %s\n' "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
}

echo "$books books, $(nproc) cores, wrk -t2 -c64 ${secs} s per run, listing cache off"
echo
echo "| round | binary | /health/live req/s | list req/s (p99) | % of live | filtered list req/s (p99) | % of live |"
echo "|---|---|---:|---:|---:|---:|---:|"
for round in $(seq "$rounds"); do
  for bin in "${bins[@]}"; do
    start_kcl "$data/server.log" env "${db_env[@]}" KCL_LOG=warn KCL_LIST_CACHE_TTL_SECS=0 \
      KCL_DATA_DIR="$data" "$bin" serve
    read -r live _ < <(wrk_rps "$BASE/health/live")
    read -r list list99 < <(wrk_rps "$BASE/api/books?limit=20")
    read -r filt filt99 < <(wrk_rps "$BASE/api/books?category=poesia&available=true&sort=-year")
    stop_kcl
    pct() { awk -v a="$1" -v b="$live" 'BEGIN{printf "%.1f %%", 100*a/b}'; }
    printf '| %s | %s | %s | %s (%s) | %s | %s (%s) | %s |\n' "$round" "$bin" "$live" \
      "$list" "$list99" "$(pct "$list")" "$filt" "$filt99" "$(pct "$filt")"
  done
done
