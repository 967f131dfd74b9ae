#!/usr/bin/env python3
"""Per-image time and character error rate: the `tesseract` command line (one process
per image, the seed's way) against KCL's in-process engine (`examples/ocr`), on the
same images in one run. Used by scripts/bench-ocr.sh; prints Markdown for
BENCHMARKS.md.

    python3 scripts/ocr_compare.py SET_DIR --kcl target/release/examples/ocr_engine \
        [--runs 3] [--kcl-args "--psm 3"] [--cli-args "" --cli-args "--psm 6"] [--throughput]

SET_DIR holds NN.png / NN.jpg images and their truth in NN.txt (scripts/ocr_set.py).
The CER is the Levenshtein distance between the recognized text and the truth, both
with runs of white space collapsed to one space, over the truth's length.
"""

import argparse
import glob
import os
import re
import resource
import shlex
import statistics
import subprocess
import sys
import time


def normalize(text):
    return " ".join(text.split())


def distance(a, b):
    """Levenshtein distance (insertions, deletions, substitutions)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            )
        previous = current
    return previous[-1]


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli(images, extra, runs):
    """Times `tesseract IMG stdout` per image, wall clock and CPU (user + system of the
    process); texts from the first run."""
    times = {image: [] for image in images}
    cpu = {image: [] for image in images}
    texts = {}
    for run in range(runs):
        for image in images:
            started, used = time.perf_counter(), children_cpu()
            out = subprocess.run(
                ["tesseract", image, "stdout", *extra],
                capture_output=True,
                check=True,
            )
            times[image].append(time.perf_counter() - started)
            cpu[image].append(children_cpu() - used)
            if run == 0:
                texts[image] = out.stdout.decode()
    return times, cpu, texts


HEADER = re.compile(r"^== (.+) \(([0-9.]+) s, (?:cpu ([0-9.]+) s, )?confidence (\d+)\)$")


def run_kcl(binary, images, extra, runs):
    """Runs the example over all images `runs` times (one process each); per-image
    times as it prints them (engine loaded and warm before the clock starts), wall
    clock and, when it prints it, the thread's CPU time."""
    times = {image: [] for image in images}
    cpu = {image: [] for image in images}
    texts = {}
    for run in range(runs):
        out = subprocess.run(
            [binary, *extra, *images], capture_output=True, check=True
        ).stdout.decode()
        current = None
        parsed = {}
        for line in out.splitlines():
            match = HEADER.match(line)
            if match and match.group(1) in times:
                current = match.group(1)
                times[current].append(float(match.group(2)))
                if match.group(3):
                    cpu[current].append(float(match.group(3)))
                parsed[current] = []
            elif current is not None:
                parsed[current].append(line)
        if run == 0:
            texts = {image: "\n".join(lines) for image, lines in parsed.items()}
    return times, cpu, texts


def throughput(binary, images, extra, threads, repeat):
    out = subprocess.run(
        [binary, *extra, "--threads", str(threads), "--repeat", str(repeat), *images],
        capture_output=True,
        check=True,
    ).stderr.decode()
    match = re.search(r"([0-9.]+) images/s", out)
    return float(match.group(1)) if match else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set")
    parser.add_argument("--kcl", required=True, help="the ocr example's binary")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kcl-args", default="")
    parser.add_argument("--cli-args", action="append",
                        help="the CLI's options; repeat for several CLI columns (default: none)")
    parser.add_argument("--throughput", action="store_true")
    args = parser.parse_args()

    images = sorted(
        glob.glob(os.path.join(args.set, "*.png"))
        + glob.glob(os.path.join(args.set, "*.jpg"))
    )
    if not images:
        print(f"no images in {args.set}", file=sys.stderr)
        return 1
    truth = {}
    for image in images:
        with open(os.path.splitext(image)[0] + ".txt") as f:
            truth[image] = f.read()
    lines = {image: len(truth[image].strip().splitlines()) for image in images}

    kcl_extra = shlex.split(args.kcl_args)
    cli_configs = args.cli_args or [""]
    cli = [(c, *run_cli(images, shlex.split(c), args.runs)) for c in cli_configs]
    kcl_times, kcl_cpu, kcl_texts = run_kcl(args.kcl, images, kcl_extra, args.runs)

    def median_of(times, subset):
        return statistics.median(statistics.median(times[i]) for i in subset)

    def cli_name(config):
        return "`" + f"tesseract IMG stdout {config}".strip() + "`"

    print(f"KCL: `ocr {args.kcl_args}`; {args.runs} runs; per image the median of the runs, "
          "then the median over the images\n")
    head = " | ".join(f"{cli_name(c)} | ratio" for c in cli_configs)
    print(f"| lines of text | images | KCL in-process | {head} |")
    print("|---|---|---|" + "---|---|" * len(cli_configs))
    groups = sorted(set(lines.values()))
    for group in groups + ["all"]:
        subset = [i for i in images if group == "all" or lines[i] == group]
        kcl = median_of(kcl_times, subset)
        cells = " | ".join(
            f"{median_of(t, subset):.3f} s | {median_of(t, subset) / kcl:.1f}x"
            for _, t, _, _ in cli
        )
        label = "all" if group == "all" else str(group)
        print(f"| {label} | {len(subset)} | {kcl:.3f} s | {cells} |")
    kcl_mean = statistics.mean(statistics.median(kcl_times[i]) for i in images)
    print(f"\nMean per image: KCL {kcl_mean:.3f} s; " + "; ".join(
        f"{cli_name(c)} {statistics.mean(statistics.median(t[i]) for i in images):.3f} s "
        f"({statistics.mean(statistics.median(t[i]) for i in images) / kcl_mean:.2f}x)"
        for c, t, _, _ in cli))

    if all(kcl_cpu[i] for i in images):
        print("\nCPU time (user + system; the CLI's whole process, KCL's reading thread), same "
              "runs:\n")
        head = " | ".join(f"{cli_name(c)} | ratio" for c in cli_configs)
        print(f"| lines of text | images | KCL in-process | {head} |")
        print("|---|---|---|" + "---|---|" * len(cli_configs))
        for group in groups + ["all"]:
            subset = [i for i in images if group == "all" or lines[i] == group]
            kcl = median_of(kcl_cpu, subset)
            cells = " | ".join(
                f"{median_of(c, subset):.3f} s | {median_of(c, subset) / kcl:.1f}x"
                for _, _, c, _ in cli
            )
            label = "all" if group == "all" else str(group)
            print(f"| {label} | {len(subset)} | {kcl:.3f} s | {cells} |")

    total = sum(len(normalize(truth[i])) for i in images)
    print("\n| engine | edits | CER | images with errors (edits) |")
    print("|---|---|---|---|")
    engines = [(cli_name(c), texts) for c, _, _, texts in cli] + [("KCL", kcl_texts)]
    for name, texts in engines:
        edits = {i: distance(normalize(texts.get(i, "")), normalize(truth[i])) for i in images}
        wrong = [os.path.basename(i) + f" ({e})" for i, e in edits.items() if e]
        print(f"| {name} | {sum(edits.values())} | {100 * sum(edits.values()) / total:.2f} % | "
              f"{', '.join(wrong) or 'none'} |")
    print(f"\n({total} truth characters)")

    if args.throughput:
        one = throughput(args.kcl, images, kcl_extra, 1, 4)
        two = throughput(args.kcl, images, kcl_extra, 2, 4)
        print(f"\nThroughput ({4 * len(images)} images, warm engines): 1 thread "
              f"{one:.1f} images/s, 2 threads {two:.1f} images/s: {two / one:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
