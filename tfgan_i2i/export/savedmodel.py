"""Export a trained model as a SavedModel for TF Serving: versioned layout, uint8 signatures, inference mode.

Signatures (images are uint8 [0, 255], NHWC, any batch size, the model's spatial size; every input is checked,
see `signature_inputs`, and a wrong one fails with one line such as
"image must have shape [batch, 128, 128, 3] (got [1, 64, 64, 3])"):
  translate(image) -> {"image"}                      z = 0, the prior's mode (deterministic; serving_default)
  translate_z(image, z) -> {"image"}                 z float32 (batch, nz); models with a latent code
  sample(image, k, seed) -> {"images"}               (batch, k, H, W, C) from k codes drawn with seed
  encode(image) -> {"mu", "logvar"}                  output-domain image -> q(z | B); models with an encoder
  a_to_b(image), b_to_a(image) -> {"image"}          unpaired models (CycleGAN, UNIT, AVB-GTN, DRIT); translate = a_to_b
  sample(image, k, seed), sample_b_to_a(...)         unpaired models with a latent code (DRIT's attribute): A -> B, B -> A
  transfer(image, reference), transfer_b_to_a(...)   DRIT: the attribute of `reference` (1 or one per image, of the
                                                     target domain) on the content of `image`
The model's config is written beside the version folders (NAME/config.json) so `load_exported` (and
`tfgan-i2i translate`) know its direction, channels and latent size; TF Serving ignores the file.
G runs as the config's `test_mode` says, recorded in config.json: "eval" (every preset but pix2pix) runs dropout and
batch norm in inference mode (the references' exported outputs were wrong because of train-mode dropout / batch
statistics); "train" (the pix2pix preset, as its paper and test script) keeps dropout stochastic and normalises with
the batch's statistics; its dropout masks are drawn with the stateful RandomUniform op, so the graph also converts
to TFLite (`layers.serving_dropout`). With config.ema_decay > 0 the signatures use the EMA weights.
"""
from __future__ import annotations

import os

import keras
import tensorflow as tf

from ..config import CONFIG_FILE
from ..layers import serving_dropout
from ..models.base import latent_codes
from .checks import check_positive, check_tensor


def to_float(image_u8):
    """uint8 [0, 255] -> float32 [-1, 1]."""
    return tf.cast(image_u8, tf.float32) / 127.5 - 1.0


def to_uint8(image):
    """float [-1, 1] -> uint8 [0, 255], rounded and clipped."""
    return tf.cast(tf.round((tf.clip_by_value(tf.cast(image, tf.float32), -1.0, 1.0) + 1.0) * 127.5), tf.uint8)


def signature_inputs(config, unpaired: bool = False) -> dict:
    """{signature: {input: dims}}: the shapes the signatures of `serving_functions` accept (None = any batch).

    The exported input signatures themselves accept a tensor of any shape, so that every caller (TF Serving,
    `saved_model_cli run`, a signature called in Python) reaches the checks and their one-line message instead of
    an error from deep inside the network; the Python loader and the TFLite conversion read the shapes from here.
    `encode` is listed for every paired model but exported only for those with an encoder.
    """
    size = config.image_size
    image_a, image_b = [None, size, size, config.input_nc], [None, size, size, config.output_nc]
    if unpaired:
        inputs = {"translate": {"image": image_a}, "a_to_b": {"image": image_a}, "b_to_a": {"image": image_b}}
        if config.nz:
            inputs.update(sample={"image": image_a, "k": [], "seed": []},
                          sample_b_to_a={"image": image_b, "k": [], "seed": []})
        if _has_transfer(config):
            inputs.update(transfer={"image": image_a, "reference": image_b},
                          transfer_b_to_a={"image": image_b, "reference": image_a})
        return inputs
    inputs = {"translate": {"image": image_a}}
    if config.nz:
        inputs["translate_z"] = {"image": image_a, "z": [None, config.nz]}
        inputs["sample"] = {"image": image_a, "k": [], "seed": []}
    inputs["encode"] = {"image": image_b}
    return inputs


def _has_transfer(config) -> bool:
    """Whether the config's model takes an attribute from a reference image (DRIT's `transfer`)."""
    from ..models import MODELS

    return hasattr(MODELS.get(config.model), "transfer")


def _any_shape(dtype, name: str) -> tf.TensorSpec:
    """An input signature entry that accepts any shape (the function checks it)."""
    return tf.TensorSpec(None, dtype, name=name)


def _sample_spec() -> list:
    return [_any_shape(tf.uint8, "image"), tf.TensorSpec([], tf.int32, name="k"), tf.TensorSpec([], tf.int32, name="seed")]


def _sampler(generate, dims, nz: int):
    """sample(image, k, seed) over generate(images in [-1, 1], z): the k codes of `seed`, the same for every input."""
    def sample(image, k, seed):
        image = check_tensor(image, "image", dims)
        k = check_positive(k, "k")
        n = tf.shape(image)[0]
        zs = latent_codes(k, nz, seed)
        images = tf.repeat(image, k, axis=0)           # (n*k, ...): input i, codes 0..k-1
        out = to_uint8(generate(to_float(images), tf.tile(zs, [n, 1])))
        return {"images": tf.reshape(out, tf.concat([[n, k], tf.shape(out)[1:]], 0))}

    return sample


def _transfer(model, dims: dict, direction: str):
    """transfer(image, reference): model.transfer on checked uint8 inputs (1 reference, or one per image)."""
    def transfer(image, reference):
        image = check_tensor(image, "image", dims["image"])
        reference = check_tensor(reference, "reference", dims["reference"])
        m = tf.shape(reference)[0]
        ok = tf.logical_or(tf.equal(m, 1), tf.equal(m, tf.shape(image)[0]))
        message = tf.strings.join(["reference must hold 1 image or one per image (got ", tf.strings.as_string(m),
                                   " for ", tf.strings.as_string(tf.shape(image)[0]), ")"])
        with tf.control_dependencies([tf.debugging.Assert(ok, [message])]):
            reference = tf.identity(reference)
        return {"image": to_uint8(model.transfer(to_float(image), to_float(reference), direction))}

    return transfer


def _unpaired_functions(model) -> dict:
    """a_to_b / b_to_a (deterministic codes) for CycleGAN, UNIT, AVB-GTN, DRIT; translate is a_to_b; sample and
    transfer (both directions) where the model has a latent code and a reference attribute."""
    c = model.config
    inputs = signature_inputs(c, unpaired=True)
    z_zero = (lambda image: tf.zeros([tf.shape(image)[0], c.nz])) if c.nz else (lambda image: None)

    def a_to_b(image):
        image = check_tensor(image, "image", inputs["a_to_b"]["image"])
        return {"image": to_uint8(model.a_to_b(to_float(image), z_zero(image)))}

    def b_to_a(image):
        image = check_tensor(image, "image", inputs["b_to_a"]["image"])
        return {"image": to_uint8(model.b_to_a(to_float(image), z_zero(image)))}

    spec = [_any_shape(tf.uint8, "image")]
    fns = {"translate": (a_to_b, spec), "a_to_b": (a_to_b, spec), "b_to_a": (b_to_a, spec)}
    if c.nz:
        fns["sample"] = (_sampler(model.a_to_b, inputs["sample"]["image"], c.nz), _sample_spec())
        fns["sample_b_to_a"] = (_sampler(model.b_to_a, inputs["sample_b_to_a"]["image"], c.nz), _sample_spec())
    if "transfer" in inputs:
        pair = [_any_shape(tf.uint8, "image"), _any_shape(tf.uint8, "reference")]
        fns["transfer"] = (_transfer(model, inputs["transfer"], "AtoB"), pair)
        fns["transfer_b_to_a"] = (_transfer(model, inputs["transfer_b_to_a"], "BtoA"), pair)
    return fns


def serving_functions(model) -> dict:
    """{signature name: (fn, input_signature)} for a translation model (see the module docstring)."""
    if getattr(model, "unpaired", False):
        return _unpaired_functions(model)
    c = model.config
    nz = c.nz
    inputs = signature_inputs(c)
    image_spec = _any_shape(tf.uint8, "image")

    def generate(image_u8, z):
        return model.generate(to_float(image_u8), z, training=False)

    def translate(image):
        image = check_tensor(image, "image", inputs["translate"]["image"])
        z = tf.zeros([tf.shape(image)[0], nz]) if nz else None
        return {"image": to_uint8(generate(image, z))}

    fns = {"translate": (translate, [image_spec])}
    if nz:
        def translate_z(image, z):
            image = check_tensor(image, "image", inputs["translate_z"]["image"])
            z = check_tensor(z, "z", inputs["translate_z"]["z"], batch=tf.shape(image)[0])
            return {"image": to_uint8(generate(image, z))}

        fns["translate_z"] = (translate_z, [image_spec, _any_shape(tf.float32, "z")])
        fns["sample"] = (_sampler(lambda images, z: model.generate(images, z, training=False),
                                  inputs["sample"]["image"], nz), _sample_spec())
    if hasattr(model, "encode") and "E" in model.nets:
        def encode(image):
            image = check_tensor(image, "image", inputs["encode"]["image"])
            mu, logvar = model.infer("E", to_float(image))
            return {"mu": mu, "logvar": logvar}

        fns["encode"] = (encode, [image_spec])
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
    tmp = f"{path}.tmp-{os.getpid()}"
    os.makedirs(out_dir, exist_ok=True)
    with serving_dropout():  # test-time dropout (test_mode "train") as an op TFLite has
        for name, (fn, input_signature) in {**functions, "serving_default": functions[default]}.items():
            archive.add_endpoint(name, fn, input_signature=input_signature)
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
