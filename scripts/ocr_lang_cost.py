#!/usr/bin/env python3
"""What a second OCR language costs and buys: KCL's engine (kcl-media's
examples/ocr_engine) over the same images with `--lang eng` and with
`--lang eng+por`, the two runs interleaved, on an English set and a Brazilian
Portuguese one (scripts/ocr_set.py --portuguese). Used by
scripts/bench-ocr-lang.sh; prints Markdown for BENCHMARKS.md.

    python3 scripts/ocr_lang_cost.py --kcl BINARY [--runs 3] [--psm 6] SET_DIR...

Per set and language: the median per-image wall time and thread CPU time (each
image's median over the runs, then the median and mean over the images), and the
character error rate (ocr_compare.py's: Levenshtein over the truth's length, white
space collapsed).
"""

import argparse
import glob
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ocr_compare import distance, normalize, run_kcl  # noqa: E402

LANGS = ["eng", "eng+por"]


def cer(texts, images):
    errors = total = 0
    for image in images:
        truth = normalize(open(os.path.splitext(image)[0] + ".txt").read())
        errors += distance(normalize(texts.get(image, "")), truth)
        total += len(truth)
    return errors / max(total, 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+")
    parser.add_argument("--kcl", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--psm", default="6")
    args = parser.parse_args()
    print("| set | `KCL_OCR_LANG` | per image, median (mean) | CPU per image, median | CER |")
    print("|---|---|---|---|---|")
    for set_dir in args.sets:
        images = sorted(glob.glob(os.path.join(set_dir, "*.png")) + glob.glob(os.path.join(set_dir, "*.jpg")))
        times = {lang: {i: [] for i in images} for lang in LANGS}
        cpu = {lang: {i: [] for i in images} for lang in LANGS}
        texts = {}
        # Interleaved: one pass of each language per run, so that whatever else the
        # machine does weighs on both alike.
        for run in range(args.runs):
            for lang in LANGS:
                t, c, x = run_kcl(args.kcl, images, ["--lang", lang, "--psm", args.psm], 1)
                for image in images:
                    times[lang][image] += t[image]
                    cpu[lang][image] += c[image]
                if run == 0:
                    texts[lang] = x
        name = os.path.basename(os.path.normpath(set_dir))
        for lang in LANGS:
            per = [statistics.median(v) for v in times[lang].values() if v]
            per_cpu = [statistics.median(v) for v in cpu[lang].values() if v]
            cpu_text = f"{statistics.median(per_cpu) * 1000:.0f} ms" if per_cpu else "n/a"
            print(
                f"| {name} ({len(images)} images) | `{lang}` | "
                f"{statistics.median(per) * 1000:.0f} ms ({statistics.mean(per) * 1000:.0f} ms) | "
                f"{cpu_text} | {cer(texts[lang], images) * 100:.2f} % |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
