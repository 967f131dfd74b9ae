#!/usr/bin/env bash
# Instructions per HTTP request of a `kcl` binary, counted by callgrind: repeatable
# whatever else the machine is doing, where requests per second on 2 shared cores
# move by ±15 % between runs. The server runs under valgrind on a seeded data dir
# with authentication on; one keep-alive client sends 300 warm-up requests, the
# counters are zeroed, then N requests are counted.
#
#   scripts/bench-instructions.sh KCL DATA_DIR PATH [N=2000]
#
# KCL: a `kcl` binary (release); DATA_DIR: a data dir seeded with `kcl seed`;
# PATH: for example /health/live or '/api/books?limit=20'. Prints the binary, the
# path, N, the instructions counted and the instructions per request. Needs
# valgrind (Debian package). The server inherits the environment: for example
# KCL_LIST_CACHE_TTL_SECS=0 counts uncached listings.
set -euo pipefail
bin="$(realpath "${1:?usage: $0 KCL DATA_DIR PATH [N]}")"
data="$(realpath "${2:?usage: $0 KCL DATA_DIR PATH [N]}")"
path="${3:?usage: $0 KCL DATA_DIR PATH [N]}"
n="${4:-2000}"
cd "$(dirname "$0")/.."
command -v callgrind_control >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind; }
out="$(mktemp -d)"
secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
token=$(python3 scripts/bench-token.py "$secret")
port=$(( 20000 + RANDOM % 20000 ))
KCL_LOG=warn KCL_DATA_DIR="$data" KCL_HTTP_ADDR="127.0.0.1:$port" KCL_AUTH_JWT_SECRET="$secret" \
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.%p" "$bin" serve 2>"$out/valgrind.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 600); do curl -fsS -o /dev/null "http://127.0.0.1:$port/health/live" 2>/dev/null && break; sleep 0.2; done
send() { # count
  python3 - "$port" "$path" "$token" "$1" <<'PY'
import http.client, sys
port, path, token, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = http.client.HTTPConnection("127.0.0.1", int(port))
for _ in range(n):
    c.request("GET", path, headers={"authorization": "Bearer " + token})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit(f"{path} answered {r.status}")
PY
}
send 300
callgrind_control -z "$pid" >/dev/null 2>&1
send "$n"
callgrind_control -d "$pid" >/dev/null 2>&1
total=$(awk '/^summary:/ {print $2; exit}' "$out/cg.$pid.1")
printf '%s\t%s\t%s\t%s\t%s\n' "$(basename "$bin")" "$path" "$n" "$total" "$((total / n))"
