"""Pixel diversity of multimodal outputs: how far samples of one input are from each other and from the truth."""
from __future__ import annotations

import itertools

import numpy as np


def _check_samples(samples) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim < 3 or samples.shape[1] < 2:
        raise ValueError(f"samples must be shaped (N, k, ...) with k >= 2 samples per input, got {samples.shape}")
    return samples


def pairwise_l1(samples) -> np.ndarray:
    """Per input, the mean over all k(k-1)/2 sample pairs of mean|s_i - s_j| (samples: (N, k, H, W, C)).

    Near 0 means the latent code is ignored (mode collapse onto one output per input).
    """
    samples = _check_samples(samples)
    pairs = itertools.combinations(range(samples.shape[1]), 2)
    axes = tuple(range(1, samples.ndim - 1))
    return np.mean([np.abs(samples[:, i] - samples[:, j]).mean(axis=axes) for i, j in pairs], axis=0)


def best_of_k_l1(samples, target) -> np.ndarray:
    """Per input, min over the k samples of mean|s_i - target| (samples (N, k, ...), target (N, ...))."""
    samples = _check_samples(samples)
    target = np.asarray(target, dtype=np.float64)
    if target.shape != samples.shape[:1] + samples.shape[2:]:
        raise ValueError(f"target shape {target.shape} does not match samples {samples.shape} without the k axis")
    axes = tuple(range(2, samples.ndim))
    return np.abs(samples - target[:, None]).mean(axis=axes).min(axis=1)
