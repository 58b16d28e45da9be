"""TFLite conversion of an exported SavedModel (float32, float16, int8) and parity checks with LiteRT.

TFLite models have fixed input shapes; `run` checks a batch against the interpreter's input details first and
raises one ExportError line naming the input and its shape and dtype, in place of LiteRT's own errors.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from .checks import ExportError, check_array

FORMATS = ("tflite", "tflite-fp16", "tflite-int8", "tflite-int8-full")


def convert(savedmodel_dir: str, out_path: str, fmt: str = "tflite", representative_images=None,
            signature: str = "translate") -> str:
    """Convert one signature of a SavedModel to a .tflite file.

    fmt: tflite (float32), tflite-fp16 (float16 weights), tflite-int8 (dynamic-range int8 weights),
    tflite-int8-full (int8 weights and activations, calibrated on `representative_images`: uint8 NHWC
    images from the training data; input and output stay uint8).
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "tflite-int8-full" and (representative_images is None or len(representative_images) == 0):
        raise ValueError("format tflite-int8-full needs representative images (uint8, from the training data)")
    staging = tempfile.mkdtemp(prefix="tflite-static-")
    try:
        source = _with_static_inputs(savedmodel_dir, signature, staging)
        converter = tf.lite.TFLiteConverter.from_saved_model(source, signature_keys=[signature])
        data = _convert(converter, fmt, representative_images)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = f"{out_path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out_path)
    return out_path


def _with_static_inputs(savedmodel_dir: str, signature: str, staging: str) -> str:
    """A SavedModel whose `signature` has fixed input shapes: `savedmodel_dir` itself when it has them already.

    Exports with input checks accept any shape (see savedmodel.signature_inputs), which TFLite cannot convert;
    for those, a wrapper with the checked shapes (from config.json) calling the original signature is saved to
    `staging`. The checks then hold statically and the converter drops them.
    """
    from ..config import CONFIG_FILE, Config
    from .savedmodel import signature_inputs

    loaded = tf.saved_model.load(savedmodel_dir)
    if signature not in loaded.signatures:
        raise ExportError(f"{savedmodel_dir} has no {signature!r} signature (it has: "
                          f"{', '.join(sorted(loaded.signatures))})")
    fn = loaded.signatures[signature]
    specs = fn.structured_input_signature[1]
    if all(spec.shape.rank is not None for spec in specs.values()):
        return savedmodel_dir
    config_file = os.path.join(os.path.dirname(os.path.normpath(savedmodel_dir)), CONFIG_FILE)
    if not os.path.isfile(config_file):
        raise ExportError(f"{savedmodel_dir} has no {CONFIG_FILE} beside it, so the input shapes of {signature!r} "
                          "are unknown; restore the file or re-export the model with tfgan-i2i export")
    inputs = signature_inputs(Config.load(config_file), unpaired="a_to_b" in loaded.signatures)
    inputs["serving_default"] = inputs["translate"]
    names = list(specs)
    input_signature = [tf.TensorSpec(inputs[signature][name], specs[name].dtype, name=name) for name in names]

    def static(*args):
        return fn(**dict(zip(names, args)))

    module = tf.Module()
    module.exported = loaded  # tracks the variables the signature reads
    concrete = tf.function(static, input_signature=input_signature).get_concrete_function()
    tf.saved_model.save(module, staging, signatures={signature: concrete})
    return staging


def _convert(converter, fmt: str, representative_images) -> bytes:
    """Set `converter` up for `fmt` and convert."""
    if fmt != "tflite":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if fmt == "tflite-fp16":
        converter.target_spec.supported_types = [tf.float16]
    if fmt == "tflite-int8-full":
        def representative():
            for image in representative_images:
                yield {"image": np.asarray(image, np.uint8)[None]}

        converter.representative_dataset = representative
        # int8 kernels where they exist, float fallback elsewhere (e.g. the instance-norm moments)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def interpreter(path: str):
    """A LiteRT interpreter for a .tflite file (tf.lite.Interpreter is deprecated)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError("running .tflite files needs LiteRT: pip install ai-edge-litert") from e
    if not os.path.isfile(path):
        raise FileNotFoundError(f"TFLite file {path} does not exist; create it with `tfgan-i2i export`")
    return Interpreter(model_path=path)


def check_inputs(runner, path: str, images_u8, extra: dict) -> None:
    """Raise one ExportError line when `images_u8` (a batch) or `extra` do not fit the runner's fixed inputs."""
    details = runner.get_input_details()
    names = set(details)
    if names != {"image", *extra}:
        raise ExportError(f"{path} takes the inputs {', '.join(sorted(names))} (given: "
                          f"{', '.join(sorted({'image', *extra}))})")
    image = details["image"]
    check_array(images_u8, f"image of {path}", [None, *image["shape"][1:]], image["dtype"])
    for name, value in extra.items():
        check_array(value, f"{name} of {path}", list(details[name]["shape"]), details[name]["dtype"])


def run(path: str, images_u8: np.ndarray, signature: str = "translate", **extra) -> np.ndarray:
    """Run a .tflite signature on a uint8 batch, one image at a time (TFLite models have a fixed batch of 1).

    The batch and `extra` inputs are checked against the file's input details first (ExportError otherwise).
    """
    model = interpreter(path)
    signatures = model.get_signature_list()
    if signature not in signatures:
        raise ExportError(f"{path} has no {signature!r} signature (it has: {', '.join(sorted(signatures))})")
    runner = model.get_signature_runner(signature)
    check_inputs(runner, path, images_u8, extra)
    outputs = [runner(image=image[None], **extra) for image in images_u8]
    key = next(iter(outputs[0]))
    return np.concatenate([o[key] for o in outputs])


def parity(path: str, images_u8: np.ndarray, reference_u8: np.ndarray) -> dict:
    """Max and mean absolute difference (in uint8 levels) of a .tflite file's output vs the Keras model's."""
    got = run(path, images_u8).astype(np.float64)
    diff = np.abs(got - np.asarray(reference_u8, np.float64))
    return {"file": os.path.basename(path), "size_bytes": os.path.getsize(path),
            "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean())}
