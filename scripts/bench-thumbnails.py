#!/usr/bin/env python3
"""KCL's thumbnailer against Pillow and vipsthumbnail, same run, one core.

    python scripts/bench-thumbnails.py KCL_BIN PHOTOS [rounds=7]

KCL_BIN: the thumbnail example (`cargo build --release --example thumbnail --features
cli,media`) or a `kcl` binary (then pass `KCL_BENCH_SUBCOMMAND=thumbnail`). PHOTOS: a
folder of JPEGs (scripts/bench-photos.py makes the 12 MP set). Run it with a Python
that has Pillow (the Pillow command runs under the same interpreter). vipsthumbnail
(libvips-tools) is measured when installed.

Each command is one process over every photo, pinned with `taskset -c 1`; every round
runs each command in turn (KCL, Pillow, vips, ...), after one warm-up round not
counted. Prints, per command, the median wall time and CPU time (user + system, from
the children's rusage: steadier than wall time on a shared machine, where a pinned
process also waits for its core), ms per image of each, the largest peak RSS
(`/usr/bin/time -f %M`) and KCL's ratios to it: the medians of the round-by-round
ratios, with their ranges.
"""
import os
import resource
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PILLOW = """
import pathlib, sys
from PIL import Image
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for path in sorted(src.glob('*.jpg')):
    with Image.open(path) as im:
        im.draft('RGB', (256, 256))
        im.thumbnail((256, 256))
        im.save(out / path.name, quality=85)
"""


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    kcl = str(pathlib.Path(sys.argv[1]).resolve())
    photos = pathlib.Path(sys.argv[2]).resolve()
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    files = sorted(photos.glob("*.jpg"))
    if not files:
        sys.exit(f"no *.jpg in {photos}")
    work = pathlib.Path(tempfile.mkdtemp(prefix="kcl-bench-thumbs-"))
    out = work / "out"
    sub = [os.environ["KCL_BENCH_SUBCOMMAND"]] if os.environ.get("KCL_BENCH_SUBCOMMAND") else []
    commands = {
        "KCL --threads 1": [kcl, *sub, "--threads", "1", "--size", "256", str(photos), str(out)],
        "Pillow draft + thumbnail": [sys.executable, "-c", PILLOW, str(photos), str(out)],
    }
    if shutil.which("vipsthumbnail"):
        commands["vipsthumbnail, VIPS_CONCURRENCY=1"] = [
            "vipsthumbnail", "-s", "256", "-o", f"{out}/%s.jpg[Q=85]", *map(str, files)
        ]
    env = dict(os.environ, VIPS_CONCURRENCY="1")
    walls = {name: [] for name in commands}
    cpus = {name: [] for name in commands}
    rss = {name: [] for name in commands}
    for n in range(rounds + 1):
        for name, command in commands.items():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            rss_file = work / "rss"
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), "taskset", "-c", "1", *command],
                check=True, env=env, stdout=subprocess.DEVNULL,
            )
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            made = len(list(out.iterdir()))
            if made != len(files):
                sys.exit(f"{name}: {made} thumbnails for {len(files)} photos")
            if n > 0:
                walls[name].append(wall)
                cpus[name].append(cpu)
                rss[name].append(int(rss_file.read_text().split()[-1]) / 1024)
    shutil.rmtree(work, ignore_errors=True)
    first = next(iter(commands))
    print(f"{len(files)} images from {photos}, {rounds} rounds after a warm-up, taskset -c 1")
    print("| command | wall, median | ms / image (wall) | CPU, median | ms / image (CPU) "
          "| peak RSS | KCL ÷ it, wall (range) | KCL ÷ it, CPU (range) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")

    def ratio(series, name):
        if name == first:
            return "-"
        ratios = [a / b for a, b in zip(series[first], series[name])]
        return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"

    for name in commands:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(
            f"| {name} | {wall:.3f} s | {wall * 1000 / len(files):.1f} | {cpu:.3f} s | "
            f"{cpu * 1000 / len(files):.1f} | {max(rss[name]):.1f} MiB | "
            f"{ratio(walls, name)} | {ratio(cpus, name)} |"
        )

if __name__ == "__main__":
    main()
