"""Export a model in several formats at once, with a parity report against the Keras model on real images."""
from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

from .savedmodel import export_savedmodel, serving_functions
from .tflite import FORMATS as TFLITE_FORMATS
from .tflite import convert, parity

FORMATS = ("savedmodel", *TFLITE_FORMATS)


def parse_formats(text: str) -> list[str]:
    """'savedmodel,tflite-fp16' -> a checked list (a ValueError names any unknown format)."""
    formats = [f.strip() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"--formats {text!r}: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(FORMATS)}")
    return formats


def export_all(model, out_dir: str, formats, test_images_u8: np.ndarray, calibration_u8: np.ndarray | None = None,
               version: int = 1) -> dict:
    """Write the SavedModel (always: TFLite is converted from it) and the TFLite files; return the parity report.

    The report (also written as out_dir/export_report.json and .md) gives, per TFLite file, the size and the max/mean
    absolute difference in uint8 levels of its `translate` output against the Keras model's on `test_images_u8`.
    """
    savedmodel = export_savedmodel(model, out_dir, version)
    n = len(test_images_u8)
    translate, _ = serving_functions(model)["translate"]  # run eagerly: the Keras model's own output
    reference = translate(tf.convert_to_tensor(test_images_u8, tf.uint8))["image"].numpy()
    # test_mode "train" (pix2pix): dropout stays on, so two Keras calls differ too; that spread is the yardstick
    again = (translate(tf.convert_to_tensor(test_images_u8, tf.uint8))["image"].numpy()
             if model.config.test_mode == "train" else reference)
    spread = float(np.abs(reference.astype(np.float64) - again).mean())
    name = os.path.basename(os.path.normpath(out_dir))
    report = {"savedmodel": savedmodel, "model": model.config.model, "image_size": model.config.image_size,
              "test_images": n, "keras_vs_keras_mean_abs_diff": spread, "tflite": []}
    for fmt in formats:
        if fmt == "savedmodel":
            continue
        path = convert(savedmodel, os.path.join(out_dir, f"{name}.{fmt}.tflite"), fmt, calibration_u8)
        report["tflite"].append({"format": fmt, **parity(path, test_images_u8, reference)})
    with open(os.path.join(out_dir, "export_report.json"), "w") as f:
        json.dump(report, f, indent=2)
    lines = [f"Parity of `translate` vs the Keras model on {n} real test images (uint8 levels)", "",
             "| file | size (KB) | max abs diff | mean abs diff |", "|---|---|---|---|"]
    lines += [f"| {r['file']} | {r['size_bytes'] / 1024:.0f} | {r['max_abs_diff']:.0f} | {r['mean_abs_diff']:.3f} |"
              for r in report["tflite"]]
    if spread > 0:
        lines += ["", f"The model is stochastic at test time (test_mode {model.config.test_mode}: dropout on), so two "
                  f"calls of the Keras model already differ by {spread:.3f} levels on average: read the differences "
                  "above against that."]
    with open(os.path.join(out_dir, "export_report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return report
