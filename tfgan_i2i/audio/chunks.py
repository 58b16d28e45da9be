"""Translate recordings of any length through a fixed-size spectrogram model: overlapping chunks, cross-faded.

A model sees images of `chunk_frames` frames, i.e. waves of L = config.crop_length(chunk_frames) samples. A long
wave is cut into chunks of L samples whose starts are spread evenly from 0 to n - L, so neighbours overlap by at
least `overlap` * L samples (give or take one from rounding). Each chunk goes wave -> image -> fn -> wave on its
own (the same framing the training crops get), and the outputs are blended in the waveform domain:

    out[t] = sum_i w_i(t) y_i(t) / sum_i w_i(t)

where w_i rises over chunk i's overlap with chunk i-1 as r(j) and falls over its overlap with chunk i+1 as
1 - r(j), with r a linear or Hann (sin^2) ramp that is strictly between 0 and 1. Where two chunks overlap the two
weights sum to 1, so an identity fn gives the input back (up to the STFT inverse error) with no seam, and the
output has exactly the input's length.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .stft import SpectrogramConfig, from_image, to_image

FADES = ("hann", "linear")


def chunk_starts(length: int, chunk_length: int, min_overlap: int) -> list[int]:
    """Start samples of the fewest chunks of chunk_length that cover `length` with neighbours overlapping by at least
    min_overlap samples (give or take one, from rounding the evenly spread starts)."""
    if length <= chunk_length:
        return [0]
    step = max(1, chunk_length - min_overlap)
    count = 1 + -(-(length - chunk_length) // step)  # ceil: enough chunks that no gap exceeds `step`
    return [int(round(s)) for s in np.linspace(0, length - chunk_length, count)]


def _ramp(size: int, fade: str) -> np.ndarray:
    """r(j), j = 0..size-1, strictly inside (0, 1) so every sample keeps a positive total weight."""
    x = (np.arange(size) + 0.5) / size
    return np.sin(0.5 * np.pi * x) ** 2 if fade == "hann" else x


def crossfade_weights(starts: list[int], chunk_length: int, fade: str = "hann") -> list[np.ndarray]:
    """Per-chunk weights w_i (chunk_length,): ramps in/out over the actual overlaps with the neighbouring chunks."""
    if fade not in FADES:
        raise ValueError(f"fade={fade!r} must be one of {FADES}")
    weights = []
    for i, start in enumerate(starts):
        w = np.ones(chunk_length)
        if i > 0:
            size = starts[i - 1] + chunk_length - start
            w[:size] *= _ramp(size, fade)
        if i + 1 < len(starts):
            size = start + chunk_length - starts[i + 1]
            w[chunk_length - size:] *= 1.0 - _ramp(size, fade)
        weights.append(w)
    return weights


def translate_wave(
    wave,
    fn: Callable[[np.ndarray], np.ndarray],
    config: SpectrogramConfig = SpectrogramConfig(),
    chunk_frames: int = 128,
    overlap: float = 0.25,
    batch_size: int = 8,
    fade: str = "hann",
    progress: Callable[[int, int], None] | None = None,
    griffin_lim_iters: int = 32,
) -> np.ndarray:
    """Apply an image-to-image `fn` to a wave of any length, chunk by chunk; float32 out, same shape as `wave`.

    wave: (n,) or (channels, n); each channel is translated on its own. fn maps a float32 batch
    (N, chunk_frames, config.bins, config.channels) in [-1, 1] to images of the same shape (a Keras model or any
    callable). overlap: the least overlap of neighbouring chunks as a fraction of a chunk, in [0, 1).
    progress(done, total) is called after each batch of chunks. A wave shorter than one chunk is zero-padded to a
    chunk and cut back.
    """
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap={overlap} must be a fraction in [0, 1)")
    if fade not in FADES:
        raise ValueError(f"fade={fade!r} must be one of {FADES}")
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim not in (1, 2) or wave.shape[-1] == 0:
        raise ValueError(f"expected a non-empty (n,) or (channels, n) wave, got shape {wave.shape}")
    signals = wave[None] if wave.ndim == 1 else wave
    n = signals.shape[-1]
    chunk = config.crop_length(chunk_frames)
    if n < chunk:
        signals = np.pad(signals, [(0, 0), (0, chunk - n)])
    length = signals.shape[-1]
    starts = chunk_starts(length, chunk, int(round(overlap * chunk)))
    weights = crossfade_weights(starts, chunk, fade)
    jobs = [(c, i) for c in range(signals.shape[0]) for i in range(len(starts))]

    out = np.zeros(signals.shape, np.float64)
    total = np.zeros(signals.shape, np.float64)
    expected = (chunk_frames, config.bins, config.channels)
    for first in range(0, len(jobs), batch_size):
        batch = jobs[first:first + batch_size]
        segments = np.stack([signals[c, starts[i]:starts[i] + chunk] for c, i in batch])
        images = to_image(segments, config).numpy()
        translated = np.asarray(fn(images), dtype=np.float32)
        if translated.shape != images.shape:
            raise ValueError(f"fn must return images of the shape it is given, (N,) + {expected}; got "
                             f"{translated.shape} for input {images.shape}")
        result = from_image(translated, config, chunk, griffin_lim_iters=griffin_lim_iters).numpy()
        for (c, i), y in zip(batch, result):
            out[c, starts[i]:starts[i] + chunk] += weights[i] * y
            total[c, starts[i]:starts[i] + chunk] += weights[i]
        if progress is not None:
            progress(min(first + batch_size, len(jobs)), len(jobs))
    result = (out / total)[:, :n].astype(np.float32)
    return result[0] if wave.ndim == 1 else result


__all__ = ["FADES", "chunk_starts", "crossfade_weights", "translate_wave"]
