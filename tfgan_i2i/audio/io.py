"""Audio file boundary: read wav/flac/ogg/mp3 at the model's sample rate, write 16-bit PCM, one clear error type.

Inside the library a wave is float32 in [-1, 1], shape (n,) for mono or (channels, n) for multi-channel audio
(channels first, so the time axis is last, as tf.signal expects).
"""
from __future__ import annotations

import math
import os

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from ..data.images import DataError

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")

_WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


class AudioError(DataError):
    """An audio file cannot be used (missing, unreadable, empty, too short); the message names it and the fix."""


def resample(wave: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample along the last axis from orig_rate to target_rate Hz with a polyphase filter; float32 out.

    The rational factor up/down = target/orig is reduced by their gcd (44100 -> 16000 is 160/441), so the output
    has ceil(n * up / down) samples and the anti-aliasing filter is scipy's Kaiser-windowed default.
    """
    wave = np.asarray(wave, dtype=np.float32)
    if orig_rate == target_rate:
        return wave
    g = math.gcd(int(orig_rate), int(target_rate))
    out = resample_poly(wave, int(target_rate) // g, int(orig_rate) // g, axis=-1)
    return out.astype(np.float32, copy=False)


def read_audio(path, sample_rate: int = 16000, mono: bool = True, min_seconds: float = 0.0,
               min_samples: int = 1) -> np.ndarray:
    """Read an audio file as float32 in [-1, 1] at `sample_rate` Hz: shape (n,) if mono else (channels, n).

    Mono is the mean of the channels. Files at another rate are resampled (see `resample`). Raises AudioError
    for a missing, unreadable, empty or non-finite file, or one shorter than max(min_samples,
    ceil(min_seconds * sample_rate)) samples after resampling.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AudioError(f"Audio file not found: {path!r}; check the path.")
    if os.path.isdir(path):
        raise AudioError(f"{path!r} is a folder, not an audio file; pass a {'/'.join(AUDIO_EXTENSIONS)} file.")
    if os.path.getsize(path) == 0:
        raise AudioError(f"Audio file {path!r} is empty (0 bytes). Replace or delete it.")
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, TypeError, ValueError) as err:
        # libsndfile says "Format not recognised" for text or truncated headers; keep its words for the user.
        raise AudioError(
            f"Cannot read audio {path!r} ({err}). Use a {'/'.join(AUDIO_EXTENSIONS)} file; replace or delete this "
            "one if it is corrupt or not audio."
        ) from None
    data = data.T  # (channels, n): time last
    if data.shape[1] == 0:
        raise AudioError(f"Audio file {path!r} is empty (0 samples). Replace or delete it.")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"Audio file {path!r} contains NaN or infinite samples. Re-export it from its source.")
    if mono:
        data = data.mean(axis=0, keepdims=True)
    data = resample(data, rate, sample_rate)
    need = max(int(min_samples), math.ceil(min_seconds * sample_rate))
    n = data.shape[1]
    if n < need:
        raise AudioError(
            f"Audio file {path!r} is too short: {n / sample_rate:.3f} s ({n} samples at {sample_rate} Hz), need at "
            f"least {need / sample_rate:.3f} s ({need} samples). Use a longer recording, or lower the crop/chunk "
            "length."
        )
    return data[0] if mono else data


def write_audio(path, wave, sample_rate: int) -> str:
    """Write a wave in [-1, 1], shape (n,) or (channels, n), to a 16-bit PCM .wav (or .flac) file; returns path.

    Values outside [-1, 1] are clipped (and NaN written as silence) rather than wrapping around in 16 bits.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in _WRITE_FORMATS:
        raise ValueError(f"Cannot write {path!r}: use a .wav or .flac file name")
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim == 2 and wave.shape[0] > wave.shape[1]:
        raise ValueError(f"Cannot write {path!r}: expected a (channels, n) wave, got shape {wave.shape} "
                         "(transpose a (n, channels) array first)")
    if wave.ndim not in (1, 2) or wave.shape[-1] == 0:
        raise ValueError(f"Cannot write {path!r}: expected a non-empty (n,) or (channels, n) wave, got shape "
                         f"{wave.shape}")
    wave = np.clip(np.nan_to_num(wave, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    sf.write(path, wave.T, int(sample_rate), subtype="PCM_16", format=_WRITE_FORMATS[ext])
    return path


__all__ = ["AUDIO_EXTENSIONS", "AudioError", "read_audio", "resample", "write_audio"]
