"""Shared test setup: quiet TF logs, two intra-op threads (the CI machine has 2 cores), seeded numpy."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(0)
