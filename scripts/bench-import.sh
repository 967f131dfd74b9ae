#!/usr/bin/env bash
# Bulk book import figures for BENCHMARKS.md, all in one run on the same file:
#   - `kcl import FILE` (validated, stored 500 per transaction, one audit event per
#     book) into PostgreSQL and into the embedded SQLite profile;
#   - the references: `psql \copy` of the same file into a plain table (text
#     columns, a unique index on the ISBN, no validation, no search words, no
#     audit), and Python's sqlite3 `executemany` into the same plain table in one
#     transaction;
#   - once each, `kcl seed SEED` (the synthetic books of the HTTP benchmarks,
#     through the same bulk import) from an empty catalog.
# Each figure is a whole process (start-up included), median of RUNS.
#
#   KCL_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
#     scripts/bench-import.sh [BOOKS] [RUNS] [SEED]
#
# Needs: psql, python3, /usr/bin/time; builds the `kcl` binary (release, cli,aws).
set -euo pipefail
cd "$(dirname "$0")/.."
BOOKS="${1:-100000}"
RUNS="${2:-3}"
SEED="${3:-1000000}"
ADMIN_URL="${KCL_BENCH_DATABASE_URL:?set KCL_BENCH_DATABASE_URL to a PostgreSQL server (a database is created and dropped)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
WORK="${KCL_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$WORK"

# KCL_BENCH_KCL: a `kcl` binary built already (nothing is built then).
source scripts/bench-common.sh
kcl_binary "cli,aws"
KCL="$KCL_BIN"

FILE="$WORK/books-$BOOKS.csv"
[ -s "$FILE" ] || python3 - "$BOOKS" > "$FILE" <<'PY'
import sys
n = int(sys.argv[1])
words = ["amor", "tempo", "cidade", "mar", "noite", "casa", "memória", "guerra", "sertão",
         "rio", "vento", "estrela", "sombra", "caminho", "jardim", "silêncio", "fogo",
         "viagem", "pedra", "luz"]
authors = ["Machado de Assis", "Clarice Lispector", "Jorge Amado", "Cecília Meireles",
           "Graciliano Ramos", "Guimarães Rosa", "Rachel de Queiroz", "Lima Barreto"]
def isbn(k):
    d = "979" + f"{k:09d}"
    s = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(d))
    return d + str((10 - s % 10) % 10)
out = sys.stdout
out.write("titulo;autor;isbn;ano;categoria;exemplares;preco;resumo\n")
for k in range(n):
    w = lambda j: words[(k // 7 + j * 13) % len(words)]
    out.write(f"{w(0)} {w(1)} {w(2)} {k};{authors[k % len(authors)]};{isbn(k)};"
              f"{1900 + k % 125};Romance;{k % 5};{9 + k % 90},90;"
              f"Um livro sobre {w(3)}, {w(4)} e {w(5)}.\n")
PY
BYTES=$(stat -L -c %s "$FILE")

DB="kcl_bench_import_$$"
base="${ADMIN_URL%%\?*}"
URL="${base%/*}/$DB"
psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
trap 'psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null' EXIT
KCL_DATABASE_URL="$URL" KCL_DATA_DIR="$WORK/pg-data" "$KCL" migrate >/dev/null
psql -q "$URL" <<'SQL'
CREATE TABLE books_raw (title TEXT, author TEXT, isbn TEXT UNIQUE, year TEXT,
  category TEXT, copies TEXT, price TEXT, summary TEXT);
SQL


# Runs "$@" RUNS times after `reset`, prints the median wall seconds and peak RSS.
measure() {
  local label="$1" reset="$2"; shift 2
  median_of_runs "$RUNS" "$reset" "$@"
  printf '| %s | %.2f s | %s books/s | %s MiB |\n' "$label" "$WALL" \
    "$(awk -v r="$BOOKS" -v w="$WALL" 'BEGIN{printf "%d", r/w}')" "$PEAK_MIB"
}

echo "$BOOKS books, $(awk -v b="$BYTES" 'BEGIN{printf "%.1f", b/1048576}') MiB, $RUNS runs, medians"
echo
echo '| command | wall | rate | peak RSS |'
echo '|---|---:|---:|---:|'
pg_reset='psql -q "$URL" -c "TRUNCATE books, audit_events, books_raw" >/dev/null'
measure "psql \\copy into a plain table (reference)" "$pg_reset" \
  psql -q "$URL" -c "\\copy books_raw FROM '$FILE' WITH (FORMAT csv, HEADER, DELIMITER ';')"
measure "kcl import, PostgreSQL" "$pg_reset" \
  env KCL_DATABASE_URL="$URL" KCL_DATA_DIR="$WORK/pg-data" "$KCL" import "$FILE"
sqlite_reset='rm -rf "$WORK/sqlite-data" "$WORK/raw.db"'
measure "Python sqlite3 executemany into a plain table (reference)" "$sqlite_reset" \
  python3 -c "
import csv, sqlite3, sys
db = sqlite3.connect('$WORK/raw.db')
db.execute('PRAGMA journal_mode=WAL')
db.execute('CREATE TABLE books_raw (title, author, isbn UNIQUE, year, category, copies, price, summary)')
with open('$FILE', encoding='utf-8') as f:
    rows = csv.reader(f, delimiter=';')
    next(rows)
    with db:
        db.executemany('INSERT INTO books_raw VALUES (?,?,?,?,?,?,?,?)', rows)
"
measure "kcl import, SQLite" "$sqlite_reset" \
  env KCL_DATA_DIR="$WORK/sqlite-data" "$KCL" import "$FILE"

echo
echo "kcl seed $SEED from an empty catalog, once:"
eval "$pg_reset"
echo "  PostgreSQL: $(KCL_DATABASE_URL="$URL" KCL_DATA_DIR="$WORK/pg-data" "$KCL" seed "$SEED")"
eval "$sqlite_reset"
echo "  SQLite: $(KCL_DATA_DIR="$WORK/sqlite-data" "$KCL" seed "$SEED")"
