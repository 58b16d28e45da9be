"""Regenerate the bundled facades sample from the full CMP Facades set in the pix2pix side-by-side layout.

Usage: python tfgan_i2i/sample_data/make_sample.py [--src ../shared/data/facades] [--dst tfgan_i2i/sample_data/facades]
"""
from __future__ import annotations

import argparse
import os
import sys

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SRC = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir, os.pardir, "shared", "data", "facades"))
DEFAULT_DST = os.path.join(HERE, "facades")
COUNTS = {"train": 20, "test": 5}
HALF = 128  # each half of a pair is written at HALF x HALF
QUALITY = 90


def shrink_pair(src: str, dst: str) -> None:
    """Downscale one A|B file so each half becomes HALF x HALF, resizing the halves separately."""
    with Image.open(src) as im:
        im = im.convert("RGB")
        w, h = im.size
        if w % 2:
            raise SystemExit(f"{src}: odd width {w}; expected an A|B side-by-side pair")
        # Resizing each half on its own keeps the filter from blending photo pixels into the label map at the seam.
        halves = [im.crop((x, 0, x + w // 2, h)).resize((HALF, HALF), Image.Resampling.LANCZOS) for x in (0, w // 2)]
    out = Image.new("RGB", (2 * HALF, HALF))
    out.paste(halves[0], (0, 0))
    out.paste(halves[1], (HALF, 0))
    out.save(dst, format="JPEG", quality=QUALITY)


def main(argv: list[str] | None = None) -> int:
    """Write train/1..20 and test/1..5 from --src into --dst."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=DEFAULT_SRC, help="full facades folder with train/ and test/ (default: %(default)s)")
    parser.add_argument("--dst", default=DEFAULT_DST, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    for split, count in COUNTS.items():
        src_dir, dst_dir = os.path.join(args.src, split), os.path.join(args.dst, split)
        if not os.path.isdir(src_dir):
            print(f"error: {src_dir} not found; pass --src pointing at the full facades dataset", file=sys.stderr)
            return 1
        os.makedirs(dst_dir, exist_ok=True)
        for i in range(1, count + 1):
            shrink_pair(os.path.join(src_dir, f"{i}.jpg"), os.path.join(dst_dir, f"{i}.jpg"))
        print(f"wrote {count} pairs to {dst_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
