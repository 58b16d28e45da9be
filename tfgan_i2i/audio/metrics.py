"""Objective audio scores: SNR of a reconstruction, spectral distances of a translation to a reference, and what a
translation keeps of its input: level (RMS, K-weighted LUFS), pitch (pYIN f0) and note onsets.

The spectral scores compare STFT magnitudes (the framing of `stft`), so they ignore phase: a translation with the
right notes and timbre scores well even though its waveform differs sample by sample. Pitch and onsets use
librosa and LUFS uses pyloudnorm, imported only when called (`pip install 'tfgan_i2i[audio]'`).
"""
from __future__ import annotations

import importlib

import numpy as np

from .stft import SpectrogramConfig, stft

# pYIN search range: below the piano's A0 (27.5 Hz) up to past the violin's and the piano's top notes at 16 kHz.
F0_MIN, F0_MAX = 30.0, 4000.0
# 2048 samples (128 ms at 16 kHz) hold two periods of F0_MIN: pYIN's lag search needs the longest period to fit.
F0_FRAME = 2048
ONSET_HOP = 256  # 16 ms at 16 kHz: fine enough to place a piano attack


def optional_module(name: str, purpose: str):
    """Import an optional dependency, or raise ImportError saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(f"{purpose} needs the {name} package: pip install 'tfgan_i2i[audio]' "
                          f"(or pip install {name})") from None


def _pair(reference, estimate, same_length: bool) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 waves (..., n); either equal lengths, or both cut to the shorter one."""
    ref, est = np.asarray(reference, np.float64), np.asarray(estimate, np.float64)
    if ref.shape[:-1] != est.shape[:-1]:
        raise ValueError(f"waves must have the same channels, got shapes {ref.shape} and {est.shape}")
    if same_length and ref.shape != est.shape:
        raise ValueError(f"waves must have the same length, got shapes {ref.shape} and {est.shape}")
    n = min(ref.shape[-1], est.shape[-1])
    return ref[..., :n], est[..., :n]


def _mono(wave, name: str = "wave") -> np.ndarray:
    """A float64 (n,) wave, or a ValueError for any other shape."""
    wave = np.asarray(wave, np.float64)
    if wave.ndim != 1 or wave.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty mono (n,) wave, got shape {wave.shape}")
    return wave


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


# --- level ---------------------------------------------------------------------------------------------------------
LEVEL_WEIGHTINGS = ("rms", "lufs")


def rms_db(wave) -> float:
    """RMS level 20 log10(sqrt(mean x^2)) in dB relative to full scale (a full-scale sine is -3.01; silence -inf)."""
    power = float(np.mean(np.square(np.asarray(wave, np.float64))))
    return 10.0 * np.log10(power) if power > 0 else float("-inf")


def lufs(wave, sample_rate: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4: K-weighting, 400 ms blocks, absolute and relative gates) by
    pyloudnorm; -inf when every block is gated out (silence). Needs at least 0.4 s of audio."""
    wave = _mono(wave)
    if wave.shape[0] < 0.4 * sample_rate:
        raise ValueError(f"LUFS needs at least 0.4 s of audio (one gating block), got {wave.shape[0]} samples at "
                         f"{sample_rate} Hz")
    pyloudnorm = optional_module("pyloudnorm", "LUFS loudness")
    return float(pyloudnorm.Meter(int(sample_rate)).integrated_loudness(wave))


def level_db(wave, sample_rate: int | None = None, weighting: str = "rms") -> float:
    """A wave's level in dB: "rms" (`rms_db`, dBFS) or "lufs" (`lufs`, needs the sample rate)."""
    if weighting not in LEVEL_WEIGHTINGS:
        raise ValueError(f"weighting={weighting!r} must be one of {LEVEL_WEIGHTINGS}")
    if weighting == "rms":
        return rms_db(wave)
    if sample_rate is None:
        raise ValueError("the LUFS level needs the sample rate")
    return lufs(wave, sample_rate)


def level_difference_db(reference, estimate, sample_rate: int | None = None, weighting: str = "rms") -> float:
    """level(estimate) - level(reference) in dB over the common length (+6.02 when the estimate has twice the
    amplitude); NaN when either is silent."""
    ref, est = _pair(reference, estimate, same_length=False)
    diff = level_db(est, sample_rate, weighting) - level_db(ref, sample_rate, weighting)
    return float(diff) if np.isfinite(diff) else float("nan")


# --- pitch ---------------------------------------------------------------------------------------------------------
def f0_track(wave, sample_rate: int, fmin: float = F0_MIN, fmax: float = F0_MAX,
             frame_length: int = F0_FRAME) -> tuple[np.ndarray, np.ndarray]:
    """(f0 in Hz, voiced) per frame of librosa's pYIN (Mauch & Dixon 2014), hop frame_length / 4, frames centred.

    f0 is NaN where a frame is unvoiced. pYIN reports pitch on a 10-cent grid (resolution 0.1 semitone), so two
    tones less than 5 cents apart can score the same.
    """
    wave = _mono(wave)
    if wave.shape[0] < frame_length:
        raise ValueError(f"pitch tracking needs at least {frame_length} samples ({frame_length / sample_rate:.3f} s), "
                         f"got {wave.shape[0]}")
    librosa = optional_module("librosa", "the pitch measure (pYIN)")
    f0, voiced, _ = librosa.pyin(wave, fmin=fmin, fmax=min(fmax, sample_rate / 2 - 1), sr=sample_rate,
                                 frame_length=frame_length)
    return np.asarray(f0, np.float64), np.asarray(voiced, bool)


def compare_f0(reference: tuple[np.ndarray, np.ndarray], estimate: tuple[np.ndarray, np.ndarray]) -> dict:
    """Pitch agreement of two `f0_track`s over their common frames.

    cents: median over frames voiced in both of |1200 log2(f0_est / f0_ref)| (NaN when no frame is voiced in
    both); voiced_ref, voiced_est, voiced_both: the fractions of frames voiced in the reference, the estimate, both.
    """
    n = min(len(reference[0]), len(estimate[0]))
    (f_ref, v_ref), (f_est, v_est) = [(f[:n], v[:n]) for f, v in (reference, estimate)]
    both = v_ref & v_est & (f_ref > 0) & (f_est > 0)
    cents = np.abs(1200.0 * np.log2(f_est[both] / f_ref[both]))
    fraction = (lambda mask: float(np.mean(mask))) if n else (lambda mask: float("nan"))
    return {"cents": float(np.median(cents)) if cents.size else float("nan"),
            "voiced_ref": fraction(v_ref), "voiced_est": fraction(v_est), "voiced_both": fraction(both)}


def pitch_error_cents(reference, estimate, sample_rate: int, **track_options) -> float:
    """Median absolute f0 difference in cents on the frames pYIN finds voiced in both waves (0 for the same tone,
    100 for a semitone apart; NaN when no frame is voiced in both). track_options go to `f0_track`."""
    ref, est = _pair(reference, estimate, same_length=False)
    return compare_f0(f0_track(ref, sample_rate, **track_options), f0_track(est, sample_rate, **track_options))["cents"]


# --- onsets --------------------------------------------------------------------------------------------------------
def onset_envelope(wave, sample_rate: int, hop_length: int = ONSET_HOP) -> np.ndarray:
    """librosa's onset strength per frame: the mean over mel bands of the positive rise of the log-mel spectrum."""
    librosa = optional_module("librosa", "the onset measure")
    return np.asarray(librosa.onset.onset_strength(y=_mono(wave), sr=sample_rate, hop_length=hop_length),
                      np.float64)


def correlation(a, b) -> float:
    """Pearson correlation of two sequences over their common length (NaN when either is constant)."""
    n = min(len(a), len(b))
    a, b = np.asarray(a[:n], np.float64), np.asarray(b[:n], np.float64)
    a, b = a - a.mean(), b - b.mean()
    scale = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / scale) if scale > 0 else float("nan")


def onset_correlation(reference, estimate, sample_rate: int, hop_length: int = ONSET_HOP) -> float:
    """Pearson correlation of the two waves' onset-strength envelopes (1: attacks at the same moments with the same
    relative strength; about 0: unrelated)."""
    ref, est = _pair(reference, estimate, same_length=False)
    return correlation(onset_envelope(ref, sample_rate, hop_length), onset_envelope(est, sample_rate, hop_length))


__all__ = ["F0_FRAME", "F0_MAX", "F0_MIN", "LEVEL_WEIGHTINGS", "compare_f0", "correlation", "f0_track",
           "level_db", "level_difference_db", "log_spectral_distance", "lufs", "onset_correlation",
           "onset_envelope", "optional_module", "pitch_error_cents", "rms_db", "snr_db", "spectral_convergence"]
