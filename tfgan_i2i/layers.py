"""Small building blocks of the networks: norms, padding, PyTorch-style convs, z tiling, pooling, dropout, init."""
from __future__ import annotations

import contextlib
import threading

import keras
import tensorflow as tf
from keras import layers, ops

PACKAGE = "tfgan_i2i"


def replica_seed(seed_generator: keras.random.SeedGenerator):
    """A stateless seed (2,) int32 from `seed_generator`'s stream, with the replica id folded in under a strategy.

    A SeedGenerator's state is a mirrored variable that every replica advances in step, so without the replica id
    all replicas would draw the same numbers for their different examples. On one device (or one replica) the seed
    is the one keras.random would use with this generator, so single-device draws are unchanged.
    """
    seed = tf.cast(tf.math.floormod(seed_generator.next(), tf.int32.max - 1), tf.int32)
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        seed = tf.random.experimental.stateless_fold_in(seed, context.replica_id_in_sync_group)
    return seed


_SERVING = threading.local()


@contextlib.contextmanager
def serving_dropout():
    """Inside this block, `Dropout` traces its masks with TF's stateful RandomUniform op instead of the seed stream.

    For exported graphs of a model tested with dropout on (test_mode "train", the pix2pix preset): TFLite has
    RandomUniform as a builtin but neither StatelessRandomGetKeyCounter nor StatelessRandomUniformV2, so the seed
    stream's ops make the conversion fail. A served graph draws a new mask per call either way; only the source of
    the random numbers differs (TF's per-op RNG state instead of the model's SeedGenerator). Training never runs
    inside the block, so its draws stay seeded and exactly resumable.
    """
    before = getattr(_SERVING, "on", False)
    _SERVING.on = True
    try:
        yield
    finally:
        _SERVING.on = before


@keras.saving.register_keras_serializable(package=PACKAGE)
class Dropout(layers.Dropout):
    """keras.layers.Dropout (inverted: kept units scaled by 1 / (1 - rate)) whose mask differs on every replica.

    Keras' own Dropout draws from a SeedGenerator whose state is mirrored under a strategy, so all replicas would
    drop the same units of their different examples; here the replica id is folded into the seed (`replica_seed`).
    In a graph traced under `serving_dropout()` the mask comes from the stateful RandomUniform op (TFLite-friendly).
    """

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return ops.zeros_like(inputs)
        noise_shape = self.noise_shape
        if noise_shape is not None:
            dynamic = tf.shape(inputs)
            noise_shape = tf.stack([dynamic[i] if d is None else d for i, d in enumerate(noise_shape)])
        if getattr(_SERVING, "on", False):
            keep = tf.random.uniform(tf.shape(inputs) if noise_shape is None else noise_shape,
                                     dtype=inputs.dtype) >= self.rate
            return tf.where(keep, inputs / (1 - self.rate), tf.zeros_like(inputs))
        return tf.nn.experimental.stateless_dropout(inputs, self.rate, noise_shape=noise_shape,
                                                    seed=replica_seed(self.seed_generator))


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


def _thin_conv_gradients(x, kernel, dy):
    """(dL/dx, dL/dkernel) of y = conv2d(x, kernel, stride 1, 'VALID') as two forward convolutions.

    dx = conv2d(pad(dy, k - 1), flip_hw(kernel) with in/out swapped): the full correlation of dy with the kernel.
    dkernel[i, j, c, o] = sum_n,p x[n, p + (i, j), c] dy[n, p, o]: x's channels as the batch, dy as the filter.
    Both are the same sums as TensorFlow's Conv2DBackpropInput / Conv2DBackpropFilter in another order.
    """
    kh, kw = kernel.shape[0], kernel.shape[1]
    flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
    dx = tf.nn.conv2d(tf.pad(dy, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]), flipped, 1, "VALID")
    dk = tf.nn.conv2d(tf.transpose(x, [3, 1, 2, 0]), tf.transpose(dy, [1, 2, 0, 3]), 1, "VALID")
    return dx, tf.transpose(dk, [1, 2, 0, 3])


@tf.custom_gradient
def thin_conv2d(x, kernel):
    """conv2d(x, kernel), stride 1, 'VALID', NHWC, with the gradients of `_thin_conv_gradients`."""
    return tf.nn.conv2d(x, kernel, 1, "VALID"), lambda dy: _thin_conv_gradients(x, kernel, dy)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ThinConv2D(layers.Conv2D):
    """keras Conv2D (stride 1, 'valid', channels last) whose gradients are computed as forward convolutions.

    The same layer, weights and outputs; only the backward pass differs. TensorFlow's default CPU kernels take
    ~1.9 s (one thread) for the gradients of a 7x7 64 -> 3 convolution at 256 px, the ResNet G's output layer;
    as two forward convolutions they take ~0.3 s (bench/README.md, "Levers"). Their gradients of ordinary 3x3
    and 4x4 convolutions are also slower than the two forward convolutions (a 3x3 256 -> 256 at 64 px: dx 108 vs
    81 ms, dkernel 98 vs 77 ms on an AVX2 EPYC), so the ResNet G, the PatchGAN D and UNIT's, AVB-GTN's and DRIT's
    networks (their residual blocks, stems, heads, UNIT's 5x5 up-sampling convs) use this layer for their stride-1
    'valid' convolutions (`conv` returns it; DRIT's own 1x1 convs stay Conv2D). Other configurations, and oneDNN
    (whose own gradient of this layer is fast, and whose forward convolution with the dkernel's 256 x 256 filter
    aborts the process on an AVX-512 AMD EPYC: "Check failed: dtype() == expected_dtype"), use Conv2D's own op.
    """

    def convolution_op(self, inputs, kernel):
        from .kernels import in_effect

        plain = (tuple(self.strides) == (1, 1) and self.padding == "valid" and tuple(self.dilation_rate) == (1, 1)
                 and self.data_format == "channels_last" and self.groups == 1 and in_effect() == "off")
        # a tensor, not the variable: custom_gradient would otherwise want the variable's gradient itself
        return thin_conv2d(inputs, tf.convert_to_tensor(kernel)) if plain else super().convolution_op(inputs, kernel)


def _subpixel_plan(kernel: int, stride: int, padding: str, output_padding: int | None):
    """(taps, pad_before, pad_after, crop_before, crop_after) of one axis of a transposed conv as a sub-pixel conv.

    With taps T = ceil(kernel / stride) and the kernel zero-padded to T * stride, the full transposed output is
    full[s*q + r] = sum_t x[q - t] K[r + s*t]: phase r is a stride-1 correlation of x padded by T - 1 with
    W_r[u] = K[r + s*(T - 1 - u)]. Keras' output of length (n - 1)*s + extent is full[lead:], lead being TF's
    'same' padding before (0 for 'valid'); pad and crop amounts follow and do not depend on the input size n.
    """
    s = stride
    if padding == "valid":
        extent = max(kernel, s) if output_padding is None else kernel + output_padding
        lead = 0
    else:
        extent = s if output_padding is None else kernel % 2 + output_padding
        lead = max(kernel - extent, 0) // 2
    if extent < 1:
        raise ValueError(f"padding='same', kernel_size={kernel}, output_padding={output_padding} gives an output "
                         f"of (n - 1) * stride rows, which Conv2DTranspose itself cannot compute; use another "
                         f"output_padding")
    taps = -(-kernel // s)
    after = (lead + extent - 1) // s
    return taps, taps - 1 - lead // s, after, lead % s, s * after + s - lead - extent


@keras.saving.register_keras_serializable(package=PACKAGE)
class SubPixelConv2DTranspose(layers.Conv2DTranspose):
    """keras Conv2DTranspose computed as one stride-1 conv with the s*s sub-kernels stacked, depth_to_space, crop.

    The same variables, config and outputs as the plain layer; the gradients are the autodiff of the stride-1 conv,
    other kernels than a transposed conv's (bench/subpixel.py times both). The conv computes one row and column
    more than it keeps for kernel 4 'same' at stride 2 ((n + 1)^2 positions per phase where n^2 are kept): 4x the
    work at a 1 px input, 1.27x at 8 px, 3 % more at 64 px (kernel 3 'valid': 1.5 % at 64 px). Needs channels_last,
    dilation 1 and the same stride on both axes; any kernel size, padding and output_padding Conv2DTranspose runs.
    """

    def build(self, input_shape):
        problems = [f"data_format={self.data_format!r} (needs channels_last)"] * (self.data_format != "channels_last")
        problems += [f"dilation_rate={self.dilation_rate} (needs 1)"] * (tuple(self.dilation_rate) != (1, 1))
        problems += [f"strides={self.strides} (needs equal strides)"] * (self.strides[0] != self.strides[1])
        if problems:
            raise ValueError(f"{self.name}: SubPixelConv2DTranspose does not support {', '.join(problems)}; "
                             f"use keras.layers.Conv2DTranspose")
        output_padding = self.output_padding or (None, None)
        self._plan = [_subpixel_plan(k, s, self.padding, op)
                      for k, s, op in zip(self.kernel_size, self.strides, output_padding)]
        super().build(input_shape)

    def _stacked_kernel(self):
        """(Th, Tw, in, s*s*out): sub-kernel of output phase (ry, rx) at channels (ry*s + rx)*out + o."""
        (th, *_), (tw, *_) = self._plan
        s = self.strides[0]
        kernel = tf.convert_to_tensor(self.kernel)
        kh, kw, out, cin = kernel.shape
        kernel = tf.pad(kernel, [[0, th * s - kh], [0, tw * s - kw], [0, 0], [0, 0]])
        kernel = tf.reverse(tf.reshape(kernel, [th, s, tw, s, out, cin]), [0, 2])
        return tf.reshape(tf.transpose(kernel, [0, 2, 5, 1, 3, 4]), [th, tw, cin, s * s * out])

    def call(self, inputs):
        (_, bh, ah, ch, eh), (_, bw, aw, cw, ew) = self._plan
        x = tf.pad(inputs, [[0, 0], [bh, ah], [bw, aw], [0, 0]])
        y = tf.nn.conv2d(x, self._stacked_kernel(), 1, "VALID")
        y = tf.nn.depth_to_space(y, self.strides[0]) if self.strides[0] > 1 else y
        y = y[:, ch:-eh or None, cw:-ew or None, :]
        if self.use_bias:
            y = tf.nn.bias_add(y, tf.convert_to_tensor(self.bias))
        return self.activation(y) if self.activation is not None else y


def with_subpixel_transposes(model: keras.Model) -> keras.Model:
    """A copy of a functional `model` holding its weights, each plain Conv2DTranspose a SubPixelConv2DTranspose."""

    def clone(layer):
        cls = SubPixelConv2DTranspose if type(layer) is layers.Conv2DTranspose else layer.__class__
        return cls.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


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
    """A Conv2D with the package's init, optionally spectrally normalised (a ThinConv2D: stride 1 'valid' ones
    take their gradients as forward convolutions under TF's default kernels)."""
    layer = ThinConv2D(
        filters, kernel, strides=stride, padding=padding, use_bias=use_bias,
        kernel_initializer=init or kernel_init(), name=name,
    )
    return layers.SpectralNormalization(layer) if spectral else layer


def torch_conv(filters, kernel, stride=1, padding=0, use_bias=True, init=None):
    """PyTorch's Conv2d(kernel, stride, padding) as layers: [ZeroPadding2D(padding), valid Conv2D].

    On a size divisible by the stride TF's 'same' pads (kernel - stride) // 2 before and the rest after, so a 3x3
    stride-2 conv on an even size pads 0 before and 1 after, where PyTorch's padding=1 pads 1 on each side: same
    weights, a sampling grid shifted by one pixel.
    Use as `apply(x, *torch_conv(...))`.
    """
    pad = [layers.ZeroPadding2D(padding)] if padding else []
    return [*pad, layers.Conv2D(filters, kernel, strides=stride, padding="valid", use_bias=use_bias,
                                kernel_initializer=init or kernel_init())]


def torch_conv_transpose(filters, kernel, stride=1, padding=0, output_padding=0, use_bias=True, init=None):
    """PyTorch's ConvTranspose2d(kernel, stride, padding, output_padding) as [valid Conv2DTranspose, Cropping2D].

    PyTorch's output is the full transposed convolution ((n - 1) * stride + kernel) cropped by `padding` at the
    start and `padding - output_padding` at the end: (n - 1) * stride - 2 * padding + kernel + output_padding.
    When output_padding > padding the missing rows at the end come from Keras' own output_padding (they hold the
    bias only, as in PyTorch). Use as `apply(x, *torch_conv_transpose(...))`.
    """
    if not 0 <= output_padding < stride:
        raise ValueError(f"output_padding={output_padding} must be in [0, stride={stride})")
    extra = max(output_padding - padding, 0)
    up = layers.Conv2DTranspose(filters, kernel, strides=stride, padding="valid", output_padding=extra,
                                use_bias=use_bias, kernel_initializer=init or kernel_init())
    crop = (padding, max(padding - output_padding, 0))
    return [up, layers.Cropping2D((crop, crop))] if any(crop) else [up]


def lrelu():
    """LeakyReLU with the references' slope 0.2."""
    return layers.LeakyReLU(negative_slope=0.2)
