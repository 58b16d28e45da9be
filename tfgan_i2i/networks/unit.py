"""UNIT's shared-latent networks: per-domain encoders and decoders around shared residual blocks, multi-scale D.

The architecture follows mingyuliutw/UNIT (master): encoder = 7x7 conv, `n_downsample` 4x4/2 convs and `n_res`
residual blocks (instance norm, ReLU, reflection padding); decoder = `n_res` residual blocks, `n_downsample`
x (nearest up-sampling, 5x5 conv, master's LayerNorm, ReLU) and a 7x7 conv with tanh. As in the NIPS paper
(version_02), the last `n_shared` encoder blocks and the first `n_shared` decoder blocks are shared between the two
domains: the SAME layer objects sit in both domains' models, so there is one set of weights. With n_shared = 0
(master) the two domains' encoders and decoders are independent networks.
"""
from __future__ import annotations

import keras
from keras import layers, ops

from ..layers import (PACKAGE, AvgPoolExcludePad, ReflectionPad2D, ThinConv2D, apply, conv, kernel_init, lrelu,
                      norm_layer)
from .discriminators import conv_output_size


@keras.saving.register_keras_serializable(package=PACKAGE)
class ResBlock(layers.Layer):
    """Residual block x + [pad-conv3x3-norm-ReLU-pad-conv3x3-norm](x), reflection padded; one Layer so it can be shared."""

    def __init__(self, dim: int, norm: str = "instance", init_type: str = "he", init_gain: float = 0.02, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.norm, self.init_type, self.init_gain = int(dim), norm, init_type, init_gain
        init = kernel_init(init_type, init_gain)
        self.pad1, self.pad2 = ReflectionPad2D(1), ReflectionPad2D(1)
        self.conv1 = ThinConv2D(dim, 3, padding="valid", kernel_initializer=init)
        self.conv2 = ThinConv2D(dim, 3, padding="valid", kernel_initializer=init)
        self.norm1, self.norm2 = norm_layer(norm, init_gain), norm_layer(norm, init_gain)
        self.relu = layers.ReLU()

    def build(self, shape):
        padded = (shape[0], None, None, shape[-1])
        self.conv1.build(padded)
        self.conv2.build((shape[0], None, None, self.dim))
        for n in (self.norm1, self.norm2):
            if n is not None:
                n.build((shape[0], None, None, self.dim))
        self.built = True

    def call(self, x, training=False):
        h = apply(x, self.pad1, self.conv1)
        h = self.relu(self.norm1(h, training=training) if self.norm1 is not None else h)
        h = apply(h, self.pad2, self.conv2)
        h = self.norm2(h, training=training) if self.norm2 is not None else h
        return x + h

    def compute_output_shape(self, shape):
        return shape

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "norm": self.norm, "init_type": self.init_type,
                "init_gain": self.init_gain}


@keras.saving.register_keras_serializable(package=PACKAGE)
class UnitLayerNorm(layers.Layer):
    """UNIT master's LayerNorm: per example over (H, W, C), y = gamma_c (x - mean) / (std + eps) + beta_c.

    std is the UNBIASED standard deviation (divisor H*W*C - 1) and eps is added to it, not to the variance (so it
    differs from keras.layers.LayerNormalization and GroupNormalization(groups=1)). The per-channel gamma starts
    U(0, 1) and beta 0, as the reference's LayerNorm (its weight init touches only Conv/Linear layers).
    Statistics are taken in float32 under mixed precision.
    """

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, shape):
        channels = shape[-1]
        self.gamma = self.add_weight(name="gamma", shape=(channels,),
                                     initializer=keras.initializers.RandomUniform(0.0, 1.0))
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros")
        self.built = True

    def call(self, x):
        h = ops.cast(x, "float32")
        axes = tuple(range(1, len(h.shape)))
        n = ops.cast(ops.size(h[0]), "float32")
        mean = ops.mean(h, axis=axes, keepdims=True)
        var = ops.sum(ops.square(h - mean), axis=axes, keepdims=True) / (n - 1.0)
        h = (h - mean) / (ops.sqrt(var) + self.epsilon)
        h = h * ops.cast(self.gamma, "float32") + ops.cast(self.beta, "float32")
        return ops.cast(h, x.dtype)

    def compute_output_shape(self, shape):
        return shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def latent_dim(ngf: int, n_downsample: int) -> int:
    """Channels of UNIT's latent code: ngf * 2^n_downsample."""
    return ngf * 2**n_downsample


def shared_blocks(ngf: int = 64, n_downsample: int = 2, n_shared: int = 1, norm: str = "instance",
                  init_type: str = "he", init_gain: float = 0.02, prefix: str = "shared") -> list[ResBlock]:
    """The residual blocks shared by both domains' encoders (or decoders): pass the same list to both builders.

    n_shared = 0 gives [] (UNIT master: no shared layers).
    """
    dim = latent_dim(ngf, n_downsample)
    return [ResBlock(dim, norm, init_type, init_gain, name=f"{prefix}_res{i}") for i in range(n_shared)]


def unit_encoder(input_nc: int = 3, ngf: int = 64, n_downsample: int = 2, n_res: int = 4,
                 shared: list[ResBlock] = (), norm: str = "instance", init_type: str = "he", init_gain: float = 0.02,
                 noise_nc: int = 0, image_size: int | None = None, name: str = "E") -> keras.Model:
    """E(x) -> latent map h (B, H/2^n, W/2^n, ngf*2^n); its last len(shared) residual blocks are `shared`.

    With noise_nc > 0 the model takes [x, eps] (eps: noise_nc channels at image size) and is an implicit posterior
    q(z | x) (AVB): the noise enters at the input, so the code distribution need not be Gaussian.
    """
    init = kernel_init(init_type, init_gain)
    image = keras.Input((image_size, image_size, input_nc), name="image")
    inputs = [image]
    x = image
    if noise_nc > 0:
        eps = keras.Input((image_size, image_size, noise_nc), name="eps")
        inputs.append(eps)
        x = layers.Concatenate()([image, eps])
    dim = ngf
    x = apply(x, ReflectionPad2D(3), ThinConv2D(dim, 7, padding="valid", kernel_initializer=init),
              norm_layer(norm, init_gain), layers.ReLU())
    for _ in range(n_downsample):
        dim *= 2
        x = apply(x, ReflectionPad2D(1), ThinConv2D(dim, 4, strides=2, padding="valid", kernel_initializer=init),
                  norm_layer(norm, init_gain), layers.ReLU())
    for i in range(n_res - len(shared)):
        x = ResBlock(dim, norm, init_type, init_gain, name=f"{name}_res{i}")(x)
    for block in shared:
        x = block(x)
    return keras.Model(inputs if len(inputs) > 1 else image, x, name=name)


def unit_decoder(output_nc: int = 3, ngf: int = 64, n_downsample: int = 2, n_res: int = 4,
                 shared: list[ResBlock] = (), norm: str = "instance", init_type: str = "he", init_gain: float = 0.02,
                 name: str = "G") -> keras.Model:
    """G(h) -> image in [-1, 1]: len(shared) shared residual blocks first, then nearest-up + 5x5 conv + LN + ReLU.

    LN is UnitLayerNorm (master's decoder, used by both UNIT presets).
    """
    init = kernel_init(init_type, init_gain)
    dim = latent_dim(ngf, n_downsample)
    h = keras.Input((None, None, dim), name="latent")
    x = h
    for block in shared:
        x = block(x)
    for i in range(n_res - len(shared)):
        x = ResBlock(dim, norm, init_type, init_gain, name=f"{name}_res{i}")(x)
    for _ in range(n_downsample):
        dim //= 2
        x = apply(x, layers.UpSampling2D(2, interpolation="nearest"), ReflectionPad2D(2),
                  ThinConv2D(dim, 5, padding="valid", kernel_initializer=init), UnitLayerNorm(1e-5), layers.ReLU())
    x = apply(x, ReflectionPad2D(3), ThinConv2D(output_nc, 7, padding="valid", kernel_initializer=init),
              layers.Activation("tanh", dtype="float32"))
    return keras.Model(h, x, name=name)


def ms_logit_sizes(image_size: int, n_layers: int, num_scales: int) -> list[int]:
    """Side of each scale's logit map of `ms_discriminator` on image_size x image_size inputs (0: cannot run).

    Each layer reflection-pads by 1, which needs an input of at least 2 pixels (the padding must be smaller than the
    side), then a 4x4/2 conv halves it; the final 1x1 conv keeps it. Between scales the 3x3/2 pooling halves the
    side, rounding up.
    """
    sizes, n = [], image_size
    for i in range(num_scales):
        if i > 0:
            n = (n - 1) // 2 + 1  # AvgPoolExcludePad
        h = n
        for _ in range(n_layers):
            h = conv_output_size(h, 4, 2, 1) if h >= 2 else 0
        sizes.append(h)
    return sizes


def ms_discriminator(input_nc: int = 3, ndf: int = 64, n_layers: int = 4, num_scales: int = 3, norm: str = "none",
                     spectral_norm: bool = False, init_type: str = "normal", init_gain: float = 0.02,
                     image_size: int | None = None, name: str = "D_ms") -> keras.Model:
    """UNIT's multi-scale D: per scale n_layers x (reflect pad, 4x4/2 conv, norm, LeakyReLU 0.2) then a 1x1 conv.

    Channels double per layer from ndf (all scales use ndf); between scales the input is average-pooled 3x3/2
    (padding left out of the count). Returns a list of num_scales logit maps (one map if num_scales == 1).
    """
    init = kernel_init(init_type, init_gain)
    image = keras.Input((image_size, image_size, input_nc), name="image")
    outputs, x = [], image
    for i in range(num_scales):
        if i > 0:
            x = AvgPoolExcludePad()(x)
        h, dim = x, ndf
        for n in range(n_layers):
            h = apply(h, ReflectionPad2D(1), conv(dim, 4, 2, "valid", init=init, spectral=spectral_norm),
                      norm_layer(norm, init_gain) if n > 0 else None, lrelu())
            dim *= 2
        outputs.append(apply(h, conv(1, 1, 1, "valid", init=init, spectral=spectral_norm),
                             layers.Activation("linear", dtype="float32")))
    return keras.Model(image, outputs if num_scales > 1 else outputs[0], name=name)


__all__ = ["ResBlock", "UnitLayerNorm", "latent_dim", "shared_blocks", "unit_encoder", "unit_decoder",
           "ms_discriminator", "ms_logit_sizes"]
