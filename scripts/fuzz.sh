#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ and runs each for a bounded time, on the
# stable compiler (RUSTC_BOOTSTRAP=1: no nightly toolchain needed). Exits nonzero if
# any target finds a crash, a leak, a timeout or an input over the memory limit,
# printing the input's path and the command that replays it.
#
#   KCL_FUZZ_CORPUS=fresh scripts/fuzz.sh  # 20 s per target from the seeds (CI)
#   scripts/fuzz.sh                        # 20 s per target, corpora kept
#   scripts/fuzz.sh 600                    # 10 min per target (before a release)
#   scripts/fuzz.sh 60 api_json multipart  # only these targets
#   KCL_FUZZ_SECONDS=60 scripts/fuzz.sh
#
# Environment:
#   KCL_FUZZ_SECONDS  seconds per target when no argument is given (default 20)
#   KCL_FUZZ_RSS_MB   libFuzzer's -rss_limit_mb (default 2048; ASan roughly doubles
#                     what the code itself uses)
#   KCL_FUZZ_TIMEOUT  seconds one input may take (default 30)
#   KCL_FUZZ_DIR      where corpora, crash inputs and logs go (default
#                     ~/.cache/kcl-fuzz; never in the repository)
#   KCL_FUZZ_CORPUS   keep (default): each target's corpus is kept in KCL_FUZZ_DIR
#                     and grows from run to run; fresh: each run starts from the
#                     seeds in a temporary folder (what CI wants: a grown corpus is
#                     replayed whole before fuzzing starts, about 20 s per 2,000
#                     inputs of the server targets, so short runs would grow longer)
#   CARGO_TARGET_DIR  the build goes to $CARGO_TARGET_DIR/fuzz (default
#                     ~/.cache/kcl-target/fuzz), so CI reuses it
#
# The committed seeds (fuzz/seeds/TARGET, plus the image fixtures for
# upload_validator and the S3 event fixtures for s3_event and task_message) are read,
# never written; new inputs go to $KCL_FUZZ_DIR/corpus/TARGET (or the temporary
# folder).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

seconds="${KCL_FUZZ_SECONDS:-20}"
if [ $# -gt 0 ]; then
  seconds="$1"
  shift
fi
case "$seconds" in
  ''|*[!0-9]*) echo "seconds per target must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac
rss_mb="${KCL_FUZZ_RSS_MB:-2048}"
timeout="${KCL_FUZZ_TIMEOUT:-30}"
work="${KCL_FUZZ_DIR:-$HOME/.cache/kcl-fuzz}"
corpus_mode="${KCL_FUZZ_CORPUS:-keep}"
case "$corpus_mode" in
  keep) corpora="$work/corpus" ;;
  fresh) corpora="$(mktemp -d)"; trap 'rm -rf "$corpora"' EXIT ;;
  *) echo "KCL_FUZZ_CORPUS is keep or fresh, not '$corpus_mode'" >&2; exit 2 ;;
esac
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
fuzz_target_dir="$CARGO_TARGET_DIR/fuzz"
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

started=$(date +%s)
echo "==> building ${#targets[@]} fuzz targets (release, ASan) in $fuzz_target_dir"
if [ $# -gt 0 ]; then
  for t in "${targets[@]}"; do cargo fuzz build --target-dir "$fuzz_target_dir" "$t"; done
else
  cargo fuzz build --target-dir "$fuzz_target_dir"
fi
built=$(date +%s)
echo "built in $((built - started)) s"

# Read-only seed folders of a target, beyond fuzz/seeds/TARGET.
extra_seeds() {
  case "$1" in
    upload_validator) echo "$root/kcl-core/src/testkit/fixtures" ;;
    s3_event|task_message) echo "$root/tests/fixtures/lambda" ;;
  esac
}

# libFuzzer options of a target. The server targets run tens of inputs a second:
# without -len_control=0 libFuzzer would keep their inputs a few bytes long for
# most of a short run.
target_opts() {
  case "$1" in
    api_json|s3_event) echo "-len_control=0 -max_len=8192" ;;
    multipart) echo "-len_control=0 -max_len=16384" ;;
  esac
}

failed=()
summary=()
for t in "${targets[@]}"; do
  corpus="$corpora/$t"
  artifacts="$work/artifacts/$t"
  log="$work/logs/$t.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  seeds=()
  [ -d "$root/fuzz/seeds/$t" ] && seeds+=("$root/fuzz/seeds/$t")
  for s in $(extra_seeds "$t"); do seeds+=("$s"); done
  opts=(-max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout"
        -artifact_prefix="$artifacts/" -print_final_stats=1)
  [ -f "$root/fuzz/dict/$t.dict" ] && opts+=(-dict="$root/fuzz/dict/$t.dict")
  for o in $(target_opts "$t"); do opts+=("$o"); done
  echo "==> $t: ${seconds} s (corpus $corpus)"
  before=$(date +%s)
  set +e
  cargo fuzz run --target-dir "$fuzz_target_dir" "$t" "$corpus" "${seeds[@]}" -- "${opts[@]}" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | sed 's/cov: //')
  inputs=$(find "$corpus" -type f | wc -l)
  summary+=("$(printf '%-18s %6s s %10s runs %7s/s  cov %6s  corpus %6s' "$t" "$(( $(date +%s) - before ))" "${runs:-?}" "${rate:-?}" "${cov:-?}" "$inputs")")
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    echo "!! $t failed (exit $rc); the end of its log ($log):"
    tail -n 60 "$log"
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    if [ -n "$artifact" ]; then
      echo "!! input: $artifact"
      echo "!! replay: RUSTC_BOOTSTRAP=1 cargo fuzz run --target-dir \"$fuzz_target_dir\" $t '$artifact'"
      echo "!! shrink: RUSTC_BOOTSTRAP=1 cargo fuzz tmin --target-dir \"$fuzz_target_dir\" $t '$artifact'"
    fi
  fi
done

echo
echo "==> fuzzing summary (build $((built - started)) s, total $(( $(date +%s) - started )) s, corpora: $corpus_mode)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]} (inputs under $work/artifacts/)"
  exit 1
fi
echo "no crash in ${#targets[@]} targets"
