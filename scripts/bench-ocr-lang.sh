#!/usr/bin/env bash
# What `KCL_OCR_LANG=eng+por` costs per image against `eng`, and what it buys on
# Brazilian Portuguese text, for BENCHMARKS.md ("OCR in two languages"):
#
#   scripts/bench-ocr-lang.sh [RUNS]
#
# Renders the dense set (scripts/ocr_set.py --dense: 40 images of 1200x400, 1-8
# lines) in English and in Brazilian Portuguese into $KCL_BENCH_DIR (default a
# temporary folder), builds kcl-media's examples/ocr_engine (release) and runs it over
# each set with both languages, interleaved (scripts/ocr_lang_cost.py). Installs what
# it needs: Debian's tesseract-ocr-eng and -por and fonts, Pillow in a virtual
# environment under ~/.cache.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-3}"
export OMP_THREAD_LIMIT=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kcl-target}"
WORK="${KCL_BENCH_DIR:-$(mktemp -d)}"
mkdir -p "$WORK"

source scripts/bench-common.sh
por=()
ls /usr/share/tesseract-ocr/*/tessdata/por.traineddata >/dev/null 2>&1 || por=(tesseract-ocr-por)
ocr_bench_setup "${por[@]}"
[ -s "$WORK/ocr-dense/39.txt" ] || "$VENV/bin/python" scripts/ocr_set.py "$WORK/ocr-dense" --dense
[ -s "$WORK/ocr-dense-pt/39.txt" ] || "$VENV/bin/python" scripts/ocr_set.py "$WORK/ocr-dense-pt" --dense --portuguese
cargo build --release -q -p kcl-media --example ocr_engine --features tesseract
BIN="$CARGO_TARGET_DIR/release/examples/ocr_engine"

echo "# $(date -u +%FT%TZ), $(nproc --all) cores, $(tesseract --version 2>&1 | head -1), OMP_THREAD_LIMIT=1"
"$VENV/bin/python" scripts/ocr_lang_cost.py --kcl "$BIN" --runs "$RUNS" "$WORK/ocr-dense" "$WORK/ocr-dense-pt"
