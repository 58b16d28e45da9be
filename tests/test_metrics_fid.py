"""FID/KID: Fréchet distance against scipy and closed forms, streaming statistics, KID, the offline weights error."""

import numpy as np
import pytest
import scipy.linalg

from tfgan_i2i.metrics import fid as F


def _direct_fid(mu1, s1, mu2, s2):
    root = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root.real))


def test_frechet_matches_scipy_on_random_gaussians(rng):
    for d in (3, 16, 64):
        a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
        s1, s2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
        mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
        ours, ref = F.frechet_distance(mu1, s1, mu2, s2), _direct_fid(mu1, s1, mu2, s2)
        assert abs(ours - ref) / abs(ref) < 1e-6


def test_frechet_closed_forms():
    d = 5
    mu = np.arange(d, dtype=float)
    # same covariance: only the mean term remains
    assert F.frechet_distance(mu, np.eye(d), mu + 2.0, np.eye(d)) == pytest.approx(4.0 * d, rel=1e-9)
    # commuting diagonal covariances: sum (sqrt(a) - sqrt(b))^2
    a, b = np.diag([1.0, 4.0, 9.0, 0.25, 2.0]), np.diag([4.0, 1.0, 9.0, 1.0, 8.0])
    expected = np.sum((np.sqrt(np.diag(a)) - np.sqrt(np.diag(b))) ** 2)
    assert F.frechet_distance(mu, a, mu, b) == pytest.approx(expected, rel=1e-9)
    assert F.frechet_distance(mu, a, mu, a) == pytest.approx(0.0, abs=1e-9)
    # 1-d: (m1 - m2)^2 + (s1 - s2)^2
    assert F.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0, rel=1e-9)


def test_frechet_singular_covariance_is_finite(rng):
    x, y = rng.normal(size=(10, 50)), rng.normal(size=(10, 50)) + 1.0  # 10 samples in 50-d: rank-deficient
    sx, sy = F.GaussianStats().update(x), F.GaussianStats().update(y)
    value = F.fid_from_stats(sx, sy)
    assert np.isfinite(value) and value > 0


def test_streaming_stats_equal_numpy(rng):
    x = rng.normal(size=(103, 7)) * 3 + 1
    stats = F.GaussianStats()
    for i in range(0, 103, 10):
        stats.update(x[i:i + 10])
    np.testing.assert_allclose(stats.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.cov, np.cov(x, rowvar=False), rtol=1e-10, atol=1e-12)


def test_kid_identical_and_shifted(rng):
    x = rng.normal(size=(200, 32))
    same, _ = F.kid(x, x.copy(), num_subsets=5, subset_size=200)
    near, _ = F.kid(x, rng.normal(size=(200, 32)), num_subsets=5, subset_size=200)
    far, _ = F.kid(x, rng.normal(size=(200, 32)) + 1.0, num_subsets=5, subset_size=200)
    # identical sets: only the O(1/m) diagonal bias of the cross term remains, tiny next to a real shift
    assert abs(same) < 0.02 * far and abs(near) < 0.05 * far


def test_kid_unbiased_formula_by_hand():
    x, y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 1.0], [0.0, 0.0]])
    k = lambda a, b: (a @ b / 2 + 1) ** 3  # noqa: E731
    expected = (k(x[0], x[1]) * 2) / 2 + (k(y[0], y[1]) * 2) / 2 - 2 * np.mean([k(a, b) for a in x for b in y])
    assert F.polynomial_mmd2_unbiased(x, y) == pytest.approx(expected)


def test_missing_weights_error_names_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(F.WeightsNotFoundError) as e:
        F.find_inception_weights()
    assert F.INCEPTION_FILE in str(e.value) and "--inception-weights" in str(e.value)
    with pytest.raises(F.WeightsNotFoundError, match="does not exist"):
        F.find_inception_weights(str(tmp_path / "nope.h5"))
    cached = tmp_path / "models" / F.INCEPTION_FILE
    cached.parent.mkdir()
    cached.write_bytes(b"")
    assert F.find_inception_weights() == str(cached)


@pytest.mark.slow  # builds and runs a full Inception-v3 at 299 px: ~15 s idle, minutes on a busy 2-core machine
def test_fid_random_features_smoke(rng):
    a = rng.uniform(-1, 1, (6, 32, 32, 3)).astype("float32")
    extractor = F.InceptionFeatures(random_weights=True, batch_size=8)
    feats = extractor(a)
    assert feats.shape == (6, 2048) and np.all(np.isfinite(feats))
    np.testing.assert_allclose(extractor(a[:, :, :, :1]), extractor(np.repeat(a[..., :1], 3, -1)), rtol=1e-5)
    same = F.fid_from_stats(F.GaussianStats().update(feats), F.GaussianStats().update(feats))
    assert abs(same) < 1e-3
