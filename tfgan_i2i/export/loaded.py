"""Use an exported SavedModel like the Keras model it came from: float [-1, 1] images in and out.

`load_exported(path)` reads `path` (an export folder NAME/ with version folders, or one version folder) and its
config.json, and returns an `ExportedModel` with `translate`, `sample` and (when exported) `encode`, or
`a_to_b` / `b_to_a` / `cycle` for unpaired models (with `sample` in both directions and `transfer` for DRIT), so `tfgan-i2i translate` and `evaluate` run from a shipped
model without its training checkpoint. Inputs are checked against the signatures' shapes before the graph runs,
and a wrong one raises one ExportError line naming the input and the shape it must have.
"""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from ..config import Config
from .checks import ExportError, check_array
from .savedmodel import CONFIG_FILE, signature_inputs, to_float, to_uint8


def savedmodel_dir(path: str) -> str | None:
    """`path` when it holds a saved_model.pb, else its highest-numbered version folder that does, else None."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    if not os.path.isdir(path):
        return None
    versions = [d for d in os.listdir(path) if d.isdigit() and os.path.isfile(os.path.join(path, d, "saved_model.pb"))]
    return os.path.join(path, max(versions, key=int)) if versions else None


class ExportedModel:
    """A SavedModel written by `export_savedmodel`, behind the Keras models' float API."""

    def __init__(self, path: str):
        self.path = savedmodel_dir(path)
        if self.path is None:
            raise ExportError(f"{path} holds no SavedModel (no saved_model.pb in it or in a version folder such as "
                              f"{os.path.join(path, '1')}); export one with: tfgan-i2i export --checkpoint RUN --out {path}")
        self.loaded = tf.saved_model.load(self.path)
        config_file = os.path.join(os.path.dirname(os.path.normpath(self.path)), CONFIG_FILE)
        self.config = Config.load(config_file) if os.path.isfile(config_file) else None
        self.unpaired = hasattr(self.loaded, "a_to_b")
        if "translate" not in self.loaded.signatures:
            raise ExportError(f"{self.path} has no `translate` signature (it has: "
                              f"{', '.join(sorted(self.loaded.signatures)) or 'none'}), so it is not a tfgan-i2i "
                              "image export; export one with: tfgan-i2i export --checkpoint RUN --out DIR")
        self.inputs = self._signature_inputs()
        image = self.inputs["translate"]["image"]
        self.image_size, self.input_nc = int(image[1]), int(image[3])
        self.name = os.path.basename(os.path.dirname(os.path.normpath(self.path)))
        if hasattr(self.loaded, "encode"):
            self.encode = self._encode  # only models exported with an encoder have `encode`, as in Keras
        if hasattr(self.loaded, "transfer"):
            self.transfer = self._transfer  # DRIT: the attribute of a reference image, as in Keras

    def _signature_inputs(self) -> dict:
        """{signature: {input: dims}}: the exported specs where they fix the shape (exports before the input
        checks), else the shapes the signatures check (from config.json)."""
        from_config = None
        inputs = {}
        for name, fn in self.loaded.signatures.items():
            inputs[name] = {}
            for key, spec in fn.structured_input_signature[1].items():
                if spec.shape.rank is not None:
                    inputs[name][key] = spec.shape.as_list()
                    continue
                if from_config is None:
                    if self.config is None:
                        raise ExportError(f"{self.path} has no {CONFIG_FILE} beside it, so the shapes its "
                                          "signatures take are unknown; restore the file or re-export the model "
                                          "with tfgan-i2i export")
                    from_config = signature_inputs(self.config, self.unpaired)
                    from_config["serving_default"] = from_config["translate"]
                dims = from_config.get(name, {}).get(key)
                if dims is not None:  # a signature of custom `functions` is left to its own checks
                    inputs[name][key] = dims
        return inputs

    def _check(self, signature: str, value, name: str = "images", key: str = "image", batch: int | None = None):
        """`value` checked against the input `key` of `signature` (ExportError naming `name` otherwise)."""
        if key not in self.inputs[signature]:
            return np.asarray(value)
        dims = list(self.inputs[signature][key])
        if batch is not None:
            dims[0] = batch
        return check_array(value, f"{name} of {self.path}", dims)

    def require_config(self) -> Config:
        """The model's Config (from NAME/config.json); a clear error for exports that lack it."""
        if self.config is None:
            raise ExportError(f"{self.path} has no {CONFIG_FILE} beside it, so its direction and channels are "
                              "unknown; re-export it with tfgan-i2i export (which writes the file)")
        return self.config

    def _call(self, endpoint: str, *args):
        return to_float(getattr(self.loaded, endpoint)(*args)["image"])

    def translate(self, images, z=None, direction: str = "AtoB"):
        """G(images, z) in [-1, 1]; z None = the zero code (the prior's mode); direction for unpaired models."""
        if self.unpaired:
            endpoint = "a_to_b" if direction == "AtoB" else "b_to_a"
            return self._call(endpoint, to_uint8(self._check(endpoint, images)))
        if z is None:
            return self._call("translate", to_uint8(self._check("translate", images)))
        if "translate_z" not in self.inputs:
            raise ExportError(f"{self.path} has no `translate_z` signature (a model without a latent code), "
                              "so it cannot take z; call translate(images) without z")
        images = self._check("translate_z", images)
        z = self._check("translate_z", z, "z", "z", batch=len(images))
        return self._call("translate_z", to_uint8(images), tf.convert_to_tensor(z, tf.float32))

    def sample(self, images, k: int = 5, seed: int = 0, direction: str = "AtoB"):
        """(N, k, H, W, C): k outputs per input from the k codes of `seed` (k copies where there is no code)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ExportError(f"k (samples per input) must be an integer >= 1 (got {k!r})")
        endpoint = "sample_b_to_a" if self.unpaired and direction == "BtoA" else "sample"
        if not hasattr(self.loaded, endpoint):
            return tf.repeat(self.translate(images, direction=direction)[:, None], k, axis=1)
        images = self._check(endpoint, images)
        out = getattr(self.loaded, endpoint)(to_uint8(images), tf.constant(k, tf.int32), tf.constant(seed, tf.int32))
        return to_float(out["images"])

    def _transfer(self, images, reference, direction: str = "AtoB"):
        """`images` translated with the attribute of `reference` (1 image or one per input, of the target domain)."""
        endpoint = "transfer" if direction == "AtoB" else "transfer_b_to_a"
        images = self._check(endpoint, images)
        reference = self._check(endpoint, reference, "reference", "reference")
        if len(reference) not in (1, len(images)):
            raise ExportError(f"reference of {self.path} must hold 1 image or one per input image (got "
                              f"{len(reference)} for {len(images)})")
        return self._call(endpoint, to_uint8(images), to_uint8(reference))

    def cycle(self, images, direction: str = "AtoB"):
        """(translation, reconstruction) of an unpaired model, as UnpairedGAN.cycle."""
        there = self.translate(images, direction=direction)
        return there, self.translate(there, direction="BtoA" if direction == "AtoB" else "AtoB")

    def _encode(self, images):
        """(mu, logvar) of q(z | B) for output-domain images in [-1, 1]."""
        out = self.loaded.encode(to_uint8(self._check("encode", images)))
        return out["mu"], out["logvar"]


def load_exported(path: str) -> ExportedModel:
    """The SavedModel export at `path` (NAME/ or NAME/<version>/) as an ExportedModel."""
    return ExportedModel(path)


__all__ = ["ExportedModel", "ExportError", "load_exported", "savedmodel_dir"]
