"""The audio model: a Config that carries its spectrogram settings, and loading/exporting it for translation.

Domain A is the violin and domain B the piano. Spectrogram images are square (time frames x frequency bins, the
networks are convolutional over a square Config.image_size), so a model sees chunks of exactly
`bins = frame_length / 2` frames. The SpectrogramConfig fields and the chunk size live in
`config.extra["audio"]`, which `Config.save` writes next to every checkpoint and export: a checkpoint folder or a
SavedModel folder alone is enough to translate a recording. Training also records there each instrument's typical
level (`levels_db`), which `translate(level="target")` uses.

Two kinds of model:
  * unpaired (AVB-GTN, UNIT): one model translates both ways; a train logdir is an ordinary checkpoint folder;
  * paired (pix2pix, BicycleGAN, trained on time-aligned recordings): one model per direction, its config naming
    it in extra["audio"]["direction"]; a train logdir holds one ordinary run per direction, in
    LOGDIR/violin_to_piano/ and LOGDIR/piano_to_violin/.

The SavedModel has float32 signatures over spectrogram images in [-1, 1] (uint8 would quantise the phase channel
to 256 levels, far too coarse for an inverse STFT):
  violin_to_piano(spectrogram) -> {"spectrogram"}     (serving_default when present)
  piano_to_violin(spectrogram) -> {"spectrogram"}
with spectrogram float32 (batch, S, S, C), S = bins, C = 2 (phase / if) or 1 (magnitude). A paired export holds
the directions that were trained (both, or one).
"""
from __future__ import annotations

import dataclasses
import os
from typing import Callable

import numpy as np
import tensorflow as tf

from tfgan_i2i.audio import LEVEL_MODES, SpectrogramConfig, match_level, rms_db, translate_wave
from tfgan_i2i.config import Config, ConfigError, preset
from tfgan_i2i.export.checks import check_array, check_tensor
from tfgan_i2i.export.loaded import ExportError, savedmodel_dir
from tfgan_i2i.export.savedmodel import CONFIG_FILE, export_savedmodel
from tfgan_i2i.training.callbacks import CheckpointError, find_checkpoint_dir, load_for_inference

AUDIO_KEY = "audio"                  # config.extra[AUDIO_KEY] holds the spectrogram settings
LEVELS_KEY = "levels_db"             # config.extra[AUDIO_KEY][LEVELS_KEY]: {instrument: typical RMS dBFS}
DOMAINS = ("violin", "piano")        # domain A, domain B
MODELS = ("avb-gtn", "unit")         # unpaired: AVB-GTN, and UNIT with KL as the baseline
PAIRED_MODELS = ("pix2pix", "bicyclegan")  # paired, one per direction: trained on time-aligned recordings
# target instrument -> (unpaired model direction, SavedModel signature)
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


def source_of(to: str) -> str:
    """The instrument a translation into `to` starts from."""
    return DOMAINS[0] if to == DOMAINS[1] else DOMAINS[1]


def audio_config(spec: SpectrogramConfig, model: str = "avb-gtn", to: str | None = None, **overrides) -> Config:
    """The Config of an audio model on `spec`'s square spectrogram images (the model's preset, small CPU widths).

    The image side is spec.bins (frame_length / 2) and the chunk is as many frames; overrides set any Config field.
    Paired models (pix2pix, bicyclegan) translate one way, into instrument `to`; they get instance norm and
    deterministic inference (test_mode "eval", no dropout at test time; BicycleGAN with z = 0) so a recording
    always translates the same way, chunk by chunk.
    """
    if model not in MODELS + PAIRED_MODELS:
        raise AudioModelError(f"model {model!r} is not an audio model; choose one of "
                              f"{', '.join(MODELS + PAIRED_MODELS)}")
    size = spec.bins
    if size < 32 or size & (size - 1):
        raise AudioModelError(
            f"frame_length={spec.frame_length} gives {size} frequency bins, but the square spectrogram image side "
            "(frame_length / 2) must be a power of two >= 32: use frame_length 64, 128, 256, 512 or 1024")
    audio = {**dataclasses.asdict(spec), "chunk_frames": size, "domains": {"A": DOMAINS[0], "B": DOMAINS[1]}}
    values = dict(image_size=size, load_size=size, input_nc=spec.channels, output_nc=spec.channels, flip=False,
                  ngf=32, ndf=32)
    if model in PAIRED_MODELS:
        if to not in TARGETS:
            raise AudioModelError(f"a paired model translates one way: give to='piano' or to='violin', not {to!r}")
        audio.update(direction=TARGETS[to][1], domains={"A": source_of(to), "B": to})
        values.update(norm="instance", test_mode="eval", nef=32)
    else:
        num_d, d_layers = discriminator_depth(size)
        values.update(ntf=32, num_D=num_d, d_layers=d_layers)
    values["extra"] = {AUDIO_KEY: audio}
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


def with_levels(config: Config, levels: dict[str, float]) -> Config:
    """`config` with each instrument's typical RMS level (dBFS) recorded in extra["audio"]["levels_db"]."""
    audio = {**audio_settings(config), LEVELS_KEY: {k: round(float(v), 3) for k, v in levels.items()}}
    return config.replace(extra={**config.extra, AUDIO_KEY: audio})


def is_paired(config: Config) -> bool:
    """Whether an audio model is a one-direction paired translator (pix2pix / BicycleGAN)."""
    return "direction" in audio_settings(config)


def model_targets(config: Config) -> tuple[str, ...]:
    """The instruments a model translates into: both for an unpaired model, one for a paired one."""
    direction = audio_settings(config).get("direction")
    return tuple(to for to, (_, name) in TARGETS.items() if direction in (None, name))


def target_direction(to: str) -> str:
    """The model direction ("AtoB" | "BtoA") that produces instrument `to`."""
    if to not in TARGETS:
        raise AudioModelError(f"--to {to!r} is not an instrument of this app; use one of {', '.join(TARGETS)}")
    return TARGETS[to][0]


def image_translation(model, to: str) -> Callable:
    """images -> images of instrument `to` (tensors in, tensors out), deterministic.

    Unpaired models go by direction with their deterministic codes; a paired model has one direction, and
    BicycleGAN's latent code is z = 0, the mean of its prior.
    """
    if not is_paired(model.config):
        direction = target_direction(to)
        return lambda images: model.translate(images, direction=direction)
    if model.config.nz > 0:
        return lambda images: model.translate(images, tf.zeros([tf.shape(images)[0], model.config.nz]))
    return model.translate


# --- SavedModel ---------------------------------------------------------------------------------------------------
def spectrogram_dims(config: Config) -> list:
    """The shape the signatures take: (batch, S, S, C), S the chunk side and C the spectrogram channels."""
    return [None, config.image_size, config.image_size, config.input_nc]


def _signature_fn(model, to: str):
    """A serving function: float32 spectrograms in [-1, 1] -> the translated spectrograms (deterministic codes).

    A wrong shape fails with one line, e.g. "spectrogram must have shape [batch, 32, 32, 2] (got [1, 32, 32, 1])",
    where the fixed input signature is not enforced (TF Serving, a signature called in Python).
    """
    translate = image_translation(model, to)

    def fn(spectrogram):
        spectrogram = check_tensor(spectrogram, "spectrogram", spectrogram_dims(model.config))
        return {"spectrogram": translate(spectrogram)}
    return fn


class _ExportConfig:
    """What `export_savedmodel` needs of a model besides the functions: the config it writes as config.json."""

    def __init__(self, config: Config):
        self.config = config


def export_audio_savedmodel(models, out_dir: str, version: int = 1) -> str:
    """Write out_dir/<version>/ (TF Serving layout) with float32 signatures, and out_dir/config.json.

    `models` is an unpaired model, or {target instrument: model} (the paired models of a paired run, or the one
    unpaired model for both). The config.json is that of the first model, with extra["audio"]["signatures"]
    listing what the export holds. The new version folder is written beside the old one and swapped in only when
    complete, so a failed export never destroys a working one. Returns the version folder.
    """
    if not isinstance(models, dict):
        models = {to: models for to in model_targets(models.config)}
    first = next(iter(models.values()))
    for model in models.values():
        audio_settings(model.config)  # an image model would export fine but could never translate audio
    spec = tf.TensorSpec(spectrogram_dims(first.config), tf.float32, name="spectrogram")
    names = [TARGETS[to][1] for to in TARGETS if to in models]
    functions = {TARGETS[to][1]: (_signature_fn(models[to], to), [spec]) for to in TARGETS if to in models}
    config = first.config
    config = config.replace(extra={**config.extra, AUDIO_KEY: {**audio_settings(config), "signatures": names}})
    return export_savedmodel(_ExportConfig(config), out_dir, version, functions, default=names[0])


# --- loading for translation --------------------------------------------------------------------------------------
def _model_fn(model, to: str) -> Callable[[np.ndarray], np.ndarray]:
    """A compiled numpy -> numpy translation function of a Keras model (one trace for any batch size)."""
    c = model.config
    spec = tf.TensorSpec([None, c.image_size, c.image_size, c.input_nc], tf.float32)
    graph_fn = tf.function(image_translation(model, to), input_signature=[spec])
    return lambda images: graph_fn(tf.convert_to_tensor(images, tf.float32)).numpy()


class AudioTranslator:
    """A trained violin <-> piano model with its spectrogram settings: translates whole waves of any length."""

    def __init__(self, config: Config, functions: dict[str, Callable[[np.ndarray], np.ndarray]], source: str):
        self.config, self.source = config, source
        self.spec = spectrogram_config(config, source)
        self.chunk_frames = chunk_frames(config)
        self.functions = functions  # target instrument -> image batch function
        self.levels = dict(audio_settings(config).get(LEVELS_KEY) or {})  # instrument -> typical RMS dBFS

    @classmethod
    def from_model(cls, model, source: str = "the model") -> "AudioTranslator":
        """Wrap a Keras model whose config carries the audio settings (both directions, or a paired model's one)."""
        return cls.from_models({to: model for to in model_targets(model.config)}, source)

    @classmethod
    def from_models(cls, models: dict, source: str = "the model") -> "AudioTranslator":
        """Wrap {target instrument: Keras model}, e.g. the two paired models of a paired run."""
        functions = {to: _model_fn(model, to) for to, model in models.items()}
        return cls(next(iter(models.values())).config, functions, source)

    @property
    def sample_rate(self) -> int:
        """The rate (Hz) the model hears and speaks at."""
        return self.spec.sample_rate

    @property
    def targets(self) -> tuple[str, ...]:
        """The instruments this model translates into."""
        return tuple(self.functions)

    def image_fn(self, to: str) -> Callable[[np.ndarray], np.ndarray]:
        """The spectrogram-image function that produces instrument `to`."""
        target_direction(to)
        if to not in self.functions:
            raise AudioModelError(f"{self.source} translates only into {' and '.join(self.targets)} (a paired model "
                                  f"trained one way); train the {source_of(to)} -> {to} direction too "
                                  f"(`tfgan-i2i-audio train --paired-data --to {to}`) or use another model")
        return self.functions[to]

    def output_level(self, wave, to: str, level: str) -> float | None:
        """The RMS level (dBFS) a translation of `wave` into `to` is given under `level`; None leaves it as is."""
        if level not in LEVEL_MODES:
            raise AudioModelError(f"--level {level!r}: use one of {', '.join(LEVEL_MODES)}")
        if level == "none":
            return None
        if level == "input":
            return rms_db(wave)
        if to not in self.levels:
            raise AudioModelError(f"{self.source} has no recorded typical {to} level (models trained before issue "
                                  "#18 lack it); use --level input or --level none, or retrain the model")
        return float(self.levels[to])

    def translate(self, wave, to: str, overlap: float = 0.25, batch_size: int = 8, griffin_lim_iters: int = 32,
                  progress: Callable[[int, int], None] | None = None, level: str = "input",
                  return_gain: bool = False):
        """Translate a wave (n,) at self.sample_rate into instrument `to`: same length, chunked and cross-faded.

        level: "input" (default) gives the output the input's RMS level, "target" the typical level of `to` in the
        model's training data, "none" whatever the model produced; one gain for the whole wave, capped so the
        peak stays below full scale (`tfgan_i2i.audio.match_level`). return_gain: also return that gain in dB.
        """
        fn = self.image_fn(to)
        goal = self.output_level(wave, to, level)
        out = translate_wave(wave, fn, self.spec, self.chunk_frames, overlap=overlap, batch_size=batch_size,
                             progress=progress, griffin_lim_iters=griffin_lim_iters)
        gain_db = 0.0
        if goal is not None:
            out, gain_db = match_level(out, goal)
        return (out, gain_db) if return_gain else out


# --- runs and exports on disk -------------------------------------------------------------------------------------
def paired_runs(path: str) -> dict[str, str]:
    """{target instrument: run folder} of a paired train logdir (LOGDIR/violin_to_piano/ ...); {} for any other."""
    path = os.fspath(path)
    runs = {}
    for to, (_, name) in TARGETS.items():
        run = os.path.join(path, name)
        if any(os.path.isfile(os.path.join(run, *sub, CONFIG_FILE)) for sub in ((), ("checkpoints",))):
            runs[to] = run
    return runs


def _run_config(path: str) -> Config:
    """The Config of one checkpoint folder or train logdir."""
    return Config.load(os.path.join(find_checkpoint_dir(path), CONFIG_FILE))


def read_model_config(path: str) -> Config:
    """The Config of a checkpoint folder, train logdir (unpaired or paired) or SavedModel export, without loading
    any weights. For a paired logdir it is the first direction's config (they share the spectrogram settings)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise CheckpointError(f"model {path} does not exist; pass a `tfgan-i2i-audio train` --logdir, its "
                              "checkpoints/ folder, or a `tfgan-i2i-audio export` folder")
    exported = savedmodel_dir(path)
    runs = paired_runs(path) if exported is None else {}
    if exported is not None:
        config_file = os.path.join(os.path.dirname(os.path.normpath(exported)), CONFIG_FILE)
        if not os.path.isfile(config_file):
            raise ExportError(f"{exported} has no {CONFIG_FILE} beside it, so its spectrogram settings are unknown; "
                              "re-export it with `tfgan-i2i-audio export`")
    elif runs:
        configs = {run: _run_config(run) for run in runs.values()}
        specs = {run: spectrogram_config(c, run) for run, c in configs.items()}
        if len(set(specs.values())) > 1:
            raise AudioModelError(f"the paired runs in {path} use different spectrogram settings "
                                  f"({'; '.join(f'{r}: {s}' for r, s in specs.items())}); retrain one of them")
        return next(iter(configs.values()))
    else:
        config_file = os.path.join(find_checkpoint_dir(path), CONFIG_FILE)
    config = Config.load(config_file)
    spectrogram_config(config, config_file)  # fail here, before any weights load, if it is not an audio model
    return config


def load_models(path: str) -> dict:
    """{target instrument: Keras model} of a checkpoint folder or train logdir (unpaired or paired)."""
    read_model_config(path)  # one clear error for a missing folder or an image model
    runs = paired_runs(path)
    if runs:
        return {to: load_for_inference(run) for to, run in runs.items()}
    model = load_for_inference(path)
    return {to: model for to in model_targets(model.config)}


def _export_translator(exported: str, config: Config) -> AudioTranslator:
    """An AudioTranslator over the signatures of a SavedModel export."""
    loaded = tf.saved_model.load(exported)
    present = {to: name for to, (_, name) in TARGETS.items() if hasattr(loaded, name)}
    if not present:
        raise ExportError(f"{exported} has no {' or '.join(n for _, n in TARGETS.values())} signature: it is not an "
                          "audio export; re-export it with `tfgan-i2i-audio export`")
    dims = spectrogram_dims(config)

    def signature(name):
        endpoint = getattr(loaded, name)

        def fn(images):  # checked here, so a wrong chunk fails with one ExportError line before the graph runs
            images = check_array(images, f"spectrogram of {exported}", dims)
            return endpoint(tf.convert_to_tensor(images, tf.float32))["spectrogram"].numpy()
        return fn

    translator = AudioTranslator(config, {to: signature(name) for to, name in present.items()}, source=exported)
    translator.loaded = loaded  # keep the SavedModel's variables alive as long as the functions
    return translator


def load_translator(path: str) -> AudioTranslator:
    """An AudioTranslator from a SavedModel export (NAME/ or NAME/<version>/) or a checkpoint folder / logdir."""
    config = read_model_config(path)
    exported = savedmodel_dir(path)
    if exported is None:
        return AudioTranslator.from_models(load_models(path), source=path)
    return _export_translator(exported, config)


__all__ = ["AUDIO_KEY", "DOMAINS", "LEVELS_KEY", "MODELS", "PAIRED_MODELS", "TARGETS", "AudioModelError",
           "AudioTranslator", "audio_config", "audio_settings", "chunk_frames", "discriminator_depth",
           "export_audio_savedmodel", "image_translation", "is_paired", "load_models", "load_translator",
           "model_targets", "paired_runs", "read_model_config", "source_of", "spectrogram_config",
           "spectrogram_dims", "target_direction", "with_levels"]
