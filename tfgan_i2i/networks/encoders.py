"""Encoders E(B) -> (mu, logvar) for the latent code, resolution-independent (global average pooling)."""
from __future__ import annotations

import keras
from keras import layers

from ..layers import ThinConv2D, apply, kernel_init, lrelu, norm_layer


def resnet_encoder_feature_size(image_size: int, n_blocks: int) -> int:
    """Side of `resnet_encoder`'s last feature map on image_size x image_size inputs (0: a pooling does not fit).

    The 4x4/2 'same' conv halves the side (rounding up); each of the n_blocks - 1 blocks pools it 2x2 (rounding
    down). `conv_encoder` has only 'same' convs, which never shrink a side below 1.
    """
    n = -(-image_size // 2)
    for _ in range(1, n_blocks):
        n //= 2
    return n


def _heads(x, image, nz, init, name):
    x = layers.GlobalAveragePooling2D()(x)  # the reference's AvgPool2d(8) equals this at 128/256 px only
    mu = layers.Dense(nz, kernel_initializer=init, name="mu")(x)
    logvar = layers.Dense(nz, kernel_initializer=init, name="logvar")(x)
    return keras.Model(image, [mu, logvar], name=name)


def resnet_encoder(
    input_nc: int = 3, nz: int = 8, nef: int = 64, n_blocks: int = 5, norm: str = "instance",
    init_type: str = "normal", init_gain: float = 0.02, image_size: int | None = None, name: str = "E_resnet",
) -> keras.Model:
    """BicycleGAN's E_ResNet: a 4x4/2 conv, n_blocks-1 residual down-sampling blocks, pooled linear mu and logvar.

    Block n maps nef*min(4, n) -> nef*min(4, n+1) channels: norm-lrelu-conv3x3-norm-lrelu-conv3x3-avgpool,
    plus an avgpool-conv1x1 shortcut.
    """
    init = kernel_init(init_type, init_gain)
    image = keras.Input((image_size, image_size, input_nc), name="image")
    x = ThinConv2D(nef, 4, strides=2, padding="same", kernel_initializer=init)(image)
    for n in range(1, n_blocks):
        c_in, c_out = nef * min(4, n), nef * min(4, n + 1)
        h = apply(x, norm_layer(norm, init_gain), lrelu(), layers.Conv2D(c_in, 3, padding="same", kernel_initializer=init),
                  norm_layer(norm, init_gain), lrelu(), layers.Conv2D(c_out, 3, padding="same", kernel_initializer=init),
                  layers.AveragePooling2D(2))
        shortcut = apply(x, layers.AveragePooling2D(2), layers.Conv2D(c_out, 1, kernel_initializer=init))
        x = layers.Add()([h, shortcut])
    return _heads(lrelu()(x), image, nz, init, name)


def conv_encoder(
    input_nc: int = 3, nz: int = 8, nef: int = 64, n_layers: int = 5, norm: str = "instance",
    init_type: str = "normal", init_gain: float = 0.02, image_size: int | None = None, name: str = "E_conv",
) -> keras.Model:
    """BicycleGAN's E_NLayers: n_layers 4x4/2 convs (nef*min(2^n, 4) channels), pooled linear mu and logvar."""
    init = kernel_init(init_type, init_gain)
    image = keras.Input((image_size, image_size, input_nc), name="image")
    x = apply(image, ThinConv2D(nef, 4, strides=2, padding="same", kernel_initializer=init), lrelu())
    for n in range(1, n_layers):
        x = apply(x, ThinConv2D(nef * min(2**n, 4), 4, strides=2, padding="same", kernel_initializer=init),
                  norm_layer(norm, init_gain), lrelu())
    return _heads(x, image, nz, init, name)
