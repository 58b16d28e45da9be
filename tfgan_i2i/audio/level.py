"""Output level of a translation: one gain for the whole wave, so a model's own loudness never reaches the user.

A spectrogram model's output level is whatever its training happened to produce (the first shipped model spoke
12x quieter than its input). `match_level` scales a wave to a chosen RMS level with a single gain, which keeps
the model's dynamics (a piano's decay stays a decay) while fixing the overall loudness; the gain is lowered where
it would push the peak past `PEAK_CEILING`, so the 16-bit file never clips.
"""
from __future__ import annotations

import numpy as np

from .metrics import rms_db

LEVEL_MODES = ("input", "target", "none")  # match the input's RMS, the target domain's typical RMS, or leave it
PEAK_CEILING = 0.99  # the largest |sample| a gain may produce (just under full scale)


def gain_for_level(wave, level: float, peak: float = PEAK_CEILING) -> float:
    """The linear gain that brings `wave`'s RMS to `level` dBFS, capped so the peak stays at or below `peak`.

    1.0 for a silent wave (no gain can give silence a level) or a level of -inf.
    """
    wave = np.asarray(wave, np.float64)
    current = rms_db(wave)
    if not np.isfinite(current) or not np.isfinite(level):
        return 1.0
    gain = 10.0 ** ((level - current) / 20.0)
    top = float(np.max(np.abs(wave)))
    return float(min(gain, peak / top)) if top > 0 else gain


def match_level(wave, level: float, peak: float = PEAK_CEILING) -> tuple[np.ndarray, float]:
    """(wave scaled to RMS `level` dBFS, the gain applied in dB); see `gain_for_level` for the peak cap."""
    gain = gain_for_level(wave, level, peak)
    return (np.asarray(wave, np.float32) * np.float32(gain)), float(20.0 * np.log10(gain))


def typical_level(waves) -> float:
    """The median RMS level (dBFS) of a domain's recordings, silent ones left out (-inf if all are silent)."""
    levels = [rms_db(w) for w in waves]
    levels = [x for x in levels if np.isfinite(x)]
    return float(np.median(levels)) if levels else float("-inf")


__all__ = ["LEVEL_MODES", "PEAK_CEILING", "gain_for_level", "match_level", "typical_level"]
