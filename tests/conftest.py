"""Shared test setup: quiet TF logs, seeded numpy, and every test starts from the same Python/NumPy/TF seed."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded():
    """Same initial weights and draws on every run, so a tolerance measured here holds on CI."""
    import keras

    keras.utils.set_random_seed(0)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
