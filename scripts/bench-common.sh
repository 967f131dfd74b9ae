# Helpers shared by the scripts/bench-*.sh scripts: `source "$(dirname "$0")/bench-common.sh"`.

# median_of_runs RUNS RESET COMMAND...: runs COMMAND RUNS times, each after `eval
# RESET`, and sets WALL (the median wall seconds) and PEAK_MIB (the largest peak
# RSS). A failed run prints its output and ends the script. Needs /usr/bin/time.
median_of_runs() {
  local runs="$1" reset="$2"; shift 2
  local walls=() peaks=() out time wall peak
  out=$(mktemp) time=$(mktemp)
  for _ in $(seq "$runs"); do
    eval "$reset"
    /usr/bin/time -f '%e %M' -o "$time" "$@" > "$out" 2>&1 || { cat "$out"; exit 1; }
    read -r wall peak < "$time"
    walls+=("$wall"); peaks+=("$peak")
  done
  rm -f "$out" "$time"
  WALL=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  PEAK_MIB=$(printf '%s\n' "${peaks[@]}" | sort -n | tail -1 | awk '{printf "%.1f", $1 / 1024}')
}

# http_bench_setup: PORT and BASE (a free-looking local port), SECRET and an admin
# bearer TOKEN signed with it (scripts/bench-token.py), and a trap that stops the
# server `start_kcl` started.
http_bench_setup() {
  PORT=$(( 20000 + RANDOM % 20000 ))
  BASE="http://127.0.0.1:$PORT"
  PID=""
  trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null || true' EXIT
  SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
  TOKEN=$(python3 "$(dirname "${BASH_SOURCE[0]}")/bench-token.py" "$SECRET")
}

# start_kcl LOG COMMAND...: starts a KCL server (COMMAND, with KCL_HTTP_ADDR and
# KCL_AUTH_JWT_SECRET set from http_bench_setup) in the background, its stderr in
# LOG, sets PID and waits until /health/live answers.
start_kcl() {
  local log="$1"; shift
  KCL_HTTP_ADDR="127.0.0.1:$PORT" KCL_AUTH_JWT_SECRET="$SECRET" "$@" 2>"$log" &
  PID=$!
  for _ in $(seq 1 100); do curl -fsS "$BASE/health/live" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "the server did not answer on $BASE; its log:" >&2; cat "$log" >&2; exit 1
}

# stop_kcl: stops the server start_kcl started.
stop_kcl() {
  kill "$PID"; wait "$PID" || true; PID=""
}

# kcl_binary FEATURES: sets KCL_BIN to $KCL_BENCH_KCL when given (a `kcl` binary
# built already: nothing is built), else builds the release `kcl` binary with
# FEATURES into $CARGO_TARGET_DIR.
kcl_binary() {
  if [ -n "${KCL_BENCH_KCL:-}" ]; then
    KCL_BIN="$KCL_BENCH_KCL"
  else
    cargo build --quiet --release --features "$1" --bin kcl
    KCL_BIN="$CARGO_TARGET_DIR/release/kcl"
  fi
}

# ocr_bench_setup [DEBIAN PACKAGES...]: installs what the OCR benchmarks need
# (Debian's tesseract-ocr, tesseract-ocr-eng and the set's fonts, plus the packages
# named) and Pillow in a virtual environment under ~/.cache; sets VENV.
ocr_bench_setup() {
  local need=("$@")
  command -v tesseract >/dev/null || need+=(tesseract-ocr tesseract-ocr-eng)
  [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
  [ -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || need+=(fonts-liberation)
  [ -e /usr/share/fonts/opentype/urw-base35/NimbusSans-Regular.otf ] || need+=(fonts-urw-base35)
  if [ ${#need[@]} -gt 0 ]; then
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
  fi
  VENV="$HOME/.cache/kcl-bench-venv"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import PIL' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'pillow>=10,<12'
  fi
}
