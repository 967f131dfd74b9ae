#!/usr/bin/env python3
"""One line per KCL configuration: per-image CPU time by number of text lines and the
edits against the truth, for trying Tesseract's switches and KCL's preprocessing one at
a time (BENCHMARKS.md, "OCR", the levers table). No command-line reference: compare the
lines of one session with each other.

    python3 scripts/ocr_levers.py SET_DIR --kcl BINARY [--runs 2] [--kcl-args="--no-flatten"]

BINARY is kcl-media's examples/ocr_engine (it prints each image's thread CPU time; the wall
time is used when it does not). Run with OMP_THREAD_LIMIT=1.
"""

import argparse
import glob
import os
import shlex
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ocr_compare import distance, normalize, run_kcl  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set")
    parser.add_argument("--kcl", required=True)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--kcl-args", default="")
    args = parser.parse_args()
    images = sorted(glob.glob(os.path.join(args.set, "*.png"))
                    + glob.glob(os.path.join(args.set, "*.jpg")))
    if not images:
        print(f"no images in {args.set}", file=sys.stderr)
        return 1
    truth = {}
    for image in images:
        with open(os.path.splitext(image)[0] + ".txt") as f:
            truth[image] = f.read()
    lines = {i: len(truth[i].strip().splitlines()) for i in images}
    times, cpu, texts = run_kcl(args.kcl, images, shlex.split(args.kcl_args), args.runs)
    per_image = {i: statistics.median(cpu[i] or times[i]) for i in images}
    groups = sorted(set(lines.values()))
    by_lines = " ".join(
        f"{g}:{1000 * statistics.median(per_image[i] for i in images if lines[i] == g):.0f}"
        for g in groups)
    edits = {i: distance(normalize(texts.get(i, "")), normalize(truth[i])) for i in images}
    total = sum(len(normalize(truth[i])) for i in images)
    wrong = ", ".join(f"{os.path.basename(i)} ({e})" for i, e in edits.items() if e)
    print(f"`{args.kcl_args or '(defaults)'}` | ms by lines {by_lines} | median "
          f"{1000 * statistics.median(per_image.values()):.0f} ms, mean "
          f"{1000 * statistics.mean(per_image.values()):.0f} ms | edits {sum(edits.values())} "
          f"({100 * sum(edits.values()) / total:.2f} %) {wrong or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
