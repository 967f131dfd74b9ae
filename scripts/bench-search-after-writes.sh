#!/usr/bin/env bash
# What books written one at a time do to an uncached dense search on the embedded
# profile, and whether the store's background merge of the full-text index
# (SqliteStore::set_search_merge_interval, 60 s by default) gives the speed back:
# the dense search at 64 connections on a seeded catalog, again right after WRITES
# books created, edited and deleted one at a time through the API, and again once
# the merge interval has passed. For BENCHMARKS.md ("The full-text index after
# single writes").
#
#   scripts/bench-search-after-writes.sh [BOOKS] [WRITES] [SECONDS]
#
# KCL_BENCH_KCL names a release `kcl` binary (else one is built). The catalog is
# seeded once into KCL_BENCH_DIR (default /tmp/kcl-bench-BOOKS, as
# scripts/bench-list.sh does) and copied, so every run starts from the same file.
set -euo pipefail
cd "$(dirname "$0")/.."
books="${1:-100000}" writes="${2:-200}" secs="${3:-8}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
source scripts/bench-common.sh
kcl_binary "${KCL_BENCH_FEATURES:-cli,aws}"
seeded="${KCL_BENCH_DIR:-/tmp/kcl-bench-$books}"
mkdir -p "$seeded"
if [ ! -f "$seeded/.seeded-$books" ]; then
  KCL_DATA_DIR="$seeded" "$KCL_BIN" seed "$books"
  touch "$seeded/.seeded-$books"
fi
data=$(mktemp -d /tmp/kcl-bench-writes.XXXXXX)
http_bench_setup
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$data"' EXIT
cp "$seeded"/kcl.db* "$data"/
auth=(-H "authorization: Bearer $TOKEN")

dense() { # label
  local out
  out=$(wrk -t2 -c64 -d"${secs}s" --latency "${auth[@]}" "$BASE/api/books?q=amor%20caminho&limit=20")
  printf '| %s | %s | %s | %s |\n' "$1" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
}

start_kcl "$data/server.log" env KCL_LOG=warn,kcl_local=debug KCL_LIST_CACHE_TTL_SECS=0 KCL_DATA_DIR="$data" "$KCL_BIN" serve
echo "$books books, $(nproc) cores, wrk -t2 -c64 -d${secs}s, listing cache off, $KCL_BIN"
echo
echo "| index | dense search req/s | p50 | p99 |"
echo "|---|---:|---:|---:|"
dense "as seeded"
# Every third write edits the book created before it, every ninth deletes one.
python3 - "$BASE" "$TOKEN" "$writes" <<'EOF'
import json, random, sys, urllib.request
base, token, writes = sys.argv[1], sys.argv[2], int(sys.argv[3])
words = "amor caminho livro casa tempo vida noite mar sol terra".split()
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r) if r.status != 204 else None
def isbn(n):
    body = f"978{n:09d}"
    s = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - s % 10) % 10)
random.seed(1)
made = []
for k in range(writes):
    title = " ".join(random.sample(words, 3)).title()
    if k % 9 == 8 and made:
        b = made.pop()
        call("DELETE", f"/api/books/{b['id']}")
    elif k % 3 == 2 and made:
        b = made[-1]
        made[-1] = call("PUT", f"/api/books/{b['id']}", {"version": b["version"], "title": title,
            "author": b["author"], "isbn": b["isbn"], "year": b["year"]})
    else:
        made.append(call("POST", "/api/books", {"title": title, "author": "Ana Lima",
            "isbn": isbn(900_000_000 + k), "year": 2020}))
EOF
dense "after $writes single writes"
sleep 70
dense "70 s later"
grep -c "full-text index merged" "$data/server.log" | sed 's/^/merges logged: /' || true
