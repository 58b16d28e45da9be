"""PatchGAN discriminators (single and multi-scale) returning logit maps (a list of them when multi-scale)."""
from __future__ import annotations

import keras
from keras import layers

from ..layers import AvgPoolExcludePad, apply, conv, kernel_init, lrelu, norm_layer


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Side of a convolution's output on a size x size input padded by `padding` per side (0: the kernel does not fit)."""
    padded = size + 2 * padding
    return 0 if padded < kernel else (padded - kernel) // stride + 1


def patch_logit_sizes(image_size: int, n_layers: int, num_D: int = 1) -> list[int]:
    """Side of each scale's logit map of `patch_discriminator` on image_size x image_size inputs (0: cannot run).

    Per scale: a 4x4/2 conv, n_layers - 1 more 4x4/2 convs, a 4x4/1 conv and the 4x4/1 logit conv, each zero-padded
    by 1 (so every stride-1 conv takes a pixel off); between scales the 3x3/2 pooling halves the side, rounding up.
    """
    sizes, n = [], image_size
    for i in range(num_D):
        if i > 0:
            n = (n - 1) // 2 + 1  # AvgPoolExcludePad
        m = conv_output_size(n, 4, 2, 1)
        for layer in range(1, n_layers + 1):
            m = conv_output_size(m, 4, 2 if layer < n_layers else 1, 1)
        sizes.append(conv_output_size(m, 4, 1, 1))
    return sizes


def _patch_layers(x, ndf, n_layers, norm, spectral, init, init_gain):
    """The n_layers PatchGAN stack: 4x4 convs, stride 2 except the last two, zero padding 1 as in the reference."""
    use_bias = norm != "batch"
    pad = lambda: layers.ZeroPadding2D(1)  # noqa: E731
    x = apply(x, pad(), conv(ndf, 4, 2, "valid", init=init, spectral=spectral), lrelu())
    for n in range(1, n_layers + 1):
        stride = 2 if n < n_layers else 1
        x = apply(x, pad(), conv(ndf * min(2**n, 8), 4, stride, "valid", use_bias, init, spectral),
                  norm_layer(norm, init_gain), lrelu())
    return apply(x, pad(), conv(1, 4, 1, "valid", init=init, spectral=spectral),
                 layers.Activation("linear", dtype="float32"))


def patch_discriminator(
    input_nc: int = 3, ndf: int = 64, n_layers: int = 3, num_D: int = 1, norm: str = "batch",
    spectral_norm: bool = False, init_type: str = "normal", init_gain: float = 0.02,
    image_size: int | None = None, name: str = "D_patch",
) -> keras.Model:
    """PatchGAN D; with num_D > 1 the multi-scale version (scale i: ndf/2^i filters, input average-pooled i times).

    Returns one logit map, or a list of num_D of them (no sigmoid: the losses work on logits). For conditional D feed [A, B]
    concatenated on channels and set input_nc accordingly.
    """
    init = kernel_init(init_type, init_gain)
    image = keras.Input((image_size, image_size, input_nc), name="image")
    outputs, x = [], image
    for i in range(num_D):
        if i > 0:
            x = AvgPoolExcludePad()(x)
        outputs.append(_patch_layers(x, ndf // 2**i, n_layers, norm, spectral_norm, init, init_gain))
    return keras.Model(image, outputs if num_D > 1 else outputs[0], name=name)
