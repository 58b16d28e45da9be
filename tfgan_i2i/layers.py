"""Small building blocks shared by the networks: norms, reflection padding, z tiling, pooling, init."""
from __future__ import annotations

import keras
from keras import layers, ops

PACKAGE = "tfgan_i2i"


@keras.saving.register_keras_serializable(package=PACKAGE)
class ReflectionPad2D(layers.Layer):
    """Pads H and W by `padding` pixels on each side, mirroring the border (no edge repeat)."""

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, x):
        p = self.padding
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, shape):
        grow = lambda d: None if d is None else d + 2 * self.padding  # noqa: E731
        return (shape[0], grow(shape[1]), grow(shape[2]), shape[3])

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ConcatZ(layers.Layer):
    """Tiles a latent code z (batch, nz) over the spatial grid of x and appends it as channels."""

    def call(self, inputs):
        x, z = inputs
        z = ops.cast(z, x.dtype)
        return ops.concatenate([x, ops.ones_like(x[..., :1]) * z[:, None, None, :]], axis=-1)

    def compute_output_shape(self, shapes):
        xs, zs = shapes
        return (*xs[:3], xs[3] + zs[1])


@keras.saving.register_keras_serializable(package=PACKAGE)
class AvgPoolExcludePad(layers.Layer):
    """3x3 stride-2 average pooling with 1 pixel of zero padding left out of the count.

    The multi-scale PatchGAN of the reference down-samples between scales this way
    (AvgPool2d(3, 2, padding=1, count_include_pad=False)); Keras' 'same' pooling pads on one side only.
    """

    def call(self, x):
        pad = [[0, 0], [1, 1], [1, 1], [0, 0]]
        summed = ops.average_pool(ops.pad(x, pad), 3, 2, padding="valid")
        count = ops.average_pool(ops.pad(ops.ones_like(x[..., :1]), pad), 3, 2, padding="valid")
        return summed / count

    def compute_output_shape(self, shape):
        half = lambda d: None if d is None else (d - 1) // 2 + 1  # noqa: E731
        return (shape[0], half(shape[1]), half(shape[2]), shape[3])


def kernel_init(init_type: str = "normal", gain: float = 0.02):
    """Weight initialiser of the references: N(0, gain) ('normal') or Xavier-normal scaled by gain ('xavier')."""
    if init_type == "normal":
        return keras.initializers.RandomNormal(0.0, gain)
    if init_type == "xavier":
        return keras.initializers.VarianceScaling(gain**2, mode="fan_avg", distribution="untruncated_normal")
    if init_type == "he":
        return keras.initializers.HeNormal()
    raise ValueError(f"init_type={init_type!r} is not one of normal, xavier, he")


def norm_layer(kind: str, gain: float = 0.02):
    """A normalisation layer by name, or None for 'none'.

    'instance' is the reference's non-affine instance norm (no scale/offset, no running stats);
    'batch' is affine batch norm with PyTorch's momentum 0.1 (Keras momentum 0.9) and eps 1e-5.
    """
    if kind == "instance":
        return layers.GroupNormalization(groups=-1, epsilon=1e-5, center=False, scale=False)
    if kind == "batch":
        return layers.BatchNormalization(
            momentum=0.9, epsilon=1e-5, gamma_initializer=keras.initializers.RandomNormal(1.0, gain)
        )
    if kind == "none":
        return None
    raise ValueError(f"norm={kind!r} is not one of instance, batch, none")


def apply(x, *fns):
    """Applies layers in order, skipping None (so optional norms read naturally)."""
    for fn in fns:
        if fn is not None:
            x = fn(x)
    return x


def conv(filters, kernel, stride=1, padding="same", use_bias=True, init=None, spectral=False, name=None):
    """A Conv2D with the package's init, optionally spectrally normalised."""
    layer = layers.Conv2D(
        filters, kernel, strides=stride, padding=padding, use_bias=use_bias,
        kernel_initializer=init or kernel_init(), name=name,
    )
    return layers.SpectralNormalization(layer) if spectral else layer


def lrelu():
    """LeakyReLU with the references' slope 0.2."""
    return layers.LeakyReLU(negative_slope=0.2)
