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


def _space_to_depth_kernel(kernel):
    """[2m, 2n, C, O] -> [m, n, 4C, O], K'[a, b, (2 di + dj) C + c] = K[2a + di, 2b + dj, c]: the kernel of the
    stride-1 conv that space_to_depth(x, 2) needs to give conv2d(x, K, stride 2) (space_to_depth's channel order)."""
    kh, kw, c, o = kernel.shape
    k = tf.reshape(kernel, [kh // 2, 2, kw // 2, 2, c, o])
    return tf.reshape(tf.transpose(k, [0, 2, 1, 3, 4, 5]), [kh // 2, kw // 2, 4 * c, o])


def space_to_depth_conv2d(x, kernel, padding: str, thin: bool):
    """conv2d(x, kernel, stride 2, `padding`), NHWC, for an even-sized kernel, as a stride-1 conv of
    space_to_depth(x, 2) with `_space_to_depth_kernel(kernel)`: the same products and sums (no zero taps).

    'same' pads as TensorFlow does (the total max((ceil(n / 2) - 1) * 2 + k - n, 0), its floor half before);
    'valid' drops the last row / column when the stride never reaches it. `thin`: the stride-1 conv takes
    `thin_conv2d`'s gradients (for TF's default kernels), else the conv op's own.
    """
    pads, crops = [[0, 0]], []
    for axis, k in ((1, kernel.shape[0]), (2, kernel.shape[1])):
        n = x.shape[axis] if x.shape[axis] is not None else tf.shape(x)[axis]
        total = (-(-n // 2) - 1) * 2 + k - n if padding == "same" else 0
        total = tf.maximum(total, 0) if isinstance(total, tf.Tensor) else max(total, 0)
        pads.append([total // 2, total - total // 2])
        crops.append((n + total - k) // 2 * 2 + k)  # rows the stride reaches: even, as space_to_depth needs
    x = tf.pad(x, pads + [[0, 0]]) if padding == "same" else x
    x = tf.nn.space_to_depth(x[:, :crops[0], :crops[1], :], 2)
    kernel = _space_to_depth_kernel(kernel)
    return thin_conv2d(x, kernel) if thin else tf.nn.conv2d(x, kernel, 1, "VALID")


# the widest input of a stride-2 conv that `space_to_depth_conv2d` serves under TF's default kernels. Forward +
# backward of the 4x4 stride-2 convs, batch 1 (bench/levers.md, `python -m bench.thin_conv`): AVX2 EPYC 64 -> 128 at
# 256 px 79.5 -> 57.9 ms, 256 -> 512 at 32 px 76.5 -> 65.0, 512 -> 512 at 32 px slower (43.8 -> 57.6); AVX-512 EPYC
# the pix2pix PatchGAN D at 256 184 -> 139 ms, the U-Net G 529 -> 492 ms, 512 -> 512 at 16 px slower (23 -> 28).
# Under oneDNN the form is no faster per layer and slows the D (134 -> 165 ms), so it is not used there.
SPACE_TO_DEPTH_MAX_CHANNELS = 256


@keras.saving.register_keras_serializable(package=PACKAGE)
class ThinConv2D(layers.Conv2D):
    """keras Conv2D computed through faster, exactly equivalent ops where TensorFlow's own kernels are slow.

    The same layer, weights, config and outputs; only the ops differ, and only under TF's default kernels:
    - stride 2, an even kernel, at most SPACE_TO_DEPTH_MAX_CHANNELS input channels: space_to_depth and a stride-1
      conv with the kernel rearranged (`space_to_depth_conv2d`), whose gradients are those of the next case.
    - stride 1, 'valid': the gradients as two forward convolutions (`thin_conv2d`). The default kernels take
      ~1.9 s (one thread) for the gradients of a 7x7 64 -> 3 convolution at 256 px, the ResNet G's output layer;
      as two forward convolutions ~0.3 s (bench/README.md, "Levers"); ordinary 3x3 and 4x4 gradients are faster
      too (a 3x3 256 -> 256 at 64 px: dx 108 vs 81 ms, dkernel 98 vs 77 ms on an AVX2 EPYC).
    Under oneDNN both are Conv2D's own op: its gradients of these layers are fast, the stride-2 form is no faster
    there, and its forward conv with the dkernel's 256 x 256 filter aborts the process on an AVX-512 AMD EPYC
    ("Check failed: dtype() == expected_dtype").
    The ResNet G, the PatchGAN D (`conv` returns this layer), the U-Net's and BicycleGAN's encoders' stride-2 convs
    and UNIT's, AVB-GTN's and DRIT's stride-1 convs use it (DRIT's own 1x1 convs stay Conv2D). Other configurations
    use Conv2D's own op.
    """

    def convolution_op(self, inputs, kernel):
        from .kernels import in_effect

        how = reformulation(self, inputs.shape[-1]) if in_effect() == "off" else None
        # a tensor, not the variable: custom_gradient would otherwise want the variable's gradient itself
        if how == "thin":
            return thin_conv2d(inputs, tf.convert_to_tensor(kernel))
        if how == "space_to_depth":
            return space_to_depth_conv2d(inputs, tf.convert_to_tensor(kernel), self.padding, thin=True)
        return super().convolution_op(inputs, kernel)


def reformulation(conv: layers.Conv2D, channels: int) -> str | None:
    """How ThinConv2D computes a Conv2D configured as `conv` on `channels` input channels under TF's default
    kernels: "thin" (stride 1, 'valid'), "space_to_depth" (stride 2, an even kernel, at
    most SPACE_TO_DEPTH_MAX_CHANNELS channels), or None (Conv2D's own op)."""
    if not (tuple(conv.dilation_rate) == (1, 1) and conv.data_format == "channels_last" and conv.groups == 1):
        return None
    if tuple(conv.strides) == (1, 1) and conv.padding == "valid":
        return "thin"
    if (tuple(conv.strides) == (2, 2) and all(k % 2 == 0 for k in conv.kernel_size)
            and channels <= SPACE_TO_DEPTH_MAX_CHANNELS):
        return "space_to_depth"
    return None


@keras.saving.register_keras_serializable(package=PACKAGE)
class InstanceNormalization(layers.GroupNormalization):
    """The reference's non-affine instance norm: GroupNormalization(groups=-1, center=False, scale=False), computed
    in training with oneDNN as one FusedBatchNormV3 over x laid out as [1, H, W, N * C] (batch-norm statistics of
    one example per channel are instance-norm statistics; the op's training gradient is the norm's gradient).

    Forward + backward on the AVX-512 EPYC with oneDNN (`python -m bench.thin_conv`, bench/levers.md):
    1x256x256x64 29 -> 12 ms, 1x64x64x256 6 -> 4 ms, 2x128x128x128 29 -> 20 ms; the ResNet-9 G at 256 1888 ->
    1789 ms. Inference (`training` false: exports, and TFLite, which has no training-mode batch norm), TF's
    default kernels (no steady gain there) and other configurations keep GroupNormalization's own ops.
    """

    def __init__(self, epsilon: float = 1e-5, **kwargs):
        kwargs.update(groups=-1, center=False, scale=False)
        super().__init__(epsilon=epsilon, **kwargs)

    def call(self, inputs, training=None):
        from .kernels import in_effect

        if not (training and in_effect() == "on" and self.axis in (-1, 3) and inputs.shape.rank == 4
                and inputs.dtype == tf.float32):
            return super().call(inputs)
        shape = tf.shape(inputs)
        n, h, w, c = shape[0], shape[1], shape[2], shape[3]
        x = tf.reshape(tf.transpose(inputs, [1, 2, 0, 3]), [1, h, w, n * c])  # for N = 1 no data moves
        ones, zeros = tf.ones([n * c]), tf.zeros([n * c])
        y = tf.raw_ops.FusedBatchNormV3(x=x, scale=ones, offset=zeros, mean=zeros, variance=ones,
                                        epsilon=self.epsilon, is_training=True)[0]
        return tf.transpose(tf.reshape(y, [h, w, n, c]), [2, 0, 1, 3])

    def get_config(self):
        config = super().get_config()
        for key in ("groups", "center", "scale"):
            config.pop(key)
        return config


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
        return InstanceNormalization(epsilon=1e-5)
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
