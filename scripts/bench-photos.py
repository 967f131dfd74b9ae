#!/usr/bin/env python3
"""Makes the benchmark photo set: 12 MP photographic JPEGs (4000x3000, quality 90,
4:2:0) from the photographs of Debian's `mate-backgrounds` package, with a little
sensor-like noise so that the encoder sees real detail. Deterministic.

    apt-get install mate-backgrounds; pip install pillow
    python3 scripts/bench-photos.py OUT [count=20]
"""
import pathlib
import random
import sys

from PIL import Image, ImageChops

SOURCES = sorted(pathlib.Path("/usr/share/backgrounds/mate").glob("nature/*.jpg")) + sorted(
    p for p in pathlib.Path("/usr/share/backgrounds/mate").glob("abstract/Elephants*.jpg")
)


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    if not SOURCES:
        sys.exit("no photographs under /usr/share/backgrounds/mate (apt-get install mate-backgrounds)")
    out.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        src = SOURCES[n % len(SOURCES)]
        im = Image.open(src).convert("RGB").resize((4000, 3000), Image.Resampling.LANCZOS)
        if n >= len(SOURCES):
            im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        random.seed(n)
        noise = Image.effect_noise((4000, 3000), 8).convert("RGB")
        im = ImageChops.add(im, noise, scale=1.0, offset=-128)
        im.save(out / f"photo-{n:02}.jpg", quality=90, subsampling="4:2:0")
        print(out / f"photo-{n:02}.jpg")


if __name__ == "__main__":
    main()
