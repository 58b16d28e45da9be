"""The demo's translation functions: plain Python over loaded models and files, no web framework.

Each function takes a loaded model (an `ExportedModel`, a Keras model, or the audio app's `AudioTranslator`) and
file paths or numbers, and returns what the page shows: uint8 RGB pictures, latent codes, WAV file paths. Input a
user can get wrong (no file, not an image, the wrong size, unreadable audio, a model without that feature) raises
`DemoError` with one sentence naming the file and the fix; the page shows it as a message and carries on.

Translation itself is the library's: `model.sample` / `model.translate` / `model.encode` / `model.cycle` (the same
calls as `tfgan-i2i translate`), the codes `sample` draws (`latent_codes`), and the audio app's chunked
`AudioTranslator.translate` on waves read with `read_mono`.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

import numpy as np
from keras import ops

from apps.audio_translation.callbacks import spectrogram_picture
from apps.audio_translation.model import TARGETS

from ..audio import write_audio
from ..cli import _resize  # the CLI's resize (bilinear, antialiased, as the data pipeline), so both agree
from ..data.audio import is_silent, read_mono
from ..data.images import DataError, image_grid, read_image
from ..models.base import latent_codes

MAX_SAMPLES = 8             # k at most: a row of pictures that still fits a screen
MAX_AUDIO_SECONDS = 30.0    # longer recordings are cut to their first 30 s (a CPU translates ~1 s of sound per second)
DIRECTIONS = ("AtoB", "BtoA")


class DemoError(ValueError):
    """Input the page cannot use (no file, wrong size, a feature the model lacks); the message says the fix."""


def _named(text: str, path: str) -> str:
    """A library message about `path` naming the file by its own name, not by the page's upload folder."""
    name = os.path.basename(path)
    return str(text).replace(repr(path), repr(name)).replace(path, name)


# --- images ------------------------------------------------------------------------------------------------------
def read_input(path: str | None, channels: int, size: int, resize: bool = False, what: str = "image") -> np.ndarray:
    """The image file at `path` as size x size x channels in [-1, 1]; DemoError naming the file and the fix."""
    if not path:
        raise DemoError(f"No {what} given: upload one or pick a bundled sample.")
    try:
        image = read_image(path, channels)  # open_image underneath: unreadable / not an image -> DataError
    except DataError as e:
        raise DemoError(_named(e, path)) from None
    height, width = image.shape[:2]
    if (height, width) == (size, size):
        return image
    if not resize:
        raise DemoError(f"{os.path.basename(path)} is {width}x{height} pixels, but this model runs at {size}x{size}: "
                        f"upload a {size}x{size} {what}, or tick 'Resize to the model's size'.")
    return _resize(image, size)


def display(image) -> np.ndarray:
    """An HxWxC image in [-1, 1] as the uint8 HxWx3 picture the page shows (gray becomes RGB)."""
    return image_grid([[image]])


def _count(k) -> int:
    """k as an int in [1, MAX_SAMPLES]; DemoError otherwise."""
    if k is None or int(k) != k or not 1 <= int(k) <= MAX_SAMPLES:
        raise DemoError(f"The number of samples must be a whole number from 1 to {MAX_SAMPLES} (got {k}).")
    return int(k)


def _seed(seed) -> int:
    """A seed from the page as an int (the 32-bit range the codes' stateless generator takes); DemoError otherwise."""
    if seed is None or int(seed) != seed or not -2**31 <= int(seed) < 2**31:
        raise DemoError(f"The seed must be a whole number between -2147483648 and 2147483647 (got {seed}).")
    return int(seed)


def paired_samples(model, image: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    """k pictures G(image, z_j) for the k codes of `seed` (one picture when the model has no latent code)."""
    k = 1 if model.config.nz == 0 else _count(k)
    return [display(x) for x in ops.convert_to_numpy(model.sample(image[None], k, _seed(seed)))[0]]


def sample_code(model, k: int, seed: int, index: int) -> np.ndarray:
    """Code z_index (nz,) of the k codes that `sample(images, k, seed)` draws, i.e. of the index-th sample shown."""
    nz = model.config.nz
    if nz == 0:
        raise DemoError(f"This {model.config.model} model has no latent code (nz = 0): it gives one output per "
                        "input, so there is nothing to explore; pick a BicycleGAN or MSGAN model.")
    k = _count(k)
    if int(index) != index or not 0 <= int(index) < k:
        raise DemoError(f"Sample number {index} does not exist: choose one from 0 to {k - 1}.")
    return ops.convert_to_numpy(latent_codes(k, nz, _seed(seed)))[int(index)]


def translate_codes(model, image: np.ndarray, codes) -> list[np.ndarray]:
    """Pictures G(image, z) for each row z of `codes` (n, nz)."""
    nz = model.config.nz
    codes = np.asarray(codes, np.float32).reshape(-1, nz)
    if not np.all(np.isfinite(codes)):
        raise DemoError("Every latent value must be a finite number.")
    images = np.repeat(image[None], len(codes), axis=0)
    return [display(x) for x in ops.convert_to_numpy(model.translate(images, z=codes))]


def interpolation_codes(z_a: np.ndarray, z_b: np.ndarray, steps: int) -> np.ndarray:
    """`steps` codes (steps, nz) on the straight line from z_a to z_b, both ends included."""
    if int(steps) != steps or not 2 <= int(steps) <= 2 * MAX_SAMPLES:
        raise DemoError(f"The interpolation needs from 2 to {2 * MAX_SAMPLES} steps (got {steps}).")
    t = np.linspace(0.0, 1.0, int(steps), dtype=np.float32)[:, None]
    return (1.0 - t) * np.asarray(z_a, np.float32)[None] + t * np.asarray(z_b, np.float32)[None]


def encode_reference(model, reference: np.ndarray) -> np.ndarray:
    """mu (nz,) of q(z | reference): the code BicycleGAN's encoder reads from an output-domain image."""
    if not hasattr(model, "encode"):
        raise DemoError(f"This {model.config.model} model has no encoder, so it cannot read a code from a reference "
                        "photo; pick a BicycleGAN-family model (e.g. bicyclegan_facades).")
    mu, _ = model.encode(reference[None])
    return ops.convert_to_numpy(mu)[0]


# --- unpaired images ---------------------------------------------------------------------------------------------
def source_channels(config, direction: str) -> int:
    """Channels of the images an unpaired model translates in `direction` (A's for AtoB, B's for BtoA)."""
    if direction not in DIRECTIONS:
        raise DemoError(f"Direction {direction!r} is unknown: choose A->B (AtoB) or B->A (BtoA).")
    return config.input_nc if direction == "AtoB" else config.output_nc


def is_stochastic(model) -> bool:
    """Whether an unpaired model's outputs depend on the seed: a Keras UNIT / AVB-GTN, or a CycleGAN with nz > 0.

    Exports translate with the deterministic code unless they carry a `sample` signature (DRIT's), as
    `tfgan-i2i translate` does.
    """
    if not hasattr(model, "train_step"):
        return hasattr(getattr(model, "loaded", None), "sample")
    return hasattr(model, "encode") or model.config.nz > 0


def unpaired_translation(model, image: np.ndarray, direction: str, k: int, seed: int):
    """(samples, cycle): k pictures of image translated in `direction` (one if not stochastic) and the pictures
    [input, translation, reconstruction] of its cycle."""
    source_channels(model.config, direction)
    k = _count(k) if is_stochastic(model) else 1
    samples = ops.convert_to_numpy(model.sample(image[None], k, _seed(seed), direction=direction))[0]
    there, back = (ops.convert_to_numpy(t)[0] for t in model.cycle(image[None], direction))
    return [display(x) for x in samples], [display(image), display(there), display(back)]


# --- audio -------------------------------------------------------------------------------------------------------
@dataclass
class Recording:
    """A translated recording: the WAVs the page plays and their spectrogram pictures, and notes for the user."""

    input_wav: str
    output_wav: str
    input_picture: np.ndarray
    output_picture: np.ndarray
    notes: list[str] = field(default_factory=list)


def translate_recording(translator, path: str | None, to: str, out_dir: str,
                        max_seconds: float = MAX_AUDIO_SECONDS) -> Recording:
    """Translate the recording at `path` into instrument `to` with the audio app; WAVs go to a new folder in out_dir.

    The input WAV is the recording as the model hears it (mono, at the model's rate, at most max_seconds long).
    """
    if not path:
        raise DemoError("No recording given: upload a wav, flac, ogg or mp3 file.")
    if to not in TARGETS:
        raise DemoError(f"Instrument {to!r} is unknown: choose {' or '.join(TARGETS)}.")
    rate = translator.sample_rate
    try:
        wave, found = read_mono(path, rate)  # unreadable / empty / NaN files -> AudioError (a DataError)
    except DataError as e:
        raise DemoError(_named(e, path)) from None
    notes = [_named(note, path) for note in found.values()]
    limit = int(max_seconds * rate)
    if len(wave) > limit:
        notes.append(f"{os.path.basename(path)} is {len(wave) / rate:.1f} s long: translated its first "
                     f"{max_seconds:g} s.")
        wave = wave[:limit]
    if is_silent(wave):  # as `tfgan-i2i-audio translate`: silence on another instrument is silence
        notes.append(f"{os.path.basename(path)} is digital silence (every sample is 0): the output is silence too.")
        result = wave
    else:
        result = translator.translate(wave, to)
    folder = tempfile.mkdtemp(prefix="recording-", dir=out_dir)
    stem = os.path.splitext(os.path.basename(path))[0]
    source = "violin" if to == "piano" else "piano"
    return Recording(write_audio(os.path.join(folder, f"{stem}_{source}_{rate // 1000}kHz.wav"), wave, rate),
                     write_audio(os.path.join(folder, f"{stem}_to_{to}.wav"), result, rate),
                     display(spectrogram_picture(wave, translator.spec)),
                     display(spectrogram_picture(result, translator.spec)), notes)


__all__ = ["DIRECTIONS", "MAX_AUDIO_SECONDS", "MAX_SAMPLES", "DemoError", "Recording", "display", "encode_reference",
           "interpolation_codes", "is_stochastic", "paired_samples", "read_input", "sample_code", "source_channels",
           "translate_codes", "translate_recording", "unpaired_translation"]
