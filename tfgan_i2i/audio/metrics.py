"""Objective audio scores: SNR of a reconstruction, and spectral distances of a translation to a reference.

The spectral scores compare STFT magnitudes (the framing of `stft`), so they ignore phase: a translation with the
right notes and timbre scores well even though its waveform differs sample by sample.
"""
from __future__ import annotations

import numpy as np

from .stft import SpectrogramConfig, stft


def _pair(reference, estimate, same_length: bool) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 waves (..., n); either equal lengths, or both cut to the shorter one."""
    ref, est = np.asarray(reference, np.float64), np.asarray(estimate, np.float64)
    if ref.shape[:-1] != est.shape[:-1]:
        raise ValueError(f"waves must have the same channels, got shapes {ref.shape} and {est.shape}")
    if same_length and ref.shape != est.shape:
        raise ValueError(f"waves must have the same length, got shapes {ref.shape} and {est.shape}")
    n = min(ref.shape[-1], est.shape[-1])
    return ref[..., :n], est[..., :n]


def snr_db(reference, estimate) -> float:
    """Signal-to-noise ratio 10 log10(sum ref^2 / sum (ref - est)^2) in dB (inf for an exact match)."""
    ref, est = _pair(reference, estimate, same_length=True)
    noise = np.sum((ref - est) ** 2)
    return float("inf") if noise == 0 else float(10.0 * np.log10(np.sum(ref ** 2) / noise))


def _magnitudes(reference, estimate, config):
    ref, est = _pair(reference, estimate, same_length=False)
    return np.abs(stft(ref, config).numpy()), np.abs(stft(est, config).numpy())


def spectral_convergence(reference, estimate, config: SpectrogramConfig = SpectrogramConfig()) -> float:
    """|| |STFT(ref)| - |STFT(est)| ||_F / || |STFT(ref)| ||_F over the common length (0 is a perfect match)."""
    ref, est = _magnitudes(reference, estimate, config)
    return float(np.linalg.norm(ref - est) / max(np.linalg.norm(ref), 1e-12))


def log_spectral_distance(reference, estimate, config: SpectrogramConfig = SpectrogramConfig(),
                          range_db: float = 80.0) -> float:
    """Log-spectral distance in dB over the common length: the frame mean of
    sqrt(mean_k (20 log10(max(|R_tk|, f) / max(|E_tk|, f)))^2).

    The floor f sits range_db below the reference's loudest bin, so the digital silence of a rendering does not
    turn inaudible noise in the estimate into a huge distance.
    """
    ref, est = _magnitudes(reference, estimate, config)
    floor = max(ref.max(), 1e-12) * 10.0 ** (-range_db / 20.0)
    diff_db = 20.0 * np.log10(np.maximum(ref, floor) / np.maximum(est, floor))
    return float(np.mean(np.sqrt(np.mean(diff_db ** 2, axis=-1))))


__all__ = ["log_spectral_distance", "snr_db", "spectral_convergence"]
