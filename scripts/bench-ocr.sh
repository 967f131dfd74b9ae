#!/usr/bin/env bash
# OCR figures for BENCHMARKS.md, all in one run on the same images:
#   - per-image time of KCL's in-process engine (kcl-media's examples/ocr_engine, one warm engine) against
#     the `tesseract` command line run once per image (the seed's way: it loads its
#     model every time), by number of text lines;
#   - the character error rate of both against the rendered truth;
#   - throughput with 1 and 2 threads (one warm engine each).
#
#   scripts/bench-ocr.sh [--dense] [RUNS] [-- EXTRA ARGUMENTS FOR examples/ocr_engine]
#
# The set is rendered by scripts/ocr_set.py (fixed seed) into $KCL_BENCH_DIR/ocr-set
# (30 images of 1000x300, 1-3 lines) or, with --dense, $KCL_BENCH_DIR/ocr-dense (40
# images of 1200x400, 1-8 lines, a third tilted by 2-4 degrees); default: a temporary
# folder. KCL's side is kcl-media's examples/ocr_engine (built from kcl-media alone; it prints
# each image's wall and thread CPU time). Installs what it needs: Debian's
# tesseract-ocr and fonts, Pillow in a virtual environment under ~/.cache.
set -euo pipefail
cd "$(dirname "$0")/.."
DENSE=""
if [ "${1:-}" = "--dense" ]; then DENSE=1; shift; fi
RUNS="${1:-3}"
shift || true
[ "${1:-}" = "--" ] && shift
export OMP_THREAD_LIMIT=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
WORK="${KCL_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$WORK"

source scripts/bench-common.sh
ocr_bench_setup

if [ -n "$DENSE" ]; then
  SET="$WORK/ocr-dense"
  [ -s "$SET/39.txt" ] || "$VENV/bin/python" scripts/ocr_set.py "$SET" --dense
else
  SET="$WORK/ocr-set"
  [ -s "$SET/29.txt" ] || "$VENV/bin/python" scripts/ocr_set.py "$SET"
fi
cargo build --release -q -p kcl-media --example ocr_engine --features tesseract
BIN="$CARGO_TARGET_DIR/release/examples/ocr_engine"

echo "# $(date -u +%FT%TZ), $(nproc --all) cores, $(tesseract --version 2>&1 | head -1)"
"$VENV/bin/python" scripts/ocr_compare.py "$SET" --kcl "$BIN" --runs "$RUNS" \
  --cli-args "" --cli-args "--psm 6" --kcl-args="$*" --throughput
