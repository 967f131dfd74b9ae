#!/usr/bin/env bash
# Two builds of the `kcl` binary side by side, for a change that must not move the
# figures (a refactoring) or must move them (an optimisation): thumbnails, HTTP on
# the embedded profile, and sales loads into SQLite and PostgreSQL, each measured on
# both binaries in turn (A B A B ...) for ROUNDS rounds, then the medians and B ÷ A.
#
#   scripts/bench-compare.sh A B PHOTOS [rounds=3] [books=100000] [seconds=10]
#
# A, B: `kcl` binaries built with `--release --features cli,aws` (and the same other
# features), for example from two git
# worktrees. PHOTOS: a folder of 12 MP JPEGs (scripts/bench-photos.py makes the set).
# Sales: `sales_gen --rows 1000000 --stores 20 --seed 1` (built here), loaded by
# `kcl ingest` into a fresh SQLite data dir and a fresh PostgreSQL database each
# time (KCL_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test: a
# database is created and dropped per run). HTTP: wrk -t2 -c64, authentication on
# (an HS256 admin token), on a data dir seeded once with BOOKS books; the listing
# cache on for /health/live and the cached list, off for the uncached rows.
# Work files go to $KCL_BENCH_DIR (default /tmp/kcl-bench-compare).
set -euo pipefail
# Paths as the caller gave them, before the script moves to the repository.
a="$(realpath "${1:?usage: $0 A B PHOTOS [rounds] [books] [seconds]}")"
b="$(realpath "${2:?usage: $0 A B PHOTOS [rounds] [books] [seconds]}")"
photos="$(realpath "${3:?usage: $0 A B PHOTOS [rounds] [books] [seconds]}")"
cd "$(dirname "$0")/.."
rounds="${4:-3}" books="${5:-100000}" secs="${6:-10}"
admin="${KCL_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
dir="${KCL_BENCH_DIR:-/tmp/kcl-bench-compare}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
mkdir -p "$dir"
command -v wrk >/dev/null && [ -x /usr/bin/time ] && command -v psql >/dev/null \
  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk time postgresql-client; }

sales="$dir/sales-1000000.csv"
if [ ! -s "$sales" ]; then
  cargo build --quiet --release -p kcl-core --example sales_gen
  "$CARGO_TARGET_DIR/release/examples/sales_gen" --rows 1000000 --stores 20 --seed 1 > "$sales"
fi
data="$dir/books-$books"
if [ ! -f "$data/.seeded" ]; then
  rm -rf "$data"
  KCL_DATA_DIR="$data" KCL_LOG=warn "$b" seed "$books" >/dev/null
  touch "$data/.seeded"
fi

secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
token=$(python3 scripts/bench-token.py "$secret")

results="$dir/results.tsv" # binary, metric, value
: > "$results"
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$results"; }
wall() { # label bin command...: whole-process wall seconds
  local label="$1" bin="$2"; shift 2
  /usr/bin/time -f %e -o "$dir/wall" "$@" > "$dir/out" 2>&1 || { cat "$dir/out"; exit 1; }
  record "$bin" "$label" "$(tail -1 "$dir/wall")"
}

pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true; psql -q "$admin" -c "DROP DATABASE IF EXISTS kcl_bench_compare WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
http() { # bin ttl "label|path"...
  local bin="$1" ttl="$2"; shift 2
  local port=$(( 20000 + RANDOM % 20000 ))
  KCL_LOG=warn KCL_LIST_CACHE_TTL_SECS=$ttl KCL_DATA_DIR="$data" KCL_HTTP_ADDR="127.0.0.1:$port" \
    KCL_AUTH_JWT_SECRET="$secret" "$bin" serve 2>"$dir/server.log" &
  pid=$!
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/health/live" 2>/dev/null && break; sleep 0.1; done
  local pair label path out
  for pair in "$@"; do
    label="${pair%%|*}" path="${pair#*|}"
    out=$(wrk -t2 -c64 -d"${secs}s" --timeout 10s --latency -H "authorization: Bearer $token" "http://127.0.0.1:$port$path")
    grep -q 'Non-2xx' <<<"$out" && { echo "$path: answers other than 2xx" >&2; exit 1; }
    record "$bin" "$label req/s" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    record "$bin" "$label p99 ms" "$(awk '$1=="99%" {v=$2; if (v ~ /us$/) v=v/1000; else if (v ~ /ms$/) v=v+0; else if (v ~ /s$/) v=v*1000; print v}' <<<"$out")"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

for round in $(seq "$rounds"); do
  for bin in "$a" "$b"; do
    echo "round $round: $bin" >&2
    rm -rf "$dir/thumbs"
    wall "thumbnails, 1 thread (s)" "$bin" taskset -c 1 "$bin" thumbnail --threads 1 --size 256 "$photos" "$dir/thumbs"
    http "$bin" 60 "GET /health/live|/health/live" "GET /api/books?limit=20, cached|/api/books?limit=20"
    http "$bin" 0 "GET /api/books?limit=20, uncached|/api/books?limit=20" \
      "GET /api/books?q=amor%20caminho, uncached|/api/books?q=amor%20caminho&limit=20" \
      "GET /api/books?category=poesia&available=true&sort=-year, uncached|/api/books?category=poesia&available=true&sort=-year&limit=20"
    rm -rf "$dir/sales-data"
    wall "sales 1M rows into SQLite (s)" "$bin" env KCL_DATA_DIR="$dir/sales-data" KCL_LOG=warn "$bin" ingest "$sales"
    psql -q "$admin" -c "DROP DATABASE IF EXISTS kcl_bench_compare WITH (FORCE)" -c "CREATE DATABASE kcl_bench_compare"
    wall "sales 1M rows into PostgreSQL (s)" "$bin" env KCL_DATABASE_URL="${admin%/*}/kcl_bench_compare" \
      KCL_DATA_DIR="$dir/sales-data-pg" KCL_LOG=warn "$bin" ingest "$sales"
    rm -rf "$dir/sales-data-pg"
  done
done

python3 - "$results" "$a" "$b" <<'PY'
import collections, statistics, sys
path, a, b = sys.argv[1:]
vals = collections.defaultdict(list)
order = []
for line in open(path):
    binary, metric, value = line.rstrip("\n").split("\t")
    if metric not in order:
        order.append(metric)
    vals[(binary, metric)].append(float(value))
print(f"A = {a}\nB = {b}\n")
print("| measure | A, median | B, median | B ÷ A | A runs | B runs |")
print("|---|---:|---:|---:|---|---|")
for m in order:
    ma, mb = statistics.median(vals[(a, m)]), statistics.median(vals[(b, m)])
    fmt = lambda xs: " ".join(f"{x:g}" for x in xs)
    print(f"| {m} | {ma:g} | {mb:g} | {mb / ma:.2f} | {fmt(vals[(a, m)])} | {fmt(vals[(b, m)])} |")
PY
