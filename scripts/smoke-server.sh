#!/usr/bin/env bash
# Runs the server example as a user would: start it on a fresh data dir, read the
# admin password it prints once, get a token, create a book, log in to the web UI,
# stop it with SIGTERM, start it again and read the book back with the same token.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"

cargo build --quiet --example server
bin="$CARGO_TARGET_DIR/debug/examples/server"
data="$(mktemp -d)"
# A free port, asked of the kernel.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
  || echo $(( 20000 + RANDOM % 20000 )))
export KCL_DATA_DIR="$data" KCL_HTTP_ADDR="127.0.0.1:$port"
base="http://127.0.0.1:$port"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$data"; }
trap cleanup EXIT

start() {
  "$bin" >"$data/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "$base/health/live" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$data/server.log"; echo "server did not start"; exit 1
}

stop() {
  kill -TERM "$pid"
  wait "$pid"  # set -e: a non-zero exit fails the script
  pid=""
}

start
# Captured, then matched: `curl | grep -q` can fail under pipefail (SIGPIPE).
health=$(curl -fsS "$base/health")
grep -q '"status":"ok"' <<<"$health" || { echo "not ready: $health"; exit 1; }
password=$(sed -nE 's/.*shown only this once \(only a hash is kept\): (.*)$/\1/p' "$data/server.log")
[ -n "$password" ] || { cat "$data/server.log"; echo "no admin password printed on first start"; exit 1; }
status=$(curl -s -o /dev/null -w '%{http_code}' "$base/api/books")
[ "$status" = 401 ] || { echo "an anonymous read answered $status, not 401"; exit 1; }
answer=$(curl -fsS -X POST "$base/api/auth/token" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}")
token=$(printf '%s' "$answer" | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
auth=(-H "authorization: Bearer $token")
created=$(curl -fsS "${auth[@]}" -X POST "$base/api/books" -H 'content-type: application/json' \
  -d '{"title":"Dom Casmurro","author":"Machado de Assis","isbn":"9788535910667","year":1899,"copies":1}')
id=$(printf '%s' "$created" | sed -E 's/.*"id":"([0-9a-f-]+)".*/\1/')
status=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" -X POST "$base/api/books" -H 'content-type: application/json' -d '{"title":1}')
[ "$status" = 422 ] || { echo "bad input answered $status"; exit 1; }
# The web UI: log in with the form, keep the session cookie, see the book.
jar="$data/cookies"
curl -fsS -o /dev/null -c "$jar" -X POST "$base/login" --data-urlencode username=admin \
  --data-urlencode "password=$password" --data-urlencode next=/
page=$(curl -fsS -b "$jar" "$base/")
grep -q 'Dom Casmurro' <<<"$page" || { echo "the web page does not list the book"; exit 1; }
metrics=$(curl -fsS "$base/metrics")
grep -q '^kcl_http_requests_total' <<<"$metrics" || { echo "no request metrics"; exit 1; }
stop
grep -q 'shutting down' "$data/server.log" || { cat "$data/server.log"; echo "no graceful shutdown"; exit 1; }

start
if grep -q 'shown only this once' "$data/server.log"; then
  echo "the admin password was printed again"; exit 1
fi
book=$(curl -fsS "${auth[@]}" "$base/api/books/$id")
grep -q '"title":"Dom Casmurro"' <<<"$book" || { echo "the book did not survive: $book"; exit 1; }
stop
echo "smoke test passed: first-start admin, token, login, create, SIGTERM, restart, data and secret kept"
