#!/usr/bin/env bash
# How long other writers wait while a big sales file loads on the embedded profile
# (SQLite has one write lock): the release server on a fresh data folder, a book with
# plenty of copies, then a sales CSV of ROWS rows posted while a loop rents and returns
# the book every 50 ms; prints the load's time and the latencies of those writes
# (before, during and after the load).
#
#   scripts/bench-sales-writers.sh [ROWS]
#
# Needs curl and python3; builds the server and the CSV generator.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
WORK="$(mktemp -d)"
trap 'kill $server 2>/dev/null || true; rm -rf "$WORK"' EXIT

cargo build --release -q --example server
cargo build --release -q -p kcl-core --example sales_gen
BIN="$CARGO_TARGET_DIR/release/examples"
"$BIN/sales_gen" --rows "$ROWS" --stores 20 --seed 1 > "$WORK/sales.csv"

secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
token=$(python3 - "$secret" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "bench", "role": "admin", "exp": int(time.time()) + 3600}).encode())
sig = hmac.new(sys.argv[1].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
print(f"{head}.{body}.{b64(sig)}")
PY
)
port=18093
base="http://127.0.0.1:$port"
KCL_DATA_DIR="$WORK/data" KCL_HTTP_ADDR="127.0.0.1:$port" KCL_AUTH_JWT_SECRET="$secret" \
  KCL_LOG=warn KCL_SPOOL_DIR="$WORK" "$BIN/server" >"$WORK/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -fsS "$base/health/live" >/dev/null 2>&1 && break; sleep 0.1; done
auth=(-H "authorization: Bearer $token")
book=$(curl -fsS "${auth[@]}" -H 'content-type: application/json' -X POST "$base/api/books" \
  -d '{"title":"Vidas Secas","author":"Graciliano Ramos","isbn":"9788535910667","year":1938,"copies":1000}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
due=$(date -u -d '+7 days' +%F)

# Rent and return every 50 ms, logging "phase seconds status" per request (both are
# writes: either may be the one that meets the load's lock).
rent_loop() {
  while [ ! -e "$WORK/stop" ]; do
    phase=$(cat "$WORK/phase")
    r=$(curl -s -o "$WORK/rental.json" -w '%{time_total} %{http_code}' "${auth[@]}" \
      -H 'content-type: application/json' -X POST "$base/api/rentals" \
      -d "{\"book_id\":\"$book\",\"renter\":\"bench\",\"due_date\":\"$due\"}")
    echo "$phase $r" >> "$WORK/latency"
    id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("id",""))' "$WORK/rental.json" 2>/dev/null || true)
    if [ -n "$id" ]; then
      r=$(curl -s -o /dev/null -w '%{time_total} %{http_code}' "${auth[@]}" -X POST "$base/api/rentals/$id/return")
      echo "$phase $r" >> "$WORK/latency"
    fi
    sleep 0.05
  done
}
echo before > "$WORK/phase"
rent_loop &
looper=$!
sleep 3
echo during > "$WORK/phase"
start=$(date +%s.%N)
code=$(curl -s -o "$WORK/load.json" -w '%{http_code}' "${auth[@]}" -H 'content-type: text/csv' \
  --data-binary @"$WORK/sales.csv" "$base/api/sales/files?name=bench.csv")
end=$(date +%s.%N)
echo after > "$WORK/phase"
sleep 3
touch "$WORK/stop"
wait $looper
python3 - "$WORK/latency" "$code" "$start" "$end" "$ROWS" <<'PY'
import sys, statistics
path, code, start, end, rows = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
by, failed = {}, {}
for line in open(path):
    parts = line.split()
    if len(parts) != 3:
        continue
    phase, t, status = parts
    by.setdefault(phase, []).append(float(t) * 1000)
    if status not in ("200", "201"):
        failed.setdefault(phase, []).append(status)
print(f"sales load of {rows} rows: HTTP {code}, {end - start:.1f} s")
print("| rent + return requests | requests | failed | p50 | p99 | max |")
print("|---|---:|---:|---:|---:|---:|")
for phase in ("before", "during", "after"):
    v = sorted(by.get(phase, []))
    if not v:
        continue
    p = lambda q: v[min(len(v) - 1, int(q * len(v)))]
    bad = failed.get(phase, [])
    codes = ", ".join(sorted(set(bad)))
    print(f"| {phase} the load | {len(v)} | {len(bad)}{f' ({codes})' if bad else ''} | "
          f"{p(0.5):.1f} ms | {p(0.99):.1f} ms | {v[-1]:.1f} ms |")
PY
