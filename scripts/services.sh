#!/usr/bin/env bash
# Starts (or finds) the services the tests need and prints `export` lines for them:
#
#   eval "$(scripts/services.sh start)"   # sets KCL_TEST_POSTGRES_URL, KCL_TEST_REDIS_URL,
#                                         # KCL_TEST_AWS_ENDPOINT
#   scripts/services.sh stop              # stops what `start` started
#
# PostgreSQL: uses a server already answering on 127.0.0.1:5432 (trust auth), else
# installs Debian's packages if needed and starts a private cluster under
# $KCL_SERVICES_DIR (default ~/.cache/kcl-services) on port 54329. Each run gets a
# fresh database; the tests create their own databases next to it.
# Redis: uses one answering on 127.0.0.1:6379, else installs `redis-server` if needed
# and starts a private one on port 63799 (nothing kept on disk).
# AWS emulator: installs moto (PyPI `moto[server]`) into a virtualenv under
# $KCL_SERVICES_DIR and starts it on 127.0.0.1:${KCL_MOTO_PORT:-5599} with a pid file;
# it keeps state in memory only, so every run starts empty.
# TLS (always private, beside the plain ones): a test CA and a server certificate for
# 127.0.0.1/localhost made with openssl under $KCL_SERVICES_DIR/tls (plus a second,
# unrelated CA for the "wrong CA" tests); a PostgreSQL cluster on port 54331 with
# `ssl = on` that accepts TCP clients over TLS only (`hostssl`), and a Redis with
# `tls-port` 63800 and no plain port. Sets KCL_TEST_POSTGRES_TLS_URL (no sslmode:
# tests add it), KCL_TEST_REDIS_TLS_URL (rediss://), KCL_TEST_TLS_CA and
# KCL_TEST_TLS_WRONG_CA (PEM files).
# Read replicas (always private): a PostgreSQL primary on port 54335 (wal_level
# replica) and a hot standby of it on 54336, made with pg_basebackup and streaming
# its WAL. Sets KCL_TEST_POSTGRES_PRIMARY_URL and KCL_TEST_POSTGRES_REPLICA_URL (no
# database: tests create theirs on the primary and see it appear on the standby).
# DuckDB: installs DuckDB from PyPI into a virtualenv under $KCL_SERVICES_DIR and sets
# KCL_TEST_DUCKDB_PYTHON to its Python (the curated-copies query test).
# KCL_SERVICES_PRIVATE=1 always starts private servers.
set -euo pipefail
dir="${KCL_SERVICES_DIR:-$HOME/.cache/kcl-services}"
mkdir -p "$dir"
pg_port=54329
# PostgreSQL refuses to run as root: as root, its clusters live where the `postgres`
# user can reach them (a home folder such as /root is closed to it).
if [ "$(id -u)" = 0 ]; then pg_dir="${KCL_PG_DIR:-/var/tmp/kcl-services-pg}"; else pg_dir="$dir"; fi
mkdir -p "$pg_dir"

as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}

start_postgres() {
  local base
  if [ -z "${KCL_SERVICES_PRIVATE:-}" ] && command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
    base="postgres://postgres@127.0.0.1:5432"
  else
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$bin" ]; then apt_install postgresql; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); fi
    local data="$pg_dir/pg"
    mkdir -p "$data" && chmod 700 "$data"
    [ "$(id -u)" = 0 ] && chown postgres "$pg_dir" "$data"
    [ -f "$data/PG_VERSION" ] || as_postgres "$bin/initdb -D '$data' -A trust -U postgres" >&2
    as_postgres "$bin/pg_ctl -D '$data' -w -l '$data/log' -o \"-h 127.0.0.1 -p $pg_port -k '$data' -c fsync=off\" start" >&2
    touch "$dir/pg.started-by-us"
    base="postgres://postgres@127.0.0.1:$pg_port"
  fi
  local db="kcl_ci_$(date +%s)_$$"
  psql -q "$base/postgres" -c "CREATE DATABASE $db" >&2
  echo "$db" > "$dir/pg.database"
  echo "$base" > "$dir/pg.base"
  echo "export KCL_TEST_POSTGRES_URL='$base/$db'"
}

stop_postgres() {
  if [ -f "$dir/pg.database" ] && [ -f "$dir/pg.base" ]; then
    psql -q "$(cat "$dir/pg.base")/postgres" -c "DROP DATABASE IF EXISTS $(cat "$dir/pg.database") WITH (FORCE)" >&2 || true
    rm -f "$dir/pg.database"
  fi
  if [ -f "$dir/pg.started-by-us" ]; then
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    as_postgres "$bin/pg_ctl -D '$pg_dir/pg' -w stop" >&2 || true
    rm -f "$dir/pg.started-by-us"
  fi
}

start_redis() {
  if [ -z "${KCL_SERVICES_PRIVATE:-}" ] && command -v redis-cli >/dev/null \
    && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; then
    echo "export KCL_TEST_REDIS_URL='redis://127.0.0.1:6379'"
    return
  fi
  command -v redis-server >/dev/null || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 63799 --save "" --appendonly no \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
  for _ in $(seq 1 50); do
    [ "$(redis-cli -h 127.0.0.1 -p 63799 ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
  done
  touch "$dir/redis.started-by-us"
  echo "export KCL_TEST_REDIS_URL='redis://127.0.0.1:63799'"
}

stop_redis() {
  if [ -f "$dir/redis.started-by-us" ]; then
    redis-cli -h 127.0.0.1 -p 63799 shutdown nosave >/dev/null 2>&1 || true
    rm -f "$dir/redis.started-by-us"
  fi
}

tls_dir="$dir/tls"
pg_tls_port=54331
redis_tls_port=63800

make_tls_files() {
  command -v openssl >/dev/null || apt_install openssl
  mkdir -p "$tls_dir"
  [ -f "$tls_dir/server.crt" ] && [ -f "$tls_dir/wrong-ca.crt" ] && return
  (
    cd "$tls_dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=KCL test CA" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Unrelated CA" \
      -keyout wrong-ca.key -out wrong-ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
      -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.crt 2>/dev/null
    chmod 644 ca.crt wrong-ca.crt server.crt
    chmod 600 server.key ca.key wrong-ca.key
  )
}

start_postgres_tls() {
  local bin data="$pg_dir/pg-tls"
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bin" ]; then apt_install postgresql; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); fi
  if ! pg_isready -q -h 127.0.0.1 -p "$pg_tls_port" 2>/dev/null; then
    mkdir -p "$data" && chmod 700 "$data"
    [ "$(id -u)" = 0 ] && chown postgres "$pg_dir" "$data"
    [ -f "$data/PG_VERSION" ] || as_postgres "$bin/initdb -D '$data' -A trust -U postgres" >&2
    cp "$tls_dir/server.crt" "$tls_dir/server.key" "$data/"
    [ "$(id -u)" = 0 ] && chown postgres "$data/server.crt" "$data/server.key"
    chmod 600 "$data/server.key"
    # TCP clients over TLS only; the local socket for administration.
    printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n' > "$data/pg_hba.conf"
    [ "$(id -u)" = 0 ] && chown postgres "$data/pg_hba.conf"
    as_postgres "$bin/pg_ctl -D '$data' -w -l '$data/log' -o \"-h 127.0.0.1 -p $pg_tls_port -k '$data' -c fsync=off -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key\" start" >&2
    touch "$dir/pg-tls.started-by-us"
  fi
  echo "export KCL_TEST_POSTGRES_TLS_URL='postgres://postgres@127.0.0.1:$pg_tls_port/postgres'"
}

stop_postgres_tls() {
  if [ -f "$dir/pg-tls.started-by-us" ]; then
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    as_postgres "$bin/pg_ctl -D '$pg_dir/pg-tls' -w stop" >&2 || true
    rm -f "$dir/pg-tls.started-by-us"
  fi
}

start_redis_tls() {
  command -v redis-server >/dev/null || apt_install redis-server
  if ! redis-cli --tls --cacert "$tls_dir/ca.crt" -h 127.0.0.1 -p "$redis_tls_port" ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 0 --tls-port "$redis_tls_port" \
      --tls-cert-file "$tls_dir/server.crt" --tls-key-file "$tls_dir/server.key" \
      --tls-ca-cert-file "$tls_dir/ca.crt" --tls-auth-clients no \
      --save "" --appendonly no --dir "$dir" --pidfile "$dir/redis-tls.pid" \
      --logfile "$dir/redis-tls.log" >&2
    for _ in $(seq 1 50); do
      [ "$(redis-cli --tls --cacert "$tls_dir/ca.crt" -h 127.0.0.1 -p "$redis_tls_port" ping 2>/dev/null)" = PONG ] && break
      sleep 0.1
    done
    [ "$(redis-cli --tls --cacert "$tls_dir/ca.crt" -h 127.0.0.1 -p "$redis_tls_port" ping 2>/dev/null)" = PONG ] \
      || { echo "Redis with TLS did not start; see $dir/redis-tls.log" >&2; exit 1; }
    touch "$dir/redis-tls.started-by-us"
  fi
  echo "export KCL_TEST_REDIS_TLS_URL='rediss://127.0.0.1:$redis_tls_port'"
}

stop_redis_tls() {
  if [ -f "$dir/redis-tls.started-by-us" ]; then
    [ -f "$dir/redis-tls.pid" ] && kill "$(cat "$dir/redis-tls.pid")" 2>/dev/null || true
    rm -f "$dir/redis-tls.started-by-us"
  fi
}

start_tls() {
  make_tls_files
  start_postgres_tls
  start_redis_tls
  echo "export KCL_TEST_TLS_CA='$tls_dir/ca.crt'"
  echo "export KCL_TEST_TLS_WRONG_CA='$tls_dir/wrong-ca.crt'"
}

pg_primary_port=54335
pg_replica_port=54336

start_postgres_replicas() {
  local bin primary="$pg_dir/pg-primary" replica="$pg_dir/pg-replica"
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bin" ]; then apt_install postgresql; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); fi
  [ "$(id -u)" = 0 ] && chown postgres "$pg_dir"
  if ! pg_isready -q -h 127.0.0.1 -p "$pg_primary_port" 2>/dev/null; then
    mkdir -p "$primary" && chmod 700 "$primary"
    [ "$(id -u)" = 0 ] && chown postgres "$primary"
    # initdb's pg_hba.conf lets local TCP clients replicate (trust).
    [ -f "$primary/PG_VERSION" ] || as_postgres "$bin/initdb -D '$primary' -A trust -U postgres" >&2
    as_postgres "$bin/pg_ctl -D '$primary' -w -l '$primary/log' -o \"-h 127.0.0.1 -p $pg_primary_port -k '$primary' -c fsync=off -c wal_level=replica -c max_wal_senders=4\" start" >&2
    touch "$dir/pg-primary.started-by-us"
  fi
  if ! pg_isready -q -h 127.0.0.1 -p "$pg_replica_port" 2>/dev/null; then
    if [ ! -f "$replica/standby.signal" ]; then
      rm -rf "$replica"
      # -R writes standby.signal and primary_conninfo: a hot standby of the primary.
      as_postgres "$bin/pg_basebackup -h 127.0.0.1 -p $pg_primary_port -U postgres -D '$replica' -R -X stream" >&2
      chmod 700 "$replica"
    fi
    as_postgres "$bin/pg_ctl -D '$replica' -w -l '$replica/log' -o \"-h 127.0.0.1 -p $pg_replica_port -k '$replica' -c fsync=off -c hot_standby=on\" start" >&2
    touch "$dir/pg-replica.started-by-us"
  fi
  # A standby paused by a test that did not finish replays again.
  psql -qAt "postgres://postgres@127.0.0.1:$pg_replica_port/postgres" -c "SELECT pg_wal_replay_resume()" >/dev/null 2>&1 || true
  echo "export KCL_TEST_POSTGRES_PRIMARY_URL='postgres://postgres@127.0.0.1:$pg_primary_port'"
  echo "export KCL_TEST_POSTGRES_REPLICA_URL='postgres://postgres@127.0.0.1:$pg_replica_port'"
}

stop_postgres_replicas() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  for which in replica primary; do
    if [ -f "$dir/pg-$which.started-by-us" ]; then
      as_postgres "$bin/pg_ctl -D '$pg_dir/pg-$which' -w stop" >&2 || true
      rm -f "$dir/pg-$which.started-by-us"
    fi
  done
}

moto_port="${KCL_MOTO_PORT:-5599}"

start_moto() {
  local venv="$dir/moto-venv"
  if [ ! -x "$venv/bin/moto_server" ]; then
    command -v python3 >/dev/null || apt_install python3 python3-venv
    python3 -m venv "$venv" >&2 || { apt_install python3-venv; python3 -m venv "$venv" >&2; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]>=5,<6' >&2
  fi
  if ! curl -fsS -o /dev/null "http://127.0.0.1:$moto_port/moto-api/" 2>/dev/null; then
    # scripts/moto_server.py: moto with DynamoDB's conditional writes made atomic.
    nohup "$venv/bin/python" "$(dirname "$0")/moto_server.py" -H 127.0.0.1 -p "$moto_port" >"$dir/moto.log" 2>&1 &
    echo $! > "$dir/moto.pid"
    touch "$dir/moto.started-by-us"
    for _ in $(seq 1 100); do
      curl -fsS -o /dev/null "http://127.0.0.1:$moto_port/moto-api/" 2>/dev/null && break
      sleep 0.2
    done
    curl -fsS -o /dev/null "http://127.0.0.1:$moto_port/moto-api/" \
      || { echo "moto did not start; see $dir/moto.log" >&2; exit 1; }
  fi
  echo "export KCL_TEST_AWS_ENDPOINT='http://127.0.0.1:$moto_port'"
}

stop_moto() {
  if [ -f "$dir/moto.started-by-us" ] && [ -f "$dir/moto.pid" ]; then
    kill "$(cat "$dir/moto.pid")" 2>/dev/null || true
    rm -f "$dir/moto.pid" "$dir/moto.started-by-us"
  fi
}

# DuckDB (PyPI) in a virtualenv of its own, for the test that queries the curated
# Parquet copies as docs/sales.md shows (tests/curated_query.rs). Nothing to start:
# it prints the Python that has it.
duckdb_version="2.0.1"

start_duckdb() {
  local venv="$dir/duckdb-venv"
  if ! "$venv/bin/python" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$duckdb_version')" 2>/dev/null; then
    command -v python3 >/dev/null || apt_install python3 python3-venv
    python3 -m venv "$venv" >&2 || { apt_install python3-venv; python3 -m venv "$venv" >&2; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check "duckdb==$duckdb_version" >&2
  fi
  echo "export KCL_TEST_DUCKDB_PYTHON='$venv/bin/python'"
}

case "${1:-}" in
  start) start_postgres; start_redis; start_tls; start_postgres_replicas; start_moto; start_duckdb ;;
  stop) stop_postgres; stop_redis; stop_postgres_tls; stop_redis_tls; stop_postgres_replicas; stop_moto ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
