"""STFT spectrogram "images" of audio and their inverses (exact for phase and IF, Griffin-Lim for magnitude only).

    wave (..., n) --stft--> X (..., frames, frame_length/2 + 1) complex --to_image--> (..., frames, bins, C) in [-1, 1]

Framing: the wave is REFLECT-padded by p = frame_length - frame_step samples at both ends (plus up to
frame_step - 1 more at the end so the padded length is whole hops). Then every original sample lies under
frame_length / frame_step Hann windows, the region where `tf.signal.inverse_stft_window_fn` is the exact inverse,
so stft -> inverse_stft reproduces the whole signal to float precision (~1e-7), edges included, and the padding
is trimmed off again. A wave of n samples gives ceil(n / frame_step) + frame_length / frame_step - 1 frames.

Image channels (height = time frames, width = frequency bins):

* channel 0, log magnitude with fixed constants (no per-file normalisation, so it inverts exactly):
  m' = 2 (ln(|X| + floor) - ln(floor)) / (ln(M + floor) - ln(floor)) - 1, with floor = `log_floor` and
  M = `max_magnitude` (default frame_length / 2 = the window sum, the largest |X| a wave in [-1, 1] can give),
  so 0 -> -1 and M -> +1;
* "phase": channel 1 = angle(X) / pi;
* "if": channel 1 = instantaneous frequency as in GANSynth (Engel et al. 2019): the phase unwrapped along time
  and differenced, i.e. wrap(phi[t] - phi[t-1]) / pi with phi[-1] = 0; the inverse is phi = pi * cumsum;
* "magnitude": channel 0 only; the inverse estimates a phase with Griffin-Lim.

The Nyquist bin (index frame_length / 2) is dropped so the width is frame_length / 2 (512 for 1024-sample frames),
a power of two that halves cleanly through a U-Net; the inverse puts zeros there. For 16 kHz audio that bin is
the 8 kHz line, which resampling filters already leave nearly empty.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

REPRESENTATIONS = ("phase", "if", "magnitude")


@dataclass(frozen=True)
class SpectrogramConfig:
    """How a wave becomes a spectrogram image: STFT framing, phase representation and magnitude scaling."""

    frame_length: int = 1024        # samples per Hann window (= FFT length)
    frame_step: int = 256           # hop between frames; must divide frame_length
    representation: str = "phase"   # "phase" | "if" (instantaneous frequency) | "magnitude" (Griffin-Lim inverse)
    log_floor: float = 1e-5         # added to |X| before the log: sets the quietest level the image resolves
    max_magnitude: float | None = None  # |X| mapped to +1; None: frame_length / 2, the Hann window's sum
    sample_rate: int = 16000        # the rate waves are read at for this representation

    def __post_init__(self):
        if self.representation not in REPRESENTATIONS:
            raise ValueError(f"representation={self.representation!r} must be one of {REPRESENTATIONS}")
        if not (isinstance(self.frame_length, int) and isinstance(self.frame_step, int)
                and 0 < self.frame_step <= self.frame_length and self.frame_length % self.frame_step == 0
                and self.frame_length % 2 == 0):
            raise ValueError(f"need an even frame_length that is a multiple of frame_step, got "
                             f"frame_length={self.frame_length}, frame_step={self.frame_step}")
        if not self.log_floor > 0:
            raise ValueError(f"log_floor={self.log_floor} must be > 0")
        if self.max_magnitude is not None and not self.max_magnitude > 0:
            raise ValueError(f"max_magnitude={self.max_magnitude} must be > 0 (or None)")
        if not (isinstance(self.sample_rate, int) and self.sample_rate > 0):
            raise ValueError(f"sample_rate={self.sample_rate} must be a positive integer")

    @property
    def bins(self) -> int:
        """Image width: frequency bins kept (the Nyquist bin is dropped)."""
        return self.frame_length // 2

    @property
    def channels(self) -> int:
        """Image channels: 2 for "phase" and "if", 1 for "magnitude"."""
        return 1 if self.representation == "magnitude" else 2

    @property
    def padding(self) -> int:
        """Reflect padding at each end, frame_length - frame_step, so every sample is under a full window overlap."""
        return self.frame_length - self.frame_step

    @property
    def magnitude_ceiling(self) -> float:
        """The |X| mapped to +1 in channel 0."""
        return float(self.max_magnitude) if self.max_magnitude is not None else self.frame_length / 2

    def num_frames(self, length: int) -> int:
        """Number of STFT frames (image height) for a wave of `length` samples."""
        return -(-int(length) // self.frame_step) + self.frame_length // self.frame_step - 1

    def crop_length(self, frames: int) -> int:
        """The wave length (samples) whose image has exactly `frames` frames (the inverse of num_frames)."""
        overlap = self.frame_length // self.frame_step
        if frames < overlap:
            raise ValueError(f"frames={frames} is too few: a spectrogram image needs at least {overlap} frames "
                             f"(frame_length / frame_step) for frame_length={self.frame_length}")
        return (int(frames) - overlap + 1) * self.frame_step


def _wave_tensor(wave) -> tf.Tensor:
    """A float tensor (float64 stays float64 for exact checks, anything else becomes float32)."""
    wave = tf.convert_to_tensor(wave)
    return wave if wave.dtype in (tf.float32, tf.float64) else tf.cast(wave, tf.float32)


def stft(wave, config: SpectrogramConfig = SpectrogramConfig()) -> tf.Tensor:
    """Complex STFT (..., frames, frame_length // 2 + 1) of a wave (..., n), Hann window, reflect-padded ends."""
    wave = _wave_tensor(wave)
    n = wave.shape[-1]
    if n is not None and n < config.frame_length:
        raise ValueError(f"a wave of {n} samples is shorter than one frame ({config.frame_length} samples); "
                         "pad it or use a shorter frame_length")
    n_dyn = tf.shape(wave)[-1]
    extra = tf.math.floormod(-n_dyn, config.frame_step)  # make the padded length whole hops
    paddings = tf.concat([tf.zeros([tf.rank(wave) - 1, 2], tf.int32),
                          [[config.padding, config.padding + extra]]], axis=0)
    padded = tf.pad(wave, paddings, mode="REFLECT")
    return tf.signal.stft(padded, config.frame_length, config.frame_step, fft_length=config.frame_length,
                          window_fn=tf.signal.hann_window, pad_end=False)


def inverse_stft(stfts, config: SpectrogramConfig = SpectrogramConfig(), length: int | None = None) -> tf.Tensor:
    """The wave (..., length) whose `stft` is `stfts`; length None gives every sample the frames cover."""
    stfts = tf.convert_to_tensor(stfts)
    window_fn = tf.signal.inverse_stft_window_fn(config.frame_step, forward_window_fn=tf.signal.hann_window)
    wave = tf.signal.inverse_stft(stfts, config.frame_length, config.frame_step, fft_length=config.frame_length,
                                  window_fn=window_fn)
    if length is None:
        length = tf.shape(wave)[-1] - 2 * config.padding
    return wave[..., config.padding:config.padding + length]


def _log_range(config: SpectrogramConfig) -> tuple[float, float]:
    return math.log(config.log_floor), math.log(config.magnitude_ceiling + config.log_floor)


def magnitude_to_unit(magnitude, config: SpectrogramConfig = SpectrogramConfig()) -> tf.Tensor:
    """Map |X| >= 0 to [-1, 1]: 2 (ln(|X| + floor) - ln floor) / (ln(M + floor) - ln floor) - 1 (see module doc)."""
    lo, hi = _log_range(config)
    return 2.0 * (tf.math.log(magnitude + config.log_floor) - lo) / (hi - lo) - 1.0


def unit_to_magnitude(unit, config: SpectrogramConfig = SpectrogramConfig()) -> tf.Tensor:
    """Inverse of magnitude_to_unit: |X| = exp(ln floor + (u + 1) / 2 (ln(M + floor) - ln floor)) - floor."""
    lo, hi = _log_range(config)
    return tf.nn.relu(tf.exp(lo + (unit + 1.0) * 0.5 * (hi - lo)) - config.log_floor)


def _wrap(phase):
    """Wrap angles to [-pi, pi)."""
    return tf.math.floormod(phase + np.pi, 2.0 * np.pi) - np.pi


def to_image(wave, config: SpectrogramConfig = SpectrogramConfig()) -> tf.Tensor:
    """Spectrogram image float32 (..., frames, bins, channels) in [-1, 1] of a wave (..., n); see the module doc."""
    spec = stft(wave, config)[..., :config.bins]  # drop the Nyquist bin
    channels = [magnitude_to_unit(tf.abs(spec), config)]
    if config.representation != "magnitude":
        phase = tf.math.angle(spec)
        if config.representation == "if":
            # difference along time (axis -2) with phi[-1] = 0, wrapped = the difference of the unwrapped phase
            previous = tf.concat([tf.zeros_like(phase[..., :1, :]), phase[..., :-1, :]], axis=-2)
            phase = _wrap(phase - previous)
        channels.append(phase / np.pi)
    image = tf.stack(channels, axis=-1)
    return tf.cast(tf.clip_by_value(image, -1.0, 1.0), tf.float32)


def _with_nyquist(spec) -> tf.Tensor:
    """Append the dropped Nyquist bin as zeros: (..., bins) -> (..., bins + 1)."""
    return tf.concat([spec, tf.zeros_like(spec[..., :1])], axis=-1)


def from_image(image, config: SpectrogramConfig = SpectrogramConfig(), length: int | None = None,
               griffin_lim_iters: int = 32, momentum: float = 0.99, seed: int = 0) -> tf.Tensor:
    """The float32 wave (..., length) of a spectrogram image (..., frames, bins, channels) made by `to_image`.

    "phase" and "if" invert exactly (up to float error and the dropped Nyquist bin); "magnitude" runs
    `griffin_lim` with the given iterations, momentum and seed. Values are clipped to [-1, 1] first, so raw
    generator outputs are accepted.
    """
    image = tf.clip_by_value(tf.convert_to_tensor(image, tf.float32), -1.0, 1.0)
    if image.shape[-1] != config.channels or image.shape[-2] != config.bins:
        raise ValueError(f"expected images (..., frames, {config.bins}, {config.channels}) for "
                         f"representation={config.representation!r}, frame_length={config.frame_length}; "
                         f"got shape {tuple(image.shape)}")
    magnitude = unit_to_magnitude(image[..., 0], config)
    if config.representation == "magnitude":
        return griffin_lim(magnitude, config, length, iterations=griffin_lim_iters, momentum=momentum, seed=seed)
    if config.representation == "if":
        # float64 cumsum: a float32 running sum over hundreds of frames would drift by ~1e-5 rad
        phase = np.pi * tf.cumsum(tf.cast(image[..., 1], tf.float64), axis=-2)
        phase = tf.cast(_wrap(phase), tf.float32)
    else:
        phase = np.pi * image[..., 1]
    spec = tf.complex(magnitude * tf.cos(phase), magnitude * tf.sin(phase))
    return inverse_stft(_with_nyquist(spec), config, length)


def griffin_lim(magnitude, config: SpectrogramConfig = SpectrogramConfig(), length: int | None = None,
                iterations: int = 32, momentum: float = 0.99, seed: int = 0, return_convergence: bool = False):
    """Estimate a float32 wave (..., length) whose STFT magnitude is `magnitude` (..., frames, bins[+1]).

    Griffin & Lim (1984): alternate X <- |S| e^{i angle(STFT(x))} and x <- argmin_x ||STFT(x) - X||, the
    least-squares overlap-add x[n] = sum_t w[n - tH] y_t[n - tH] / sum_t w[n - tH]^2 over the padded signal
    (no reflection constraint, so each step is an exact projection). With momentum a > 0 it is the fast
    Griffin-Lim of Perraudin et al. (2013): the phase comes from R_i - a / (1 + a) R_{i-1}; a = 0 is plain GL.
    The initial phase is uniform random from `seed`. The padding is trimmed as in `inverse_stft`.

    With return_convergence, also returns the spectral convergence of every iterate x_0..x_{iterations-1},
    || |STFT(x_i)| - S || / || S || with bins weighted as in the two-sided spectrum (interior bins twice), the
    norm in which plain GL provably never increases it.
    """
    mag = tf.convert_to_tensor(magnitude, tf.float32)
    if mag.shape[-1] == config.bins:
        mag = _with_nyquist(mag)
    if mag.shape[-1] != config.bins + 1:
        raise ValueError(f"expected magnitudes with {config.bins} or {config.bins + 1} bins for frame_length="
                         f"{config.frame_length}, got shape {tuple(mag.shape)}")
    n_fft, hop = config.frame_length, config.frame_step
    window = tf.signal.hann_window(n_fft)
    frames = tf.shape(mag)[-2]
    # sum_t w^2[n - tH]: the least-squares normaliser; zero only where the periodic Hann window is 0 at the ends
    norm = tf.signal.overlap_and_add(tf.tile(window[None, :] ** 2, [frames, 1]), hop)
    norm = tf.where(norm > 1e-6, norm, tf.ones_like(norm))
    weights = tf.concat([[1.0], tf.fill([config.bins - 1], 2.0), [1.0]], axis=0)
    target = tf.complex(mag, tf.zeros_like(mag))

    def synthesize(spec):
        return tf.signal.overlap_and_add(tf.signal.irfft(spec, [n_fft]) * window, hop) / norm

    def analyze(x):
        return tf.signal.stft(x, n_fft, hop, fft_length=n_fft, window_fn=tf.signal.hann_window, pad_end=False)

    def unit(z):
        return z / tf.cast(tf.maximum(tf.abs(z), 1e-16), z.dtype)

    uniform = tf.random.stateless_uniform(tf.shape(mag), seed=[int(seed), 0], minval=-np.pi, maxval=np.pi)
    angles = tf.complex(tf.cos(uniform), tf.sin(uniform))
    total = tf.sqrt(tf.reduce_sum(weights * mag ** 2))
    convergence = []
    previous = tf.zeros_like(target)
    x = synthesize(target * angles)
    for _ in range(int(iterations)):
        rebuilt = analyze(x)
        if return_convergence:
            err = tf.sqrt(tf.reduce_sum(weights * (tf.abs(rebuilt) - mag) ** 2)) / tf.maximum(total, 1e-12)
            convergence.append(float(err))
        angles = unit(rebuilt - (momentum / (1.0 + momentum)) * previous) if momentum else unit(rebuilt)
        previous = rebuilt
        x = synthesize(target * angles)
    if length is None:
        length = tf.shape(x)[-1] - 2 * config.padding
    wave = x[..., config.padding:config.padding + length]
    return (wave, np.asarray(convergence, np.float64)) if return_convergence else wave


__all__ = [
    "REPRESENTATIONS",
    "SpectrogramConfig",
    "from_image",
    "griffin_lim",
    "inverse_stft",
    "magnitude_to_unit",
    "stft",
    "to_image",
    "unit_to_magnitude",
]
