"""The audio model: a Config that carries its spectrogram settings, and loading/exporting it for translation.

Domain A is the violin and domain B the piano. Spectrogram images are square (time frames x frequency bins, the
UNIT/AVB networks are convolutional over a square Config.image_size), so a model sees chunks of exactly
`bins = frame_length / 2` frames. The SpectrogramConfig fields and the chunk size live in
`config.extra["audio"]`, which `Config.save` writes next to every checkpoint and export: a checkpoint folder or a
SavedModel folder alone is enough to translate a recording.

The SavedModel has float32 signatures over spectrogram images in [-1, 1] (uint8 would quantise the phase channel
to 256 levels, far too coarse for an inverse STFT):
  violin_to_piano(spectrogram) -> {"spectrogram"}     (serving_default)
  piano_to_violin(spectrogram) -> {"spectrogram"}
with spectrogram float32 (batch, S, S, C), S = bins, C = 2 (phase / if) or 1 (magnitude).
"""
from __future__ import annotations

import dataclasses
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from tfgan_i2i.audio import SpectrogramConfig, translate_wave
from tfgan_i2i.config import Config, ConfigError, preset
from tfgan_i2i.export.checks import check_array, check_tensor
from tfgan_i2i.export.loaded import ExportError, savedmodel_dir
from tfgan_i2i.export.savedmodel import CONFIG_FILE, export_savedmodel
from tfgan_i2i.training.callbacks import CheckpointError, find_checkpoint_dir, load_for_inference

AUDIO_KEY = "audio"                  # config.extra[AUDIO_KEY] holds the spectrogram settings
DOMAINS = ("violin", "piano")        # domain A, domain B
MODELS = ("avb-gtn", "unit")         # AVB-GTN, and UNIT with KL as the baseline
# target instrument -> (model direction, SavedModel signature)
TARGETS = {"piano": ("AtoB", "violin_to_piano"), "violin": ("BtoA", "piano_to_violin")}
_SPEC_FIELDS = tuple(f.name for f in dataclasses.fields(SpectrogramConfig))


class AudioModelError(ConfigError):
    """A model or its options cannot be used for audio; the message names the file or option and the fix."""


def discriminator_depth(size: int) -> tuple[int, int]:
    """(num_D, d_layers) of the multi-scale D that fits size x size images: the UNIT preset's (3, 4) from 64 px up.

    Each scale halves the image and each layer halves it again; the reflection padding needs at least 2 pixels at
    every layer's input, so the smallest scale must be at least 2^d_layers pixels wide.
    """
    num_d = 3 if size >= 64 else 2
    smallest = size >> (num_d - 1)
    return num_d, max(1, min(4, int(np.log2(smallest))))


def audio_config(spec: SpectrogramConfig, model: str = "avb-gtn", **overrides) -> Config:
    """The Config of an audio model on `spec`'s square spectrogram images (the model's preset, small CPU widths).

    The image side is spec.bins (frame_length / 2) and the chunk is as many frames; overrides set any Config field.
    """
    if model not in MODELS:
        raise AudioModelError(f"model {model!r} is not an audio model; choose one of {', '.join(MODELS)}")
    size = spec.bins
    if size < 32 or size & (size - 1):
        raise AudioModelError(
            f"frame_length={spec.frame_length} gives {size} frequency bins, but the square spectrogram image side "
            "(frame_length / 2) must be a power of two >= 32: use frame_length 64, 128, 256, 512 or 1024")
    num_d, d_layers = discriminator_depth(size)
    audio = {**dataclasses.asdict(spec), "chunk_frames": size, "domains": {"A": DOMAINS[0], "B": DOMAINS[1]}}
    values = dict(image_size=size, load_size=size, input_nc=spec.channels, output_nc=spec.channels, flip=False,
                  ngf=32, ndf=32, ntf=32, num_D=num_d, d_layers=d_layers, extra={AUDIO_KEY: audio})
    values.update(overrides)
    return preset(model, **values)


def audio_settings(config: Config, source: str = "the model") -> dict:
    """config.extra["audio"], or an AudioModelError naming `source` when the model is not an audio model."""
    audio = (config.extra or {}).get(AUDIO_KEY)
    if not isinstance(audio, dict) or "chunk_frames" not in audio:
        raise AudioModelError(f"{source} is not an audio model (its {CONFIG_FILE} has no extra.{AUDIO_KEY} "
                              "spectrogram settings); train one with `tfgan-i2i-audio train`")
    return audio


def spectrogram_config(config: Config, source: str = "the model") -> SpectrogramConfig:
    """The SpectrogramConfig an audio model was trained on (from config.extra["audio"])."""
    audio = audio_settings(config, source)
    return SpectrogramConfig(**{k: audio[k] for k in _SPEC_FIELDS if k in audio})


def chunk_frames(config: Config) -> int:
    """Frames per spectrogram chunk the model translates (= the image side)."""
    return int(audio_settings(config)["chunk_frames"])


def target_direction(to: str) -> str:
    """The model direction ("AtoB" | "BtoA") that produces instrument `to`."""
    if to not in TARGETS:
        raise AudioModelError(f"--to {to!r} is not an instrument of this app; use one of {', '.join(TARGETS)}")
    return TARGETS[to][0]


# --- SavedModel ---------------------------------------------------------------------------------------------------
def spectrogram_dims(config: Config) -> list:
    """The shape the signatures take: (batch, S, S, C), S the chunk side and C the spectrogram channels."""
    return [None, config.image_size, config.image_size, config.input_nc]


def _signature_fn(model, direction: str):
    """A serving function: float32 spectrograms in [-1, 1] -> the translated spectrograms (deterministic codes).

    A wrong shape fails with one line, e.g. "spectrogram must have shape [batch, 32, 32, 2] (got [1, 32, 32, 1])",
    where the fixed input signature is not enforced (TF Serving, a signature called in Python).
    """
    def fn(spectrogram):
        spectrogram = check_tensor(spectrogram, "spectrogram", spectrogram_dims(model.config))
        return {"spectrogram": model.translate(spectrogram, direction=direction)}
    return fn


def export_audio_savedmodel(model, out_dir: str, version: int = 1) -> str:
    """Write `model` to out_dir/<version>/ (TF Serving layout) with float32 signatures, and out_dir/config.json.

    The new version folder is written beside the old one and swapped in only when complete, so a failed export
    never destroys a working one. Returns the version folder.
    """
    c = model.config
    audio_settings(c)  # an image model would export fine but could never translate audio
    spec = tf.TensorSpec(spectrogram_dims(c), tf.float32, name="spectrogram")
    functions = {name: (_signature_fn(model, direction), [spec]) for direction, name in TARGETS.values()}
    return export_savedmodel(model, out_dir, version, functions, default=TARGETS["piano"][1])


# --- loading for translation --------------------------------------------------------------------------------------
def _model_fn(model, direction: str) -> Callable[[np.ndarray], np.ndarray]:
    """A compiled numpy -> numpy translation function of a Keras model (one trace for any batch size)."""
    c = model.config
    spec = tf.TensorSpec([None, c.image_size, c.image_size, c.input_nc], tf.float32)
    graph_fn = tf.function(lambda images: model.translate(images, direction=direction), input_signature=[spec])
    return lambda images: graph_fn(tf.convert_to_tensor(images, tf.float32)).numpy()


class AudioTranslator:
    """A trained violin <-> piano model with its spectrogram settings: translates whole waves of any length."""

    def __init__(self, config: Config, functions: dict[str, Callable[[np.ndarray], np.ndarray]], source: str):
        self.config, self.source = config, source
        self.spec = spectrogram_config(config, source)
        self.chunk_frames = chunk_frames(config)
        self.functions = functions  # target instrument -> image batch function

    @classmethod
    def from_model(cls, model, source: str = "the model") -> "AudioTranslator":
        """Wrap a Keras UNIT / AVB-GTN model whose config carries the audio settings."""
        functions = {to: _model_fn(model, direction) for to, (direction, _) in TARGETS.items()}
        return cls(model.config, functions, source)

    @property
    def sample_rate(self) -> int:
        """The rate (Hz) the model hears and speaks at."""
        return self.spec.sample_rate

    def image_fn(self, to: str) -> Callable[[np.ndarray], np.ndarray]:
        """The spectrogram-image function that produces instrument `to`."""
        target_direction(to)
        return self.functions[to]

    def translate(self, wave, to: str, overlap: float = 0.25, batch_size: int = 8, griffin_lim_iters: int = 32,
                  progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Translate a wave (n,) at self.sample_rate into instrument `to`: same length, chunked and cross-faded."""
        return translate_wave(wave, self.image_fn(to), self.spec, self.chunk_frames, overlap=overlap,
                              batch_size=batch_size, progress=progress, griffin_lim_iters=griffin_lim_iters)


def read_model_config(path: str) -> Config:
    """The Config of a checkpoint folder, train logdir or SavedModel export, without loading any weights."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise CheckpointError(f"model {path} does not exist; pass a `tfgan-i2i-audio train` --logdir, its "
                              "checkpoints/ folder, or a `tfgan-i2i-audio export` folder")
    exported = savedmodel_dir(path)
    if exported is not None:
        config_file = os.path.join(os.path.dirname(os.path.normpath(exported)), CONFIG_FILE)
        if not os.path.isfile(config_file):
            raise ExportError(f"{exported} has no {CONFIG_FILE} beside it, so its spectrogram settings are unknown; "
                              "re-export it with `tfgan-i2i-audio export`")
    else:
        config_file = os.path.join(find_checkpoint_dir(path), CONFIG_FILE)
    config = Config.load(config_file)
    spectrogram_config(config, config_file)  # fail here, before any weights load, if it is not an audio model
    return config


def load_translator(path: str) -> AudioTranslator:
    """An AudioTranslator from a SavedModel export (NAME/ or NAME/<version>/) or a checkpoint folder / logdir."""
    config = read_model_config(path)
    exported = savedmodel_dir(path)
    if exported is None:
        return AudioTranslator.from_model(load_for_inference(path), source=path)
    loaded = tf.saved_model.load(exported)
    missing = [name for _, name in TARGETS.values() if not hasattr(loaded, name)]
    if missing:
        raise ExportError(f"{exported} has no {' or '.join(missing)} signature: it is not an audio export; "
                          "re-export it with `tfgan-i2i-audio export`")

    dims = spectrogram_dims(config)

    def signature(name):
        endpoint = getattr(loaded, name)

        def fn(images):  # checked here, so a wrong chunk fails with one ExportError line before the graph runs
            images = check_array(images, f"spectrogram of {exported}", dims)
            return endpoint(tf.convert_to_tensor(images, tf.float32))["spectrogram"].numpy()
        return fn

    functions = {to: signature(name) for to, (_, name) in TARGETS.items()}
    translator = AudioTranslator(config, functions, source=exported)
    translator.loaded = loaded  # keep the SavedModel's variables alive as long as the functions
    return translator


__all__ = ["AUDIO_KEY", "DOMAINS", "MODELS", "TARGETS", "AudioModelError", "AudioTranslator", "audio_config",
           "audio_settings", "chunk_frames", "discriminator_depth", "export_audio_savedmodel", "load_translator",
           "read_model_config", "spectrogram_config", "spectrogram_dims", "target_direction"]
