"""Input checks of exported models: one message naming the input and the shape it must have.

The same wording everywhere, so a user reads the same line from TF Serving, `saved_model_cli run`, a signature
called in Python, the Python loader and the TFLite wrapper:
    image must have shape [batch, 32, 32, 3] (got [1, 64, 64, 3])
`dims` lists one entry per axis: an int is a fixed size, None any size (shown as "batch").
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf


class ExportError(ValueError):
    """A folder is not a usable export, or an exported model got a wrong input; the message names it and the fix."""


def shape_text(dims) -> str:
    """[None, 32, 32, 3] -> '[batch, 32, 32, 3]'."""
    return "[" + ", ".join("batch" if d is None else str(d) for d in dims) + "]"


def check_array(value, name: str, dims, dtype=None) -> np.ndarray:
    """`value` as an array when its shape matches `dims` (and its dtype `dtype`); else an ExportError."""
    array = np.asarray(value)
    shape_ok = array.ndim == len(dims) and all(d is None or d == n for d, n in zip(dims, array.shape))
    if not shape_ok or (dtype is not None and array.dtype != np.dtype(dtype)):
        got = shape_text(array.shape) + (f" {array.dtype.name}" if dtype is not None else "")
        want = f"shape {shape_text(dims)}" + (f" and dtype {np.dtype(dtype).name}" if dtype is not None else "")
        raise ExportError(f"{name} must have {want} (got {got})")
    return array


def check_tensor(x, name: str, dims, batch=None):
    """Graph-side check of `x` against `dims` (None = any size); returns x with the static shape `dims` says.

    batch: a scalar tensor the first axis must equal (z must have one code per image). The assertion runs before
    anything reads x, and tf.ensure_shape gives the rest of the graph the same static shapes a fixed input
    signature would, so valid inputs run the same kernels as before.
    """
    dims = list(dims)
    shape = tf.shape(x)
    n = len(dims)
    padded = tf.pad(shape, [[0, n]])[:n]  # fixed length whatever the rank, so the comparisons below never fail
    ok = tf.equal(tf.size(shape), n)
    for axis, d in enumerate(dims):
        if d is not None:
            ok = tf.logical_and(ok, tf.equal(padded[axis], d))
    want = tf.constant(shape_text(dims))
    if batch is not None:
        ok = tf.logical_and(ok, tf.equal(padded[0], batch))
        want = tf.strings.join(["[", tf.strings.as_string(batch), shape_text(dims)[len("[batch"):]])
    got = tf.strings.reduce_join(tf.strings.as_string(shape), separator=", ")
    message = tf.strings.join([f"{name} must have shape ", want, " (got [", got, "])"])
    with tf.control_dependencies([tf.debugging.Assert(ok, [message])]):
        return tf.ensure_shape(tf.identity(x), dims)


def check_positive(x, name: str):
    """Graph-side check that the scalar `x` is >= 1; returns x."""
    message = tf.strings.join([f"{name} must be >= 1 (got ", tf.strings.as_string(x), ")"])
    with tf.control_dependencies([tf.debugging.Assert(x >= 1, [message])]):
        return tf.identity(x)


__all__ = ["ExportError", "check_array", "check_positive", "check_tensor", "shape_text"]
