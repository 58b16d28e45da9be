"""TFLite conversion of an exported SavedModel (float32, float16, int8) and parity checks with LiteRT."""
from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

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
    converter = tf.lite.TFLiteConverter.from_saved_model(savedmodel_dir, signature_keys=[signature])
    if fmt != "tflite":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if fmt == "tflite-fp16":
        converter.target_spec.supported_types = [tf.float16]
    if fmt == "tflite-int8-full":
        if representative_images is None or len(representative_images) == 0:
            raise ValueError("format tflite-int8-full needs representative images (uint8, from the training data)")

        def representative():
            for image in representative_images:
                yield {"image": np.asarray(image, np.uint8)[None]}

        converter.representative_dataset = representative
        # int8 kernels where they exist, float fallback elsewhere (e.g. the instance-norm moments)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.lite.OpsSet.TFLITE_BUILTINS]
    data = converter.convert()
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = f"{out_path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out_path)
    return out_path


def interpreter(path: str):
    """A LiteRT interpreter for a .tflite file (tf.lite.Interpreter is deprecated)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError("running .tflite files needs LiteRT: pip install ai-edge-litert") from e
    if not os.path.isfile(path):
        raise FileNotFoundError(f"TFLite file {path} does not exist; create it with `tfgan-i2i export`")
    return Interpreter(model_path=path)


def run(path: str, images_u8: np.ndarray, signature: str = "translate", **extra) -> np.ndarray:
    """Run a .tflite signature on a uint8 batch, one image at a time (TFLite models have a fixed batch of 1)."""
    runner = interpreter(path).get_signature_runner(signature)
    outputs = [runner(image=np.asarray(image, np.uint8)[None], **extra) for image in images_u8]
    key = next(iter(outputs[0]))
    return np.concatenate([o[key] for o in outputs])


def parity(path: str, images_u8: np.ndarray, reference_u8: np.ndarray) -> dict:
    """Max and mean absolute difference (in uint8 levels) of a .tflite file's output vs the Keras model's."""
    got = run(path, images_u8).astype(np.float64)
    diff = np.abs(got - np.asarray(reference_u8, np.float64))
    return {"file": os.path.basename(path), "size_bytes": os.path.getsize(path),
            "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean())}
