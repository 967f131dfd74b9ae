#!/usr/bin/env bash
# Sales ingest figures for BENCHMARKS.md, all in one run on the same file:
#   - `psql \copy` of the file into a staging table (text columns, a B-tree on
#     (day, store) as sales_lines has, no validation): the reference; and the same
#     with the store compared bytewise (`COLLATE "C"`), as sales_lines' index does;
#   - KCL's validate + load into PostgreSQL (COPY), with and without Parquet copies;
#   - the embedded profile (SQLite);
#   - parse + validate alone.
# Each figure is a whole process (start-up included), median of RUNS, with its peak
# memory.
#
#   KCL_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test scripts/bench-sales.sh [ROWS] [RUNS]
#
# Needs: psql, /usr/bin/time, and a release build of the examples (built here).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-1000000}"
RUNS="${2:-3}"
ADMIN_URL="${KCL_BENCH_DATABASE_URL:?set KCL_BENCH_DATABASE_URL to a PostgreSQL server (a database is created and dropped)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
WORK="${KCL_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$WORK"

cargo build --release -q -p kcl-core --example sales_gen --example sales_check
cargo build --release -q --example ingest --features cli,aws
BIN="$CARGO_TARGET_DIR/release/examples"

FILE="$WORK/sales-$ROWS.csv"
[ -s "$FILE" ] || "$BIN/sales_gen" --rows "$ROWS" --stores 20 --seed 1 > "$FILE"
BYTES=$(stat -L -c %s "$FILE")

DB="kcl_bench_sales_$$"
base="${ADMIN_URL%%\?*}"
URL="${base%/*}/$DB"
psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
trap 'psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null' EXIT
# The schema, by a first start on the database.
printf 'store_id,sale_date,sku,quantity,unit_price\nS0,2026-01-01,A,1,1\n' > "$WORK/tiny.csv"
KCL_DATABASE_URL="$URL" KCL_DATA_DIR="$WORK/data" "$BIN/ingest" "$WORK/tiny.csv" >/dev/null
psql -q "$URL" <<'SQL'
-- The file's columns as text, with the B-tree KCL's sales_lines has on (day, store).
CREATE TABLE sales_raw (store_id TEXT, sale_date TEXT, receipt_id TEXT, sku TEXT,
  product_name TEXT, quantity TEXT, unit_price TEXT, total TEXT);
CREATE INDEX sales_raw_day ON sales_raw (sale_date, store_id);
CREATE TABLE sales_raw_c (LIKE sales_raw);
CREATE INDEX sales_raw_c_day ON sales_raw_c (sale_date, store_id COLLATE "C");
SQL

source scripts/bench-common.sh

# Runs "$@" RUNS times after `reset`, prints the median wall seconds and peak RSS.
measure() {
  local label="$1" reset="$2"; shift 2
  median_of_runs "$RUNS" "$reset" "$@"
  printf '| %s | %.2f s | %s rows/s | %.0f MB/s | %s MiB |\n' "$label" "$WALL" \
    "$(awk -v r="$ROWS" -v w="$WALL" 'BEGIN{printf "%d", r/w}')" \
    "$(awk -v b="$BYTES" -v w="$WALL" 'BEGIN{print b/w/1e6}')" "$PEAK_MIB"
}

echo "file: $ROWS rows, $BYTES bytes; $(nproc) cores; median of $RUNS runs (wall), largest peak RSS"
echo
echo "| what | time | rows/s | MB/s | peak memory |"
echo "|---|---:|---:|---:|---:|"
measure "psql \\copy into a staging table (reference, no validation)" \
  'psql -q "$URL" -c "TRUNCATE sales_raw"' \
  psql -q "$URL" -c "\\copy sales_raw FROM '$FILE' WITH (FORMAT csv, HEADER true)"
measure "psql \\copy, the index's store column COLLATE \"C\" (as sales_lines)" \
  'psql -q "$URL" -c "TRUNCATE sales_raw_c"' \
  psql -q "$URL" -c "\\copy sales_raw_c FROM '$FILE' WITH (FORMAT csv, HEADER true)"
pg_reset='psql -q "$URL" -c "TRUNCATE sales_lines, sales_files, sales_stock, sales_daily, sales_day_sums"'
measure "KCL validate + load into PostgreSQL (COPY), no Parquet" "$pg_reset" \
  env KCL_DATABASE_URL="$URL" KCL_DATA_DIR="$WORK/data" KCL_SALES_PARQUET=off KCL_SPOOL_DIR="$WORK" "$BIN/ingest" "$FILE"
measure "KCL validate + load into PostgreSQL + Parquet copies" "$pg_reset; rm -rf '$WORK/data/blobs/sales'" \
  env KCL_DATABASE_URL="$URL" KCL_DATA_DIR="$WORK/data" KCL_SPOOL_DIR="$WORK" "$BIN/ingest" "$FILE"
measure "KCL validate + load into SQLite (embedded), no Parquet" "rm -rf '$WORK/sqlite'" \
  env KCL_DATA_DIR="$WORK/sqlite" KCL_SALES_PARQUET=off KCL_SPOOL_DIR="$WORK" "$BIN/ingest" "$FILE"
measure "parse + validate alone" ":" "$BIN/sales_check" "$FILE"
