"""NDB and JSD: mode coverage measured on K-means bins of the training samples (Richardson & Weiss, 2018).

K-means with K bins is fitted on training samples; every generated sample goes to its nearest centre (L2).
For each bin a two-proportion z-test with pooled standard error compares the training share p_t with the
generated share p_g:  p = (n_t p_t + n_g p_g) / (n_t + n_g),  SE = sqrt(p (1 - p) (1/n_t + 1/n_g)),
z = (p_t - p_g) / SE, two-tailed p-value 2 (1 - Phi(|z|)). NDB = number of bins with p-value < alpha (also as a
fraction of K). JSD = the Jensen-Shannon divergence (natural log, at most ln 2) between the two bin histograms.
"""
from __future__ import annotations

import math

import numpy as np


def two_proportion_z_test(count1, n1, count2, n2):
    """(z, two-tailed p-value) per bin of two-proportion z-tests with pooled SE (arrays of counts, totals n1, n2)."""
    c1, c2 = np.asarray(count1, np.float64), np.asarray(count2, np.float64)
    p1, p2 = c1 / n1, c2 / n2
    pooled = (c1 + c2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, (p1 - p2) / np.where(se > 0, se, 1.0), 0.0)
    erfc = np.vectorize(math.erfc)
    p_value = erfc(np.abs(z) / math.sqrt(2.0))  # = 2 (1 - Phi(|z|))
    return z, np.asarray(p_value, np.float64)


def js_divergence(p, q) -> float:
    """JSD(P, Q) = KL(P || M)/2 + KL(Q || M)/2 with M = (P + Q)/2, natural log (0 <= JSD <= ln 2)."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a, b):
        mask = a > 0
        return float(np.sum(a[mask] * np.log(a[mask] / b[mask])))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def _flatten(samples) -> np.ndarray:
    x = np.asarray(samples, np.float64)
    if x.ndim < 2:
        raise ValueError(f"samples must be (N, ...) with at least one feature axis, got shape {x.shape}")
    return x.reshape(len(x), -1)


class NDB:
    """K-means bins of training samples, and the NDB/JSD of any sample set against them.

    max_dims: when samples have more than this many values, cluster on a fixed random subset of d/6 of them
    (the reference's shortcut for large images). whiten: standardise each dimension by the training mean/std.
    """

    def __init__(self, train_samples, k: int = 50, max_iter: int = 100, max_dims: int = 1000, whiten: bool = False,
                 seed: int = 0, alpha: float = 0.05):
        from sklearn.cluster import KMeans

        x = _flatten(train_samples)
        if len(x) < k:
            raise ValueError(f"NDB with K={k} bins needs at least K training samples, got {len(x)}; lower K")
        self.k, self.alpha = k, alpha
        rng = np.random.default_rng(seed)
        self.dims = np.sort(rng.choice(x.shape[1], x.shape[1] // 6, replace=False)) if x.shape[1] > max_dims else None
        x = self._select(x)
        self.mean = x.mean(axis=0) if whiten else None
        self.std = (x.std(axis=0) + 1e-8) if whiten else None
        x = self._whiten(x)
        self.kmeans = KMeans(n_clusters=k, max_iter=max_iter, n_init=1, random_state=seed).fit(x)
        self.train_counts = np.bincount(self.kmeans.labels_, minlength=k)
        self.n_train = len(x)

    def _select(self, x):
        return x if self.dims is None else x[:, self.dims]

    def _whiten(self, x):
        return x if self.mean is None else (x - self.mean) / self.std

    def assign(self, samples) -> np.ndarray:
        """Index of the nearest K-means centre (L2) of each sample."""
        x = self._whiten(self._select(_flatten(samples)))
        centres = self.kmeans.cluster_centers_
        d2 = (x ** 2).sum(1)[:, None] - 2 * x @ centres.T + (centres ** 2).sum(1)[None]
        return np.argmin(d2, axis=1)

    def evaluate(self, samples) -> dict:
        """{ndb, ndb_fraction, jsd, k, n, significant bins, bin proportions} of `samples` against the training bins."""
        counts = np.bincount(self.assign(samples), minlength=self.k)
        n = int(counts.sum())
        if n == 0:
            raise ValueError("NDB needs at least one generated sample")
        z, p_value = two_proportion_z_test(self.train_counts, self.n_train, counts, n)
        significant = p_value < self.alpha
        return {
            "ndb": int(significant.sum()),
            "ndb_fraction": float(significant.mean()),
            "jsd": js_divergence(self.train_counts, counts),
            "k": self.k,
            "alpha": self.alpha,
            "n_train": self.n_train,
            "n_samples": n,
            "significant_bins": np.flatnonzero(significant).tolist(),
            "train_proportions": (self.train_counts / self.n_train).tolist(),
            "sample_proportions": (counts / n).tolist(),
        }


def ndb_jsd(train_samples, samples, k: int = 50, **kwargs) -> dict:
    """NDB and JSD of `samples` against K-means bins fitted on `train_samples` (see NDB for the options)."""
    alpha = kwargs.pop("alpha", 0.05)
    return NDB(train_samples, k, alpha=alpha, **kwargs).evaluate(samples)


__all__ = ["NDB", "ndb_jsd", "two_proportion_z_test", "js_divergence"]
