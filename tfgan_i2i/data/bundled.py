"""Locations of real example data: the small facades sample shipped in the package and the shared full dataset."""
from __future__ import annotations

import os

from .images import DataError

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sample_dir() -> str:
    """Path of the bundled facades sample (train/1..20, test/1..5; 256x128 side-by-side JPEGs, A = photo)."""
    path = os.path.join(_PACKAGE_DIR, "sample_data", "facades")
    if not os.path.isdir(path):
        raise DataError(
            f"The bundled sample is missing: {path!r} does not exist. Reinstall tfgan_i2i (pip install -e .) or "
            "regenerate it with tfgan_i2i/sample_data/make_sample.py."
        )
    return path


def shared_facades_dir() -> str | None:
    """Path of the full shared facades dataset at <repo>/../shared/data/facades, or None if it is not there."""
    repo = os.path.dirname(_PACKAGE_DIR)
    path = os.path.normpath(os.path.join(repo, os.pardir, "shared", "data", "facades"))
    return path if os.path.isdir(path) else None
