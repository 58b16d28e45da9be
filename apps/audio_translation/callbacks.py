"""TensorBoard logging of what the audio model does to real sound: listenable clips and spectrogram pictures."""
from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from tfgan_i2i.audio import SpectrogramConfig, to_image
from tfgan_i2i.data.images import image_grid

from .model import DOMAINS, AudioTranslator


def loudest_clip(wave: np.ndarray, length: int) -> np.ndarray:
    """The `length`-sample window of `wave` with the most energy (the whole wave if it is shorter).

    Recordings often open with silence; a monitoring clip taken from the start could be silent for every epoch.
    """
    wave = np.asarray(wave, np.float32)
    if wave.shape[-1] <= length:
        return wave
    energy = np.concatenate([[0.0], np.cumsum(wave.astype(np.float64) ** 2)])
    hop = max(1, length // 8)  # a coarse search is enough to land on the music
    starts = np.arange(0, wave.shape[-1] - length + 1, hop)
    best = starts[np.argmax(energy[starts + length] - energy[starts])]
    return wave[best:best + length]


def spectrogram_picture(wave: np.ndarray, spec: SpectrogramConfig) -> np.ndarray:
    """The log-magnitude channel of `wave`'s spectrogram image as a (bins, frames, 1) picture in [-1, 1].

    Transposed and flipped from the model's (frames, bins) layout so that time runs left to right and low
    frequencies sit at the bottom, the way spectrograms are usually read.
    """
    magnitude = to_image(np.asarray(wave, np.float32), spec).numpy()[..., 0]
    return magnitude.T[::-1, :, None]


class AudioSamples(keras.callbacks.Callback):
    """After every `every` epochs, translate a fixed held-out clip of each instrument and log it to TensorBoard.

    For clip x of the violin (domain A) it logs, under `logdir/audio`, step = the 0-based epoch:
      * `violin_to_piano/input`, `/translated`, `/reconstructed` (tf.summary.audio at the model's rate): x,
        A->B(x) and A->B->A(x) through the cycle;
      * `violin_to_piano/spectrograms` (tf.summary.image): the three log-magnitude spectrograms side by side,
        channel 0 mapped from [-1, 1] to [0, 1];
    and the same under `piano_to_violin/` for the piano clip (a paired model: its one direction, without the
    reconstruction). Whole clips go through the chunked, cross-faded `translate_wave` and the level matching to
    the input, the path `tfgan-i2i-audio translate` uses, so what is heard here is what users get.
    """

    def __init__(self, clips: dict[str, np.ndarray], spec: SpectrogramConfig, chunk_frames: int, logdir: str,
                 every: int = 1, griffin_lim_iters: int = 32):
        super().__init__()
        unknown = sorted(set(clips) - set(DOMAINS))
        if unknown or not clips:
            raise ValueError(f"AudioSamples needs clips keyed by {' / '.join(DOMAINS)}, got {sorted(clips)}")
        if every < 1:
            raise ValueError(f"AudioSamples needs every >= 1, got {every}")
        self.clips = {name: np.asarray(wave, np.float32) for name, wave in clips.items()}
        self.spec, self.chunk_frames, self.logdir = spec, int(chunk_frames), os.fspath(logdir)
        self.every, self.griffin_lim_iters = int(every), int(griffin_lim_iters)
        self._writer = self._translator = None

    def render(self) -> dict[str, dict[str, np.ndarray]]:
        """{"violin": {"input", "translated", "reconstructed"}, "piano": {...}}: waves from the current weights.

        A paired model translates one way: only the clip of its source instrument is rendered, with no
        reconstruction (there is no way back).
        """
        if self._translator is None:
            self._translator = AudioTranslator.from_model(self.model, source="the model being trained")
        out = {}
        for source, wave in self.clips.items():
            target = DOMAINS[1] if source == DOMAINS[0] else DOMAINS[0]
            if target not in self._translator.targets:
                continue
            kwargs = dict(griffin_lim_iters=self.griffin_lim_iters)
            out[source] = {"input": wave, "translated": self._translator.translate(wave, target, **kwargs)}
            if source in self._translator.targets:
                out[source]["reconstructed"] = self._translator.translate(out[source]["translated"], source, **kwargs)
        return out

    def write(self, epoch: int) -> dict[str, dict[str, np.ndarray]]:
        """Render and log the clips after (0-based) `epoch`; returns the waves."""
        waves = self.render()
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.logdir, "audio"))
        with self._writer.as_default():
            for source, row in waves.items():
                target = DOMAINS[1] if source == DOMAINS[0] else DOMAINS[0]
                tag = f"{source}_to_{target}"
                for kind, wave in row.items():
                    clipped = np.clip(np.nan_to_num(wave), -1.0, 1.0)  # tf.summary.audio needs [-1, 1]
                    tf.summary.audio(f"{tag}/{kind}", clipped[None, :, None], self.spec.sample_rate, step=epoch)
                grid = image_grid([[spectrogram_picture(w, self.spec) for w in row.values()]], padding=2)
                tf.summary.image(f"{tag}/spectrograms", grid[None], step=epoch)
        self._writer.flush()
        return waves

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.write(epoch)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


__all__ = ["AudioSamples", "loudest_clip", "spectrogram_picture"]
