"""FID and KID on Inception-v3 pool features, with streaming statistics and no network access.

FID = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)) over 2048-d pool features (Heusel et al.).
KID = unbiased MMD^2 with the kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets (Binkowski et al.).

The features come from `keras.applications.InceptionV3(include_top=False, pooling="avg")` with the Keras ImageNet
weights read from a local file: these are not the 2015 TF graph weights that TF-GAN and pytorch-fid use, so
absolute values are comparable between runs of this package, not with numbers in the papers.
"""
from __future__ import annotations

import os

import numpy as np

INCEPTION_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
INCEPTION_SIZE = 299
FEATURE_DIM = 2048


class WeightsNotFoundError(FileNotFoundError):
    """Pretrained weights a metric needs are not on this machine; the message names the file and where to put it."""


def keras_cache_dir() -> str:
    """The Keras model cache folder ($KERAS_HOME/models, default ~/.keras/models)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models")


def find_inception_weights(path: str | None = None) -> str:
    """The Inception-v3 no-top weights file: `path` if given, else the Keras cache copy; one clear error otherwise."""
    cached = os.path.join(keras_cache_dir(), INCEPTION_FILE)
    if path is not None:
        if os.path.isfile(path):
            return path
        raise WeightsNotFoundError(
            f"--inception-weights {path} does not exist; pass the path of {INCEPTION_FILE} "
            f"(the Keras ImageNet Inception-v3 no-top weights) or copy that file to {cached}")
    if os.path.isfile(cached):
        return cached
    raise WeightsNotFoundError(
        f"FID/KID need the Inception-v3 ImageNet weights file {INCEPTION_FILE}, which is not in the Keras cache "
        f"({cached}) and cannot be downloaded here. Copy it from a machine with internet (it is what "
        f"keras.applications.InceptionV3(include_top=False, weights='imagenet') downloads) to {cached}, "
        "or pass its path with --inception-weights PATH.")


class InceptionFeatures:
    """Inception-v3 2048-d average-pool features of images in [-1, 1] (bilinear resize to 299x299, gray -> RGB)."""

    def __init__(self, weights_path: str | None = None, *, random_weights: bool = False, seed: int = 0,
                 batch_size: int = 32):
        import keras

        if random_weights:
            keras.utils.set_random_seed(seed)
            weights = None
        else:
            weights = find_inception_weights(weights_path)  # checked first: keras would try the network otherwise
        self.random_weights = random_weights
        self.batch_size = batch_size
        self.model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=weights,
                                                    input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
        self._fn = None

    def _forward(self, x):
        import tensorflow as tf

        if self._fn is None:
            @tf.function(reduce_retracing=True)
            def fn(images):
                images = tf.image.resize(images, (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear")
                # Keras' Inception preprocessing maps [0, 255] to [-1, 1]: our images already are in that range
                return self.model(tf.clip_by_value(images, -1.0, 1.0), training=False)
            self._fn = fn
        return self._fn(x)

    def __call__(self, images) -> np.ndarray:
        """(N, 2048) float64 features of (N, H, W, 1 or 3) images in [-1, 1], computed in batches."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ValueError(f"images must be (N, H, W, 1 or 3) in [-1, 1], got shape {images.shape}")
        if images.shape[-1] == 1:
            images = np.repeat(images, 3, axis=-1)
        out = []
        for i in range(0, len(images), self.batch_size):
            batch = images[i:i + self.batch_size]
            n = len(batch)
            if n < self.batch_size:  # pad the last batch: one traced shape for every call
                batch = np.concatenate([batch, np.zeros((self.batch_size - n, *batch.shape[1:]), np.float32)])
            out.append(np.asarray(self._forward(batch), np.float64)[:n])
        return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM))


class GaussianStats:
    """Streaming mean and covariance of feature vectors: float64 sums of x and x x^T over batches."""

    def __init__(self, dim: int | None = None, keep_features: bool = False):
        self.dim = dim
        self.n = 0
        self.sum = None if dim is None else np.zeros(dim)
        self.outer = None if dim is None else np.zeros((dim, dim))
        self.keep_features = keep_features
        self.features: list[np.ndarray] = []

    def update(self, features) -> "GaussianStats":
        """Add a (batch, d) block of features."""
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2:
            raise ValueError(f"features must be (batch, d), got shape {f.shape}")
        if self.sum is None:
            self.dim = f.shape[1]
            self.sum, self.outer = np.zeros(self.dim), np.zeros((self.dim, self.dim))
        if f.shape[1] != self.dim:
            raise ValueError(f"feature size {f.shape[1]} differs from the earlier batches' {self.dim}")
        self.n += len(f)
        self.sum += f.sum(axis=0)
        self.outer += f.T @ f
        if self.keep_features:
            self.features.append(f)
        return self

    @property
    def mean(self) -> np.ndarray:
        """mu = sum(x) / n."""
        return self.sum / self.n

    @property
    def cov(self) -> np.ndarray:
        """Unbiased covariance (sum(x x^T) - n mu mu^T) / (n - 1), like numpy.cov."""
        if self.n < 2:
            raise ValueError(f"a covariance needs at least 2 feature vectors, got {self.n}")
        mu = self.mean
        return (self.outer - self.n * np.outer(mu, mu)) / (self.n - 1)

    def all_features(self) -> np.ndarray:
        """Every feature vector seen (needs keep_features=True), for KID."""
        if not self.keep_features:
            raise ValueError("GaussianStats(keep_features=True) is needed to keep the features for KID")
        return np.concatenate(self.features) if self.features else np.zeros((0, self.dim or 0))


def _sqrtm_psd_product(s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """Tr((S1 S2)^(1/2)) for symmetric PSD S1, S2 via the symmetric form sqrt(S1) S2 sqrt(S1) (eigenvalues)."""
    w1, v1 = np.linalg.eigh(s1)
    root1 = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T
    m = root1 @ s2 @ root1
    w = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sqrt(np.clip(w, 0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2)) between two Gaussians.

    The trace of the matrix square root is computed as Tr((sqrt(S1) S2 sqrt(S1))^(1/2)), which has the same
    eigenvalues as (S1 S2)^(1/2) but is symmetric, so it is real and stable. When a covariance is near-singular
    (fewer samples than dimensions), eps * I is added to both before the square root.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != mu1.shape * 2:
        raise ValueError(f"shape mismatch: mu {mu1.shape} / {mu2.shape}, sigma {s1.shape} / {s2.shape}")
    diff = mu1 - mu2
    tr_root = _sqrtm_psd_product(s1, s2)
    if not np.isfinite(tr_root) or min(np.linalg.eigvalsh(s1)[0], np.linalg.eigvalsh(s2)[0]) < eps:
        offset = np.eye(len(mu1)) * eps
        s1, s2 = s1 + offset, s2 + offset
        tr_root = _sqrtm_psd_product(s1, s2)
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_root)


def fid_from_stats(real: GaussianStats, fake: GaussianStats, eps: float = 1e-6) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets."""
    return frechet_distance(real.mean, real.cov, fake.mean, fake.cov, eps)


def polynomial_mmd2_unbiased(x, y) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3: mean_{i!=j} k(x_i,x_j) + mean_{i!=j} k(y_i,y_j) - 2 mean k(x_i,y_j)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    d = x.shape[1]
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"KID needs at least 2 feature vectors per set, got {m} and {n}")
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def kid(real_features, fake_features, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0):
    """KID: (mean, std) of the unbiased polynomial MMD^2 over `num_subsets` random subsets of min(subset_size, n)."""
    x, y = np.asarray(real_features, np.float64), np.asarray(fake_features, np.float64)
    size = min(subset_size, len(x), len(y))
    rng = np.random.default_rng(seed)
    values = [polynomial_mmd2_unbiased(x[rng.choice(len(x), size, replace=False)],
                                       y[rng.choice(len(y), size, replace=False)]) for _ in range(num_subsets)]
    return float(np.mean(values)), float(np.std(values))


def _batches(images, batch_size):
    """Yield (batch, H, W, C) arrays from an array or from an iterable of batches."""
    if isinstance(images, np.ndarray) or (hasattr(images, "shape") and len(getattr(images, "shape")) == 4):
        images = np.asarray(images)
        for i in range(0, len(images), batch_size):
            yield images[i:i + batch_size]
    else:
        for batch in images:
            yield np.asarray(batch)


def feature_stats(images, extractor: InceptionFeatures, keep_features: bool = False) -> GaussianStats:
    """Streaming feature statistics of an image array or of an iterable of image batches."""
    stats = GaussianStats(keep_features=keep_features)
    for batch in _batches(images, extractor.batch_size):
        stats.update(extractor(batch))
    return stats


def fid_and_kid(real_images, fake_images, extractor: InceptionFeatures, kid_subsets: int = 100,
                kid_subset_size: int = 1000, seed: int = 0) -> dict:
    """FID and KID (mean, std) between two image sets (arrays or iterables of batches) with one extractor."""
    real = feature_stats(real_images, extractor, keep_features=True)
    fake = feature_stats(fake_images, extractor, keep_features=True)
    kid_mean, kid_std = kid(real.all_features(), fake.all_features(), kid_subsets, kid_subset_size, seed)
    return {"fid": fid_from_stats(real, fake), "kid": kid_mean, "kid_std": kid_std,
            "n_real": real.n, "n_fake": fake.n}


def fid(real_images, fake_images, weights_path: str | None = None) -> float:
    """FID between two image sets in [-1, 1] with the ImageNet Inception-v3 weights (a local file, never downloaded)."""
    extractor = InceptionFeatures(weights_path)
    return fid_from_stats(feature_stats(real_images, extractor), feature_stats(fake_images, extractor))


def fid_random_features(real_images, fake_images, seed: int = 0) -> float:
    """Smoke-test stand-in for FID: the same pipeline on a randomly initialised Inception-v3 (NOT FID)."""
    extractor = InceptionFeatures(random_weights=True, seed=seed)
    return fid_from_stats(feature_stats(real_images, extractor), feature_stats(fake_images, extractor))


__all__ = ["INCEPTION_FILE", "WeightsNotFoundError", "keras_cache_dir", "find_inception_weights", "InceptionFeatures",
           "GaussianStats", "frechet_distance", "fid_from_stats", "polynomial_mmd2_unbiased", "kid", "feature_stats",
           "fid_and_kid", "fid", "fid_random_features"]
