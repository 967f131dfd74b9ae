#!/usr/bin/env python3
"""What books written one at a time do to the full-text index of an embedded
profile's SQLite file, and what merging it back costs: on a copy, N single-row
write transactions on `books_fts` (every third one an edit, which leaves a
tombstone), then one lookup's cost; then a merge (FTS5 `merge` in steps of
PAGES pages: negative, the whole index as KCL's background merge does it;
positive, the small segments only), its steps and their longest, and the lookups
again. For BENCHMARKS.md ("The full-text index after single writes").

    python3 -m venv /tmp/apsw && /tmp/apsw/bin/pip install apsw
    /tmp/apsw/bin/python scripts/bench-fts-single-writes.py KCL_DATA_DIR/kcl.db 200 -64

Needs the `apsw` module (PyPI), as scripts/bench-fts-lookups.py does.
"""

import random
import sys
import tempfile
import time

import apsw

MATCH = '"amor"* AND "caminho"*'
WORDS = "amor caminho livro casa tempo vida noite mar sol terra".split()


def segments(db):
    """Levels and segments, from the index's structure record (id 10)."""
    block = list(db.cursor().execute("SELECT block FROM books_fts_data WHERE id = 10"))[0][0]
    at = 8 if block[4:8] == b"\xff\x00\x00\x01" else 4
    out = []
    for _ in range(2):
        v = 0
        while True:
            b = block[at]
            at += 1
            v = (v << 7) | (b & 0x7F)
            if b < 0x80:
                break
        out.append(v)
    return f"{out[1]} segment(s) on {out[0]} level(s)"


def lookups(db, label):
    c = db.cursor()
    row = list(c.execute("SELECT row_id FROM books ORDER BY title_key LIMIT 1"))[0][0]
    bound = list(c.execute(
        "SELECT title_key, id FROM books ORDER BY title_key, id LIMIT 1 OFFSET 1999"))[0]

    def timed(name, sql, args, n):
        list(c.execute(sql, args))
        start = time.perf_counter()
        for _ in range(n):
            list(c.execute(sql, args))
        print(f"| {label} | {name} | {(time.perf_counter() - start) / n * 1e6:,.0f} µs |")

    print(f"| {label} | ({segments(db)}) | |")
    timed("one row's test", "SELECT EXISTS (SELECT 1 FROM books_fts WHERE rowid = ? "
          "AND books_fts MATCH ?)", (row, MATCH), 300)
    timed("a dense search's page (the walk, 20 books)",
          "SELECT id FROM books WHERE EXISTS (SELECT 1 FROM books_fts WHERE rowid = "
          "books.row_id AND books_fts MATCH ?) AND (title_key, id) <= (?, ?) "
          "ORDER BY title_key, id LIMIT 20", (MATCH, bound[0], bound[1]), 100)


def main():
    path, writes, pages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with tempfile.TemporaryDirectory() as d:
        db = apsw.Connection(f"{d}/kcl.db")
        src = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
        with db.backup("main", src, "main") as b:
            b.step()
        c = db.cursor()
        print("| index | statement | time |")
        print("|---|---|---:|")
        lookups(db, "as stored")
        last = list(c.execute("SELECT max(rowid) FROM books_fts"))[0][0]
        random.seed(1)
        start = time.perf_counter()
        for k in range(writes):
            c.execute("BEGIN IMMEDIATE")
            if k % 3 == 2:
                r = random.randint(1, last)
                c.execute("DELETE FROM books_fts WHERE rowid = ?", (r,))
                c.execute("INSERT INTO books_fts (rowid, words) VALUES (?, ?)",
                          (r, " ".join(random.sample(WORDS, 4))))
            else:
                last += 1
                c.execute("INSERT INTO books_fts (rowid, words) VALUES (?, ?)",
                          (last, " ".join(random.sample(WORDS, 4))))
            c.execute("COMMIT")
        took = time.perf_counter() - start
        lookups(db, f"after {writes} single writes ({took / writes * 1e6:.0f} µs each)")
        if pages > 0:
            c.execute("INSERT INTO books_fts (books_fts, rank) VALUES ('usermerge', 2)")
        steps, longest, start = 0, 0.0, time.perf_counter()
        while True:
            before = list(c.execute("SELECT block FROM books_fts_data WHERE id = 10"))[0][0]
            s = time.perf_counter()
            c.execute("INSERT INTO books_fts (books_fts, rank) VALUES ('merge', ?)", (pages,))
            longest = max(longest, time.perf_counter() - s)
            after = list(c.execute("SELECT block FROM books_fts_data WHERE id = 10"))[0][0]
            if before == after:
                break
            steps += 1
        lookups(db, f"merged ('merge', {pages}): {steps} steps, {time.perf_counter() - start:.2f} s, "
                    f"longest {longest * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
