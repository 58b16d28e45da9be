"""Example inputs for the page: the bundled facades test pairs split into their halves, at the model's size.

A facades pair file is photo (left, A) | label map (right, B). A model translates from the half its config's
direction names as the source (BtoA: the label map), so the page offers that half; an unpaired model going B->A
gets the other one.
"""
from __future__ import annotations

import os
import threading

from ..cli import _resize, split_pair
from ..data import list_images, read_image, sample_dir, write_image

SPLIT = "test"
HALF_NAMES = ("photo", "label map")  # left, right half of a bundled facades pair

_lock = threading.Lock()


def source_half(config, direction: str = "AtoB") -> int:
    """0 (left) or 1 (right): the half of a pair file a model translates from, going `direction`."""
    first = 0 if config.direction == "AtoB" else 1
    return first if direction == "AtoB" else 1 - first


def bundled_halves(out_dir: str, half: int, size: int) -> list[tuple[str, str]]:
    """(path, caption) of one half of every bundled test pair, written once as size x size PNGs under out_dir."""
    folder = os.path.join(out_dir, f"{HALF_NAMES[half].replace(' ', '_')}_{size}")
    pairs = list_images(os.path.join(sample_dir(), SPLIT))
    out = []
    with _lock:  # two visitors asking at once write each file once
        for path in pairs:
            stem = os.path.splitext(os.path.basename(path))[0]
            target = os.path.join(folder, f"facades_{SPLIT}_{stem}_{HALF_NAMES[half].replace(' ', '_')}.png")
            if not os.path.isfile(target):
                write_image(target, _resize(split_pair(read_image(path), path)[half], size))
            out.append((target, f"facades {SPLIT} {stem}: {HALF_NAMES[half]}"))
    return out


def example_inputs(config, out_dir: str, direction: str = "AtoB") -> list[tuple[str, str]]:
    """(path, caption) of the bundled inputs for a model going `direction`, at its size."""
    return bundled_halves(out_dir, source_half(config, direction), config.image_size)


__all__ = ["HALF_NAMES", "SPLIT", "bundled_halves", "example_inputs", "source_half"]
