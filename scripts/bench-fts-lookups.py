#!/usr/bin/env python3
"""What one full-text lookup costs in an embedded profile's SQLite file, before and
after FTS5's `optimize` (done on a copy): the per-row test of a dense search's walk,
its page, the capped count and all matches. For BENCHMARKS.md ("The full-text index
in one piece").

    python3 -m venv /tmp/apsw && /tmp/apsw/bin/pip install apsw
    /tmp/apsw/bin/python scripts/bench-fts-lookups.py KCL_DATA_DIR/kcl.db

Needs the `apsw` module (PyPI), which carries a SQLite recent enough for the
table's `contentless_delete` (Debian's sqlite3 is not). Each statement is run once
to warm the page cache, then timed over N runs (the mean is printed).
"""

import shutil
import sys
import tempfile
import time

import apsw

MATCH = '"amor"* AND "caminho"*'


def measure(path, label):
    db = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)

    def timed(name, sql, args=(), n=300):
        list(db.cursor().execute(sql, args))
        start = time.perf_counter()
        for _ in range(n):
            list(db.cursor().execute(sql, args))
        print(f"| {label} | {name} | {(time.perf_counter() - start) / n * 1e6:,.0f} µs |")

    row = list(db.cursor().execute("SELECT row_id FROM books ORDER BY title_key LIMIT 1"))[0][0]
    bound = list(db.cursor().execute(
        "SELECT title_key, id FROM books ORDER BY title_key, id LIMIT 1 OFFSET 1999"))[0]
    segments = list(db.cursor().execute("SELECT count(*) FROM books_fts_data"))[0][0]
    print(f"| {label} | (rows of books_fts_data: {segments:,}) | |")
    for m in ['"zzzz"*', '"amor"*', MATCH]:
        timed(f"one row's test, {m}",
              "SELECT EXISTS (SELECT 1 FROM books_fts WHERE rowid = ? AND books_fts MATCH ?)",
              (row, m))
    timed("a dense search's page (the walk, 20 books)",
          "SELECT id FROM books WHERE EXISTS (SELECT 1 FROM books_fts WHERE rowid = books.row_id "
          "AND books_fts MATCH ?) AND (title_key, id) <= (?, ?) ORDER BY title_key, id LIMIT 20",
          (MATCH, bound[0], bound[1]))
    timed("its count, capped at 1,000",
          "SELECT count(*) FROM (SELECT 1 FROM books_fts JOIN books ON books.row_id = "
          "books_fts.rowid WHERE books_fts MATCH ? LIMIT 1000)", (MATCH,), 100)
    timed("all its matches", "SELECT count(*) FROM books_fts WHERE books_fts MATCH ?", (MATCH,), 20)


def main():
    path = sys.argv[1]
    print("| index | statement | time |")
    print("|---|---|---:|")
    measure(path, "as stored")
    with tempfile.TemporaryDirectory() as d:
        copy = f"{d}/kcl.db"
        src = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
        dst = apsw.Connection(copy)
        with dst.backup("main", src, "main") as b:
            b.step()
        start = time.perf_counter()
        dst.cursor().execute("INSERT INTO books_fts (books_fts) VALUES ('optimize')")
        print(f"| optimized | (optimize itself: {time.perf_counter() - start:.2f} s) | |")
        dst.close()
        measure(copy, "optimized")
    return 0


if __name__ == "__main__":
    sys.exit(main())
