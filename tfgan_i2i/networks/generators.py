"""Generators G(A, z) -> B: U-Net and ResNet, with the latent code z tiled at the input or at every layer."""
from __future__ import annotations

import math

import keras
from keras import layers

from ..layers import (ConcatZ, Dropout, ReflectionPad2D, ThinConv2D, apply, kernel_init, norm_layer, torch_conv,
                      torch_conv_transpose)


def _inputs(input_nc: int, nz: int, size: int | None):
    image = keras.Input((size, size, input_nc), name="image")
    z = keras.Input((nz,), name="z") if nz > 0 else None
    return image, z


def _with_z(x, z):
    return ConcatZ()([x, z]) if z is not None else x


def _upconv(filters, upsample, use_bias, init):
    if upsample == "transpose":
        return [layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=use_bias, kernel_initializer=init)]
    if upsample == "bilinear":
        return [layers.UpSampling2D(2, interpolation="bilinear"), ReflectionPad2D(1),
                layers.Conv2D(filters, 3, padding="valid", use_bias=use_bias, kernel_initializer=init)]
    raise ValueError(f"upsample={upsample!r} is not one of transpose, bilinear")


def unet_depth(image_size: int) -> int:
    """Number of stride-2 down-samplings of the U-Net for a square power-of-two size (8 at 256, 7 at 128)."""
    depth = int(round(math.log2(image_size)))
    if image_size < 32 or 2**depth != image_size:
        raise ValueError(f"U-Net image_size={image_size} must be a power of two >= 32")
    return depth


def unet_generator(
    image_size: int = 256, input_nc: int = 3, output_nc: int = 3, nz: int = 0, ngf: int = 64,
    norm: str = "batch", use_dropout: bool = True, where_add: str = "all", upsample: str = "transpose",
    init_type: str = "normal", init_gain: float = 0.02, fixed_size: bool = False, name: str = "G_unet",
) -> keras.Model:
    """U-Net G with log2(image_size) down-samplings (skips between mirrored levels).

    Level i has ngf*min(2^i, 8) channels; z (if nz > 0) is concatenated before the first conv
    ('input') or before every down-sampling conv ('all', BicycleGAN's G_Unet_add_all).
    Dropout 0.5 sits on the decoder levels 4..depth-2 (the reference's 512-channel middle blocks).
    The model accepts any square size divisible by 2**depth unless fixed_size is set.
    """
    if where_add not in ("input", "all"):
        raise ValueError(f"where_add={where_add!r} is not one of input, all")
    depth = unet_depth(image_size)
    init = kernel_init(init_type, init_gain)
    use_bias = norm != "batch"  # a bias before batch norm is redundant (the reference drops it)
    image, z = _inputs(input_nc, nz, image_size if fixed_size else None)
    inner = [ngf * min(2**i, 8) for i in range(depth)]
    outer = [output_nc] + inner[:-1]

    skips, x = [], image
    for i in range(depth):
        skips.append(x)
        h = _with_z(x, z) if (i == 0 or where_add == "all") else x
        x = apply(
            h, lrelu_if(i > 0),
            ThinConv2D(inner[i], 4, strides=2, padding="same", use_bias=use_bias, kernel_initializer=init),
            norm_layer(norm, init_gain) if 0 < i < depth - 1 else None,
        )
    for i in reversed(range(depth)):
        x = apply(x, layers.ReLU(), *_upconv(outer[i], upsample, use_bias or i == 0, init))
        if i == 0:
            x = layers.Activation("tanh", dtype="float32")(x)
            break
        x = apply(x, norm_layer(norm, init_gain), Dropout(0.5) if use_dropout and 4 <= i <= depth - 2 else None)
        x = layers.Concatenate()([x, skips[i]])
    return keras.Model([image, z] if z is not None else image, x, name=name)


def lrelu_if(flag: bool):
    """LeakyReLU(0.2) when flag is set, else nothing (the outermost U-Net level has no activation)."""
    return layers.LeakyReLU(negative_slope=0.2) if flag else None


def resnet_generator(
    input_nc: int = 3, output_nc: int = 3, nz: int = 0, ngf: int = 64, n_blocks: int = 9,
    norm: str = "instance", use_dropout: bool = False, where_add: str = "input", n_downsampling: int = 2,
    init_type: str = "normal", init_gain: float = 0.02, image_size: int | None = None, name: str = "G_resnet",
) -> keras.Model:
    """ResNet G (Johnson et al.): 7x7 stem, 2 stride-2 convs, n residual blocks, 2 up-convs, 7x7 head.

    Reflection padding around the 7x7 and residual convs; the stride-2 convs and up-convs pad as the reference's
    Conv2d(3, 2, padding=1) and ConvTranspose2d(3, 2, padding=1, output_padding=1) (zeros, symmetric; TF's 'same'
    would shift the grid by a pixel). Dropout 0.5 (use_dropout) sits between a block's two convs. With nz > 0,
    z is concatenated at the input ('input') or also before every down-sampling conv and every residual block
    ('all').
    """
    init = kernel_init(init_type, init_gain)
    use_bias = norm != "batch"
    image, z = _inputs(input_nc, nz, image_size)
    every = where_add == "all"
    x = apply(_with_z(image, z), ReflectionPad2D(3),
              ThinConv2D(ngf, 7, padding="valid", use_bias=use_bias, kernel_initializer=init),
              norm_layer(norm, init_gain), layers.ReLU())
    for i in range(n_downsampling):
        x = _with_z(x, z) if every else x
        x = apply(x, *torch_conv(ngf * 2 ** (i + 1), 3, 2, 1, use_bias, init), norm_layer(norm, init_gain),
                  layers.ReLU())
    dim = ngf * 2**n_downsampling
    for _ in range(n_blocks):
        h = apply(_with_z(x, z) if every else x, ReflectionPad2D(1),
                  ThinConv2D(dim, 3, padding="valid", use_bias=use_bias, kernel_initializer=init),
                  norm_layer(norm, init_gain), layers.ReLU(), Dropout(0.5) if use_dropout else None,
                  ReflectionPad2D(1), ThinConv2D(dim, 3, padding="valid", use_bias=use_bias, kernel_initializer=init),
                  norm_layer(norm, init_gain))
        x = layers.Add()([x, h])
    for i in range(n_downsampling):
        x = apply(x, *torch_conv_transpose(dim // 2 ** (i + 1), 3, 2, 1, 1, use_bias, init),
                  norm_layer(norm, init_gain), layers.ReLU())
    x = apply(x, ReflectionPad2D(3), ThinConv2D(output_nc, 7, padding="valid", kernel_initializer=init),
              layers.Activation("tanh", dtype="float32"))
    return keras.Model([image, z] if z is not None else image, x, name=name)


__all__ = ["unet_generator", "resnet_generator", "unet_depth"]
