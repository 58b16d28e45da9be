"""NDB/JSD: a hand-computed z-test, near alpha*K on samples of the training distribution, large on one bin."""
import math

import numpy as np
import pytest

from tfgan_i2i.metrics.ndb import NDB, js_divergence, ndb_jsd, two_proportion_z_test


def test_z_test_by_hand():
    # bin holds 30 of 100 training samples and 10 of 100 generated: pooled p = 0.2, SE = sqrt(.2*.8*(2/100))
    z, p = two_proportion_z_test([30], 100, [10], 100)
    se = math.sqrt(0.2 * 0.8 * 0.02)
    assert z[0] == pytest.approx(0.2 / se)  # 3.5355
    assert p[0] == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(abs(z[0]) / math.sqrt(2)))), rel=1e-9)
    assert p[0] < 0.05
    z, p = two_proportion_z_test([12], 100, [10], 100)
    assert p[0] > 0.05
    z, p = two_proportion_z_test([0], 100, [0], 50)  # empty in both: no evidence of a difference
    assert z[0] == 0 and p[0] == 1


def test_jsd_bounds():
    assert js_divergence([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0)
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(math.log(2))


def _mixture(rng, n, centres):
    return centres[rng.integers(0, len(centres), n)] + 0.3 * rng.normal(size=(n, centres.shape[1]))


def test_same_distribution_near_alpha_k_and_one_bin_large(rng):
    centres = rng.normal(size=(20, 8)) * 4
    k = 20
    metric = NDB(_mixture(rng, 4000, centres), k=k, seed=0)
    ndbs = [metric.evaluate(_mixture(rng, 2000, centres)) for _ in range(5)]
    mean_ndb = np.mean([r["ndb"] for r in ndbs])
    assert mean_ndb <= 0.05 * k + 2  # ~alpha*K false positives
    assert max(r["jsd"] for r in ndbs) < 0.01
    collapsed = metric.evaluate(centres[3] + 0.01 * rng.normal(size=(2000, 8)))  # all samples in one bin
    assert collapsed["ndb"] >= k - 1 and collapsed["ndb_fraction"] >= 0.95
    assert collapsed["jsd"] > 0.3


def test_large_dims_use_subset_and_images(rng):
    train = rng.uniform(-1, 1, (200, 32, 32, 3))
    r = ndb_jsd(train, rng.uniform(-1, 1, (100, 32, 32, 3)), k=5)
    assert r["k"] == 5 and 0 <= r["ndb"] <= 5 and len(r["sample_proportions"]) == 5
    with pytest.raises(ValueError, match="at least K"):
        NDB(train[:3], k=5)
