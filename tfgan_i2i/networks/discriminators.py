"""PatchGAN discriminators (single and multi-scale) returning logit maps (a list of them when multi-scale)."""
from __future__ import annotations

import keras
from keras import layers

from ..layers import AvgPoolExcludePad, apply, conv, kernel_init, lrelu, norm_layer


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
