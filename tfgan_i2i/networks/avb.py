"""Adversarial Variational Bayes critic T(x, z) for a spatial latent code (AVB-GTN's replacement of the KL term).

T sees an image x and a latent map z (B, H/2^n, W/2^n, C) and returns a logit map at z's resolution. Trained with
sigmoid cross-entropy to tell z ~ q(z | x) (label 1) from z ~ N(0, I) (label 0), its optimal logit is
log q(z | x) - log p(z), the quantity the KL term averages (Mescheder et al., 2017).

For the Gaussian prior the analytic part of that log-ratio, -log p(z) = 0.5 |z|^2 + const, is added to the
network's output (as Mescheder's reference adversary does), so the network T_net learns only the residual
log q(z | x) + const. Our T returns one logit per latent position p, so the term is taken per position:
T_p(x, z) = T_net,p(x, z) + 0.5 sum_c z_{p,c}^2 (the sum over positions of these terms is 0.5 |z|^2).
"""
from __future__ import annotations

import keras
from keras import layers, ops

from ..layers import PACKAGE, apply, kernel_init, lrelu


@keras.saving.register_keras_serializable(package=PACKAGE)
class GaussianPriorTerm(layers.Layer):
    """[logits (B, h, w, 1), z (B, h, w, C)] -> logits + 0.5 sum_c z^2, the -log N(z; 0, I) term per position."""

    def call(self, inputs):
        logits, z = inputs
        z = ops.cast(z, "float32")
        return ops.cast(logits, "float32") + 0.5 * ops.sum(ops.square(z), axis=-1, keepdims=True)

    def compute_output_shape(self, shapes):
        return shapes[0]


def avb_critic(input_nc: int = 3, z_nc: int = 256, n_downsample: int = 2, ntf: int = 32, init_type: str = "normal",
               init_gain: float = 0.02, image_size: int | None = None, prior_term: bool = True,
               name: str = "T") -> keras.Model:
    """T(x, z): a 4x4/2 conv stack over x with z injected linearly (1x1 conv, added) after every conv, plus a z branch.

    The x branch has n_downsample stride-2 convs and one 3x3 conv, so it ends at z's resolution; z is brought to
    each conv's resolution by nearest up-sampling. The z branch is two 1x1 convs; both branches are concatenated
    and mapped to one logit per latent position by two 1x1 convs. With prior_term the output is that network's
    logit + 0.5 sum_c z^2 at each position (GaussianPriorTerm; no weights, so parameter counts do not change).
    """
    init = kernel_init(init_type, init_gain)
    image = keras.Input((image_size, image_size, input_nc), name="image")
    z_size = None if image_size is None else image_size // 2**n_downsample
    z = keras.Input((z_size, z_size, z_nc), name="z")

    def inject(x, filters, level):
        zz = z if level == n_downsample else layers.UpSampling2D(2 ** (n_downsample - level))(z)
        return layers.Add()([x, layers.Conv2D(filters, 1, use_bias=False, kernel_initializer=init)(zz)])

    x, filters = image, ntf
    for level in range(1, n_downsample + 1):
        x = layers.Conv2D(filters, 4, strides=2, padding="same", kernel_initializer=init)(x)
        x = lrelu()(inject(x, filters, level))
        filters = min(filters * 2, ntf * 8)
    x = layers.Conv2D(filters, 3, padding="same", kernel_initializer=init)(x)
    x = lrelu()(inject(x, filters, n_downsample))
    zb = apply(z, layers.Conv2D(filters, 1, kernel_initializer=init), lrelu(),
               layers.Conv2D(filters, 1, kernel_initializer=init), lrelu())
    out = apply(layers.Concatenate()([x, zb]), layers.Conv2D(filters, 1, kernel_initializer=init), lrelu(),
                layers.Conv2D(1, 1, kernel_initializer=init), layers.Activation("linear", dtype="float32"))
    if prior_term:
        out = GaussianPriorTerm(dtype="float32", name="prior_term")([out, z])
    return keras.Model([image, z], out, name=name)


__all__ = ["GaussianPriorTerm", "avb_critic"]
