#!/usr/bin/env bash
# Three `kcl serve` processes on the AWS profile (one PostgreSQL database, Redis, and
# S3/SQS/DynamoDB on a moto emulator of the run's own) behind HAProxy with
# KCL_TRUSTED_PROXIES, under a mixed load: book reads, listings, searches, rentals and
# returns, new books, updates, cover uploads and sales files. The long form of
# tests/cluster_load.rs (which CI runs bounded: 8 connections for 10 s).
#
#   scripts/bench-cluster.sh [seconds=60] [connections=32] [books=1000]
#
# Builds the release `kcl` (cargo build --release --bin kcl --features cli,aws) unless
# KCL_CLUSTER_KCL_BIN names a binary, starts the services (scripts/services.sh),
# then prints Markdown tables: requests/s, p50/p99 and answers per request kind, with
# /health/live through the same HAProxy as the reference, then each server's RSS
# over time and CPU. Fails if any answer is other than the expected one, a 409
# where a conflict is possible, or a 503 with Retry-After (load shedding), or if an
# acknowledged write is missing afterwards, rentals differ from copies minus active,
# or a cover is not thumbnailed.
#
# More knobs (environment): KCL_CLUSTER_WARMUP_SECS (default 10, not counted),
# KCL_CLUSTER_REFERENCE_SECS (default 10), KCL_CLUSTER_MAX_IN_FLIGHT (each server's
# KCL_HTTP_MAX_IN_FLIGHT, default 512: lower it to see load shedding),
# KCL_CLUSTER_DYNAMODB=0 (the audit log, statuses and daily totals in PostgreSQL
# instead of DynamoDB: moto copies a whole table at each TransactWriteItems, so with
# DynamoDB on the emulator its cost, growing with the table, sets the pace).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}" conns="${2:-32}" books="${3:-1000}"
ulimit -S -n "$(ulimit -H -n)" 2>/dev/null || true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
if ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq haproxy
fi
eval "$(scripts/services.sh start)"
if [ -z "${KCL_CLUSTER_KCL_BIN:-}" ]; then
  cargo build --quiet --release --bin kcl --features cli,aws
  export KCL_CLUSTER_KCL_BIN="$CARGO_TARGET_DIR/release/kcl"
fi
export KCL_CLUSTER_SECS="$secs" KCL_CLUSTER_CONNECTIONS="$conns" KCL_CLUSTER_BOOKS="$books"
export KCL_CLUSTER_WARMUP_SECS="${KCL_CLUSTER_WARMUP_SECS:-10}"
export KCL_CLUSTER_REFERENCE_SECS="${KCL_CLUSTER_REFERENCE_SECS:-10}"
export KCL_CLUSTER_PRIVATE_MOTO=1 KCL_TEST_REQUIRE_ALL=1
# The load driver is the test binary (a debug build, as CI's): it reports its own
# CPU time beside the servers'.
cargo test --quiet --workspace --all-features --test cluster_load -- --nocapture 2>&1 \
  | grep -v -e '^running ' -e '^test result' -e '^$' -e '^test .* ok$'
