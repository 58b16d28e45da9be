"""The page's event handlers: page values (picker names, file payloads, slider numbers) in, page values out.

Each handler looks the model up by its picker name (loaded once, see `registry.load`), turns a file payload into
its path, calls the plain functions of `callbacks`, and returns pictures with captions for the galleries. A
mistake the user can fix (wrong file, wrong size, a feature the model lacks) becomes a `gr.Error` with the
library's one-line message, which the page shows in a message box; the server carries on.
"""
from __future__ import annotations

import functools
import os

import gradio as gr
import numpy as np

from ..cli import UserError
from ..config import ConfigError
from ..data.images import DataError
from ..export.loaded import ExportError
from ..training.callbacks import CheckpointError
from . import callbacks as cb
from .cards import model_card
from .registry import Entry, load
from .samples import example_inputs

USER_ERRORS = (cb.DemoError, DataError, ExportError, ConfigError, CheckpointError, UserError)
MAX_NZ = 16           # latent sliders on the page; a model with a longer code shows its first 16 dimensions
LATENT_RANGE = 4.0    # sliders span [-4, 4]: N(0, 1) codes and encoded means fall well inside


def file_path(payload) -> str | None:
    """The server-side path of a file value (a path, or Gradio's FileData dict/object with 'path'), else None."""
    if payload is None or isinstance(payload, str):
        return payload or None
    if isinstance(payload, dict):
        return payload.get("path")
    return getattr(payload, "path", None)


def shown(fn):
    """Handler decorator: user errors become a gr.Error the page shows as one line (no traceback in the log)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as e:
            raise gr.Error(" ".join(str(e).split()), print_exception=False) from None
    return wrapper


def _captioned(pictures, captions) -> list[tuple[np.ndarray, str]]:
    """Gallery items: (picture, caption) pairs."""
    return list(zip(pictures, captions))


class Handlers:
    """Every event handler of the page, over the page's models and a working folder for files it writes."""

    def __init__(self, entries: list[Entry], work_dir: str):
        self.entries = {e.name: e for e in entries}
        self.work_dir = work_dir

    # --- models --------------------------------------------------------------------------------------------------
    def entry(self, name: str) -> Entry:
        """The picker's entry called `name`."""
        if name not in self.entries:
            raise cb.DemoError(f"No model called {name!r} on this page; pick one from the model list.")
        return self.entries[name]

    def choices(self) -> list[tuple[str, str]]:
        """(label, name) for the model picker."""
        return [(e.label, e.name) for e in self.entries.values()]

    def model(self, name: str):
        """The loaded model of the picker's entry `name`."""
        return load(self.entry(name))

    @shown
    def on_model(self, name: str):
        """(card, paired / unpaired / audio section visibility, both example galleries, latent note, *sliders)."""
        entry = self.entry(name)
        nz = entry.config.nz if entry.kind == "paired" else 0
        sliders = [gr.update(visible=i < nz) for i in range(MAX_NZ)]
        note = (f"This model's code has {nz} dimensions." if 0 < nz <= MAX_NZ else
                f"Showing the first {MAX_NZ} of {nz} dimensions." if nz else
                "This model has no latent code (nz = 0): one output per input, nothing to explore.")
        return (model_card(entry), *(gr.update(visible=entry.kind == k) for k in ("paired", "unpaired", "audio")),
                self.bundled(name), self.bundled(name, "AtoB"), note, *sliders)

    def bundled(self, name: str, direction: str = "AtoB") -> list[tuple[str, str]]:
        """The bundled example inputs for the model going `direction`, as gallery items."""
        entry = self.entry(name)
        if entry.kind == "audio":
            return []
        return example_inputs(entry.config, os.path.join(self.work_dir, "samples"), direction)

    @shown
    def pick_bundled(self, name: str, direction: str, evt: gr.SelectData):
        """The path of the bundled example clicked in the gallery."""
        return self.bundled(name, direction)[evt.index][0]

    # --- paired images -------------------------------------------------------------------------------------------
    def _paired(self, name: str, payload, resize: bool, quiet: bool = False):
        """(model, input image) for a paired model; None when quiet and there is no image yet."""
        if quiet and file_path(payload) is None:
            return None
        model = self.model(name)
        c = model.config
        return model, cb.read_input(file_path(payload), c.input_nc, c.image_size, resize)

    @shown
    def samples(self, name, payload, k, seed, resize, quiet: bool = False):
        """The k samples of the input for seed `seed`."""
        got = self._paired(name, payload, resize, quiet)
        if got is None:
            return []
        pictures = cb.paired_samples(*got, k, seed)
        return _captioned(pictures, [f"sample {j} (seed {int(seed)})" for j in range(len(pictures))])

    @shown
    def explorer_start(self, name, k, seed, index):
        """Slider values: the code of the index-th sample of seed `seed`."""
        model = self.model(name)
        if model.config.nz == 0:
            return [gr.update() for _ in range(MAX_NZ)]
        return self._slider_values(cb.sample_code(model, k, seed, index))

    @staticmethod
    def _slider_values(z) -> list:
        """MAX_NZ slider updates carrying code z (clipped to the sliders' range, the rest left alone)."""
        z = np.clip(np.asarray(z, np.float32), -LATENT_RANGE, LATENT_RANGE)
        return [round(float(z[i]), 3) if i < len(z) else gr.update() for i in range(MAX_NZ)]

    @shown
    def explore(self, name, payload, resize, *z, quiet: bool = False):
        """G(input, z) for the code on the sliders (the model's first nz of them)."""
        got = self._paired(name, payload, resize, quiet)
        if got is None:
            return None
        model, image = got
        nz = model.config.nz
        if nz == 0 and quiet:
            return None
        if nz == 0:
            raise cb.DemoError(f"This {model.config.model} model has no latent code (nz = 0): nothing to explore.")
        if nz > MAX_NZ:  # the sliders set the first MAX_NZ dimensions; the rest keep the prior's mode, 0
            z = (*z, *([0.0] * (nz - MAX_NZ)))
        return cb.translate_codes(model, image, [z[:nz]])[0]

    @shown
    def interpolate(self, name, payload, seed_a, seed_b, steps, resize):
        """The strip G(input, z_t) from the first code of seed A to that of seed B."""
        model, image = self._paired(name, payload, resize)
        ends = [cb.sample_code(model, 1, seed, 0) for seed in (seed_a, seed_b)]
        codes = cb.interpolation_codes(*ends, steps)
        t = np.linspace(0.0, 1.0, len(codes))
        return _captioned(cb.translate_codes(model, image, codes), [f"t = {x:.2f}" for x in t])

    def _encoded(self, name, payload, reference, resize):
        """(model, input, encoded code) of a reference photo."""
        model, image = self._paired(name, payload, resize)
        c = model.config
        ref = cb.read_input(file_path(reference), c.output_nc, c.image_size, resize, what="reference photo")
        return model, image, cb.encode_reference(model, ref)

    @shown
    def encode(self, name, payload, reference, resize):
        """(G(input, E(reference)), the code as text)."""
        model, image, z = self._encoded(name, payload, reference, resize)
        code = ", ".join(f"{v:+.2f}" for v in z)
        return cb.translate_codes(model, image, [z])[0], f"Encoded code z = E(reference): [{code}]"

    @shown
    def encode_to_sliders(self, name, payload, reference, resize):
        """Slider values: the reference photo's encoded code, to explore around it."""
        return self._slider_values(self._encoded(name, payload, reference, resize)[2])

    # --- unpaired images -----------------------------------------------------------------------------------------
    @shown
    def unpaired(self, name, payload, direction, k, seed, resize, quiet: bool = False):
        """(k translations, [input, translation, reconstruction]) of an unpaired model going `direction`."""
        if quiet and file_path(payload) is None:
            return [], []
        model = self.model(name)
        c = model.config
        image = cb.read_input(file_path(payload), cb.source_channels(c, direction), c.image_size, resize)
        samples, cycle = cb.unpaired_translation(model, image, direction, k, seed)
        there, back = ("A->B", "A->B->A") if direction == "AtoB" else ("B->A", "B->A->B")
        captions = [f"{there} sample {j} (seed {int(seed)})" for j in range(len(samples))]
        if len(samples) == 1:
            captions = [f"{there} (deterministic: this model has no latent code here)"]
        return _captioned(samples, captions), _captioned(cycle, ["input", there, back])

    # --- audio ---------------------------------------------------------------------------------------------------
    @shown
    def audio(self, name, payload, to, quiet: bool = False):
        """(input WAV, output WAV, input spectrogram, output spectrogram, download file) of a recording."""
        if quiet and file_path(payload) is None:
            return None, None, None, None, None
        result = cb.translate_recording(self.model(name), file_path(payload), to, self.work_dir)
        for note in result.notes:
            gr.Warning(note)
        return (result.input_wav, result.output_wav, result.input_picture, result.output_picture,
                result.output_wav)


__all__ = ["LATENT_RANGE", "MAX_NZ", "USER_ERRORS", "Handlers", "file_path", "shown"]
