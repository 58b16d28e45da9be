"""Export a trained model as a SavedModel for TF Serving: versioned layout, uint8 signatures, inference mode.

Signatures (images are uint8 [0, 255], NHWC, any batch size, the model's spatial size):
  translate(image) -> {"image"}                      z = 0, the prior's mode (deterministic; serving_default)
  translate_z(image, z) -> {"image"}                 z float32 (batch, nz); models with a latent code
  sample(image, k, seed) -> {"images"}               (batch, k, H, W, C) from k codes drawn with seed
  encode(image) -> {"mu", "logvar"}                  output-domain image -> q(z | B); models with an encoder
  a_to_b(image), b_to_a(image) -> {"image"}          unpaired models (CycleGAN, UNIT, AVB-GTN); translate = a_to_b
The model's config is written beside the version folders (NAME/config.json) so `load_exported` (and
`tfgan-i2i translate`) know its direction, channels and latent size; TF Serving ignores the file.
G runs as the config's `test_mode` says, recorded in config.json: "eval" (every preset but pix2pix) runs dropout and
batch norm in inference mode (the references' exported outputs were wrong because of train-mode dropout / batch
statistics); "train" (the pix2pix preset, as its paper and test script) keeps dropout stochastic and normalises with
the batch's statistics. With config.ema_decay > 0 the signatures use the EMA weights.
"""
from __future__ import annotations

import os

import keras
import tensorflow as tf

from ..config import CONFIG_FILE
from ..models.base import latent_codes


def to_float(image_u8):
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return tf.cast(image_u8, tf.float32) / 127.5 - 1.0


def to_uint8(image):
    """float [-1, 1] -> uint8 [0, 255], rounded and clipped."""
    return tf.cast(tf.round((tf.clip_by_value(tf.cast(image, tf.float32), -1.0, 1.0) + 1.0) * 127.5), tf.uint8)


def _unpaired_functions(model) -> dict:
    """a_to_b / b_to_a (deterministic codes) for CycleGAN, UNIT and AVB-GTN; translate is a_to_b."""
    c = model.config
    spec = {d: tf.TensorSpec([None, c.image_size, c.image_size, n], tf.uint8, name="image")
            for d, n in (("AtoB", c.input_nc), ("BtoA", c.output_nc))}
    z_zero = (lambda image: tf.zeros([tf.shape(image)[0], c.nz])) if c.nz else (lambda image: None)

    def a_to_b(image):
        return {"image": to_uint8(model.a_to_b(to_float(image), z_zero(image)))}

    def b_to_a(image):
        return {"image": to_uint8(model.b_to_a(to_float(image), z_zero(image)))}

    return {"translate": (a_to_b, [spec["AtoB"]]), "a_to_b": (a_to_b, [spec["AtoB"]]),
            "b_to_a": (b_to_a, [spec["BtoA"]])}


def serving_functions(model) -> dict:
    """{signature name: (fn, input_signature)} for a translation model (see the module docstring)."""
    if getattr(model, "unpaired", False):
        return _unpaired_functions(model)
    c = model.config
    size, nz = c.image_size, c.nz
    image_a = tf.TensorSpec([None, size, size, c.input_nc], tf.uint8, name="image")

    def generate(image_u8, z):
        return model.generate(to_float(image_u8), z, training=False)

    def translate(image):
        z = tf.zeros([tf.shape(image)[0], nz]) if nz else None
        return {"image": to_uint8(generate(image, z))}

    fns = {"translate": (translate, [image_a])}
    if nz:
        def translate_z(image, z):
            return {"image": to_uint8(generate(image, z))}

        def sample(image, k, seed):
            n = tf.shape(image)[0]
            zs = latent_codes(k, nz, seed)
            images = tf.repeat(image, k, axis=0)           # (n*k, ...): input i, codes 0..k-1
            codes = tf.tile(zs, [n, 1])
            out = to_uint8(generate(images, codes))
            return {"images": tf.reshape(out, tf.concat([[n, k], tf.shape(out)[1:]], 0))}

        fns["translate_z"] = (translate_z, [image_a, tf.TensorSpec([None, nz], tf.float32, name="z")])
        fns["sample"] = (sample, [image_a, tf.TensorSpec([], tf.int32, name="k"), tf.TensorSpec([], tf.int32, name="seed")])
    if hasattr(model, "encode") and "E" in model.nets:
        image_b = tf.TensorSpec([None, size, size, c.output_nc], tf.uint8, name="image")

        def encode(image):
            mu, logvar = model.infer("E", to_float(image))
            return {"mu": mu, "logvar": logvar}

        fns["encode"] = (encode, [image_b])
    return fns


def export_savedmodel(model, out_dir: str, version: int = 1, functions: dict | None = None,
                      default: str = "translate") -> str:
    """Write `model` as a SavedModel at out_dir/<version>/ (TF Serving's layout) and its config.json; returns the path.

    functions: {signature name: (fn, input_signature)}, default `serving_functions(model)`; the `default` one is also
    `serving_default` (what Serving runs when a request names no signature). The archive keeps only the variables
    the signatures read (G and E, not the discriminators): tracking the whole model as well stored every weight
    twice, once as a Keras variable and once as the TF variable behind it.
    An existing version folder is replaced only after the new export is complete (written next to it, then
    renamed), so a failed export never destroys the previous one.
    """
    path = os.path.join(out_dir, str(version))
    functions = serving_functions(model) if functions is None else functions
    archive = keras.export.ExportArchive()  # add_endpoint tracks the variables each function uses
    for name, (fn, input_signature) in {**functions, "serving_default": functions[default]}.items():
        archive.add_endpoint(name, fn, input_signature=input_signature)
    tmp = f"{path}.tmp-{os.getpid()}"
    os.makedirs(out_dir, exist_ok=True)
    archive.write_out(tmp, verbose=False)
    model.config.save(os.path.join(out_dir, CONFIG_FILE))
    if os.path.isdir(path):
        old = f"{path}.old-{os.getpid()}"
        os.replace(path, old)
        os.replace(tmp, path)
        tf.io.gfile.rmtree(old)
    else:
        os.replace(tmp, path)
    return path
