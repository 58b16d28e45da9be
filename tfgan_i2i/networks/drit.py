"""DRIT++'s networks, concat variant (HsinYingLee/DRIT as MSGAN's DRIT-Mode-Seeking uses it): no losses here.

* content encoders E_c_A, E_c_B: image -> domain-invariant content map (B, H/4, W/4, 4 ngf); the last residual
  block is one set of layers in both domains (`shared_blocks`, as UNIT's), so they map to one content space;
* attribute encoders E_a_A, E_a_B: image -> (mu, logvar) of the domain-specific attribute code (nz = 8);
* generators G_A, G_B: (content, z) -> image, with one residual block shared by both domains before z is tiled
  and concatenated to the features at every later stage (the "concat" generator);
* domain discriminators: UNIT's multi-scale D (`ms_discriminator`) with PyTorch's default LeakyReLU slope 0.01;
* the content discriminator D_content: content map -> logit map, telling the two domains' content codes apart.

Padding is reflection (zero only where the reference has none), instance norm is non-affine, weights start
N(0, 0.02) on every convolution and the two linear heads as PyTorch's default. The slopes are the reference's:
its `LeakyReLUConv2d` uses nn.LeakyReLU() (0.01), the attribute encoder LeakyReLU(0.2).
"""
from __future__ import annotations

import math

import keras
from keras import layers

from ..layers import ConcatZ, ReflectionPad2D, ThinConv2D, apply, kernel_init, norm_layer, torch_conv_transpose
from .discriminators import conv_output_size
from .unit import ResBlock, latent_dim, ms_discriminator, shared_blocks

TORCH_SLOPE = 0.01  # nn.LeakyReLU()'s default, the slope of the reference's LeakyReLUConv2d (content E, both Ds)
CONTENT_D_LAYERS = 3  # the reference's content D: three 7x7/2 layers before its 4x4 and 1x1 convs


def _torch_leaky():
    return layers.LeakyReLU(negative_slope=TORCH_SLOPE)


def _torch_linear_init(fan_in: int):
    """PyTorch's default nn.Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases alike."""
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)


def content_encoder(input_nc: int = 3, ngf: int = 64, n_downsample: int = 2, n_res: int = 4,
                    shared: list[ResBlock] = (), init_gain: float = 0.02, name: str = "E_c") -> keras.Model:
    """E_c(x) -> content map (B, H/2^n, W/2^n, ngf 2^n), before the reference's training-time Gaussian noise.

    Reflect-pad 3 + 7x7 conv + LeakyReLU(0.01) (the reference's `LeakyReLUConv2d`, whose instance norm is never
    applied), n_downsample x (reflect-pad 1, 3x3/2 conv, instance norm, ReLU), n_res - len(shared) private residual
    blocks, then the `shared` ones. The noise N(0, I) the reference adds after the shared block in training is
    the model's (`DRIT.content`), so this network is the test-time encoder.
    """
    init = kernel_init("normal", init_gain)
    image = keras.Input((None, None, input_nc), name="image")
    dim = ngf
    x = apply(image, ReflectionPad2D(3), ThinConv2D(dim, 7, kernel_initializer=init), _torch_leaky())
    for _ in range(n_downsample):
        dim *= 2
        x = apply(x, ReflectionPad2D(1), layers.Conv2D(dim, 3, strides=2, kernel_initializer=init),
                  norm_layer("instance"), layers.ReLU())
    for i in range(n_res - len(shared)):
        x = ResBlock(dim, "instance", "normal", init_gain, name=f"{name}_res{i}")(x)
    for block in shared:
        x = block(x)
    return keras.Model(image, x, name=name)


def attribute_encoder(input_nc: int = 3, nz: int = 8, nef: int = 64, n_blocks: int = 4, init_gain: float = 0.02,
                      name: str = "E_a") -> keras.Model:
    """E_a(x) -> (mu, logvar), each (B, nz): the reference's E_attr_concat (no norm, LeakyReLU 0.2).

    Reflect-pad 1 + 4x4/2 conv to nef channels, then n_blocks - 1 residual down-sampling blocks
    nef min(4, n) -> nef min(4, n + 1): [lrelu, pad, 3x3 conv, lrelu, pad, 3x3 conv, 2x2 avg-pool] plus an
    [avg-pool, 1x1 conv] shortcut; lrelu, global average pooling and two linear heads.
    """
    init = kernel_init("normal", init_gain)
    lrelu = lambda: layers.LeakyReLU(negative_slope=0.2)  # noqa: E731
    image = keras.Input((None, None, input_nc), name="image")
    x = apply(image, ReflectionPad2D(1), ThinConv2D(nef, 4, strides=2, kernel_initializer=init))
    for n in range(1, n_blocks):
        c_in, c_out = nef * min(4, n), nef * min(4, n + 1)
        h = apply(x, lrelu(), ReflectionPad2D(1), ThinConv2D(c_in, 3, kernel_initializer=init), lrelu(),
                  ReflectionPad2D(1), ThinConv2D(c_out, 3, kernel_initializer=init), layers.AveragePooling2D(2))
        shortcut = apply(x, layers.AveragePooling2D(2), layers.Conv2D(c_out, 1, kernel_initializer=init))
        x = layers.Add()([h, shortcut])
    x = apply(x, lrelu(), layers.GlobalAveragePooling2D())
    width = nef * min(4, n_blocks)
    heads = [layers.Dense(nz, kernel_initializer=_torch_linear_init(width), bias_initializer=_torch_linear_init(width),
                          dtype="float32", name=head) for head in ("mu", "logvar")]
    return keras.Model(image, [head(x) for head in heads], name=name)


def concat_generator(output_nc: int = 3, ngf: int = 64, nz: int = 8, n_downsample: int = 2, n_res: int = 4,
                     shared: list[ResBlock] = (), init_gain: float = 0.02, name: str = "G") -> keras.Model:
    """G(content, z) -> image in [-1, 1]: the reference's G_concat.

    The `shared` residual blocks at the content's width d = ngf 2^n, then z (B, nz) tiled and concatenated
    (d + nz channels) and n_res - len(shared) residual blocks at that width; then n_downsample up-sampling stages
    [concatenate z, 3x3/2 transposed conv to half the channels, LayerNorm over (H, W, C) with a per-channel scale
    and offset, ReLU], and a last [concatenate z, 1x1 transposed conv, tanh].
    """
    init = kernel_init("normal", init_gain)
    dim = latent_dim(ngf, n_downsample)
    content = keras.Input((None, None, dim), name="content")
    z = keras.Input((nz,), name="z")
    x = content
    for block in shared:
        x = block(x)
    x = ConcatZ()([x, z])
    width = dim + nz
    for i in range(n_res - len(shared)):
        x = ResBlock(width, "instance", "normal", init_gain, name=f"{name}_res{i}")(x)
    for _ in range(n_downsample):
        width = (width + nz) // 2
        x = apply(ConcatZ()([x, z]), *torch_conv_transpose(width, 3, 2, 1, 1, init=init),
                  layers.GroupNormalization(groups=1, epsilon=1e-5), layers.ReLU())
    x = apply(ConcatZ()([x, z]), *torch_conv_transpose(output_nc, 1, init=init),
              layers.Activation("tanh", dtype="float32"))
    return keras.Model([content, z], x, name=name)


def content_logit_size(content_size: int, n_layers: int = CONTENT_D_LAYERS) -> int:
    """Side of the content D's logit map on a content_size x content_size code (0: it cannot run).

    Each 7x7/2 layer reflect-pads by 1 (needing a side >= 2), then the 4x4 conv takes 3 pixels off.
    """
    n = content_size
    for _ in range(n_layers):
        n = conv_output_size(n, 7, 2, 1) if n >= 2 else 0
    return conv_output_size(n, 4)


def content_d_layers(content_size: int) -> int:
    """How many 7x7/2 layers the content D has on this content size: the reference's 3 when its logit map keeps
    at least one pixel (image sides >= 212, e.g. its 216 crop), else the most that do (DRIT's advice for smaller
    crops: fewer down-sampling layers)."""
    return next((n for n in range(CONTENT_D_LAYERS, 0, -1) if content_logit_size(content_size, n) >= 1), 0)


def content_discriminator(dim: int = 256, n_layers: int = CONTENT_D_LAYERS, init_gain: float = 0.02,
                          name: str = "D_content") -> keras.Model:
    """D_content(content) -> logit map: n_layers x (reflect-pad 1, 7x7/2 conv, LeakyReLU 0.01), a 4x4 conv +
    LeakyReLU(0.01) and a 1x1 conv to one logit, all at the content's width `dim`.

    The reference names instance norm for the first three layers, but its `LeakyReLUConv2d` never applies it
    (it compares the string 'norm', not the argument), so none is used, as its code runs.
    """
    init = kernel_init("normal", init_gain)
    content = keras.Input((None, None, dim), name="content")
    x = content
    for _ in range(n_layers):
        x = apply(x, ReflectionPad2D(1), layers.Conv2D(dim, 7, strides=2, kernel_initializer=init), _torch_leaky())
    x = apply(x, ThinConv2D(dim, 4, kernel_initializer=init), _torch_leaky(),
              layers.Conv2D(1, 1, kernel_initializer=init), layers.Activation("linear", dtype="float32"))
    return keras.Model(content, x, name=name)


def domain_discriminator(input_nc: int = 3, ndf: int = 64, n_layers: int = 4, num_scales: int = 3,
                         norm: str = "none", spectral_norm: bool = False, init_gain: float = 0.02,
                         name: str = "D") -> keras.Model:
    """The reference's MultiScaleDis: UNIT's `ms_discriminator` (same layers) with its LeakyReLUs at slope 0.01."""
    model = ms_discriminator(input_nc, ndf, n_layers, num_scales, norm, spectral_norm, "normal", init_gain,
                             name=name)
    for layer in model.layers:  # the slope is read at call time and saved in the layer config, so this is exact
        if isinstance(layer, layers.LeakyReLU):
            layer.negative_slope = TORCH_SLOPE
    return model


__all__ = ["attribute_encoder", "concat_generator", "content_discriminator", "content_d_layers", "content_encoder",
           "content_logit_size", "domain_discriminator", "shared_blocks"]
