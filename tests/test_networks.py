"""Architectures: parameter counts equal the reference implementations', shapes at every size, z options."""
import numpy as np
import pytest

from tfgan_i2i.config import preset
from tfgan_i2i.models import build_discriminator, build_encoder, build_generator
from tfgan_i2i.networks import (conv_encoder, patch_discriminator, resnet_encoder, resnet_generator, unet_depth,
                                unet_generator)


def trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


# Counts measured from junyanz/BicycleGAN and pytorch-CycleGAN-and-pix2pix with their defaults (REFERENCE.md).
def test_bicyclegan_256_counts_match_reference():
    c = preset("bicyclegan", image_size=256, input_nc=1, output_nc=3)
    assert trainable(build_generator(c)) == 54_792_579
    assert trainable(build_discriminator(c)) == 3_458_978
    assert trainable(build_encoder(c)) == 2_590_032


def test_bicyclegan_128_counts_match_reference():
    c = preset("bicyclegan", image_size=128, load_size=143, input_nc=1, output_nc=3)
    assert trainable(build_generator(c)) == 42_143_107
    assert trainable(build_discriminator(c)) == 830_626
    assert trainable(build_encoder(c)) == 1_344_080


def test_pix2pix_256_counts_match_reference():
    c = preset("pix2pix", image_size=256)
    assert trainable(build_generator(c)) == 54_413_955
    assert trainable(build_discriminator(c)) == 2_768_705


def test_cyclegan_style_resnet_generator_and_patch_d_counts():
    assert trainable(resnet_generator(3, 3, nz=0, ngf=64, n_blocks=9, norm="instance")) == 11_378_179
    assert trainable(patch_discriminator(3, 64, 3, 1, "instance")) == 2_764_737


def test_instance_norm_is_non_affine_and_batch_norm_affine():
    g_in = unet_generator(32, 3, 3, ngf=4, norm="instance")
    g_bn = unet_generator(32, 3, 3, ngf=4, norm="batch")
    assert not [w for w in g_in.weights if "group_normalization" in w.path]
    names = {w.path.split("/")[-1] for w in g_bn.trainable_weights if "batch_normalization" in w.path}
    assert names == {"gamma", "beta"}


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("where_add", ["input", "all"])
def test_unet_shapes_any_power_of_two(size, where_add):
    g = unet_generator(size, 1, 3, nz=4, ngf=4, norm="instance", where_add=where_add)
    assert unet_depth(size) == int(np.log2(size))
    out = g([np.zeros((2, size, size, 1), "float32"), np.zeros((2, 4), "float32")])
    assert out.shape == (2, size, size, 3)
    assert np.all(np.abs(np.asarray(out)) <= 1.0)


def test_unet_z_everywhere_adds_nz_input_channels_per_level():
    base = trainable(unet_generator(64, 3, 3, nz=0, ngf=4, norm="none"))
    at_input = trainable(unet_generator(64, 3, 3, nz=5, ngf=4, norm="none", where_add="input"))
    everywhere = trainable(unet_generator(64, 3, 3, nz=5, ngf=4, norm="none", where_add="all"))
    # each 4x4 down conv that sees z gains 5 * 16 * out_channels weights
    assert at_input - base == 5 * 16 * 4
    assert everywhere - base == 5 * 16 * sum(4 * min(2**i, 8) for i in range(6))


def test_unet_output_depends_on_z():
    g = unet_generator(32, 3, 3, nz=2, ngf=4, norm="instance", use_dropout=False)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    a = np.asarray(g([x, np.zeros((1, 2), "float32")]))
    b = np.asarray(g([x, np.ones((1, 2), "float32")]))
    assert np.abs(a - b).max() > 1e-6


def test_unet_bilinear_upsampling_and_bad_size():
    g = unet_generator(32, 3, 3, ngf=4, upsample="bilinear")
    assert g(np.zeros((1, 32, 32, 3), "float32")).shape == (1, 32, 32, 3)
    with pytest.raises(ValueError, match="power of two"):
        unet_generator(48)


@pytest.mark.parametrize("where_add", ["input", "all"])
def test_resnet_generator_with_z(where_add):
    g = resnet_generator(3, 3, nz=3, ngf=4, n_blocks=2, where_add=where_add)
    out = g([np.zeros((2, 32, 32, 3), "float32"), np.zeros((2, 3), "float32")])
    assert out.shape == (2, 32, 32, 3)


@pytest.mark.parametrize("size", [32, 64, 96, 256])
def test_encoders_work_at_any_resolution(size):
    for enc in (resnet_encoder(3, 8, 4, n_blocks=4), conv_encoder(3, 8, 4, n_layers=3)):
        mu, logvar = enc(np.zeros((2, size, size, 3), "float32"))
        assert mu.shape == (2, 8) and logvar.shape == (2, 8)


def test_multiscale_patch_d_output_sizes_and_spectral_norm():
    d = patch_discriminator(6, 8, 3, num_D=2, norm="instance")
    outs = d(np.zeros((2, 256, 256, 6), "float32"))
    # 70x70 PatchGAN: 256 -> 30x30 logits; second scale sees the 128 px average-pooled input
    assert [tuple(o.shape) for o in outs] == [(2, 30, 30, 1), (2, 14, 14, 1)]
    sn = patch_discriminator(3, 8, 2, num_D=1, norm="none", spectral_norm=True)
    assert any("spectral" in w.path for w in sn.weights)
    assert sn(np.zeros((1, 32, 32, 3), "float32")).shape == (1, 6, 6, 1)


# --- PyTorch-style padding (the reference's Conv2d / ConvTranspose2d) ------------------------------------------------
def _kernel_and_bias(layers_list, cls):
    layer = next(l for l in layers_list if isinstance(l, cls))
    return np.asarray(layer.kernel), np.asarray(layer.bias)


@pytest.mark.parametrize("kernel,stride,padding,size", [(3, 2, 1, 8), (3, 2, 1, 9), (4, 2, 1, 8), (7, 1, 3, 6),
                                                         (3, 1, 0, 5)])
def test_torch_conv_equals_explicit_zero_pad_then_valid_conv(kernel, stride, padding, size):
    import keras
    import tensorflow as tf

    from tfgan_i2i.layers import apply, torch_conv

    x = np.random.default_rng(1).normal(size=(2, size, size, 3)).astype("float32")
    built = torch_conv(5, kernel, stride, padding, init=keras.initializers.RandomNormal(0, 0.5))
    got = np.asarray(apply(tf.constant(x), *built))
    k, b = _kernel_and_bias(built, keras.layers.Conv2D)
    pad = [[0, 0], [padding, padding], [padding, padding], [0, 0]]
    want = tf.nn.conv2d(tf.pad(x, pad), k, stride, "VALID").numpy() + b
    out = (size + 2 * padding - kernel) // stride + 1  # PyTorch's Conv2d output size
    assert got.shape == (2, out, out, 5)
    np.testing.assert_allclose(got, want, atol=1e-5)


def _explicit_transpose(x, kernel, bias, stride, padding, output_padding):
    """PyTorch's ConvTranspose2d by its definition: zero-insert the input (stride), pad k-1-p before and
    k-1-p+output_padding after, correlate at stride 1 with the spatially flipped kernel."""
    import tensorflow as tf

    n, h, w, c = x.shape
    k = kernel.shape[0]
    dilated = np.zeros((n, (h - 1) * stride + 1, (w - 1) * stride + 1, c), "float32")
    dilated[:, ::stride, ::stride] = x
    before, after = k - 1 - padding, k - 1 - padding + output_padding
    padded = np.pad(dilated, [(0, 0), (before, after), (before, after), (0, 0)])
    flipped = np.transpose(kernel[::-1, ::-1], (0, 1, 3, 2))  # Keras (kh, kw, out, in) -> conv (kh, kw, in, out)
    return tf.nn.conv2d(padded, flipped, 1, "VALID").numpy() + bias


@pytest.mark.parametrize("kernel,stride,padding,output_padding,size", [
    (3, 2, 1, 1, 4), (3, 2, 1, 1, 5), (4, 2, 1, 0, 4), (3, 2, 0, 1, 4), (5, 3, 2, 2, 3), (3, 1, 1, 0, 4)])
def test_torch_conv_transpose_equals_explicit_dilate_pad_flip(kernel, stride, padding, output_padding, size):
    import keras
    import tensorflow as tf

    from tfgan_i2i.layers import apply, torch_conv_transpose

    x = np.random.default_rng(2).normal(size=(2, size, size, 3)).astype("float32")
    built = torch_conv_transpose(4, kernel, stride, padding, output_padding,
                                 init=keras.initializers.RandomNormal(0, 0.5))
    got = np.asarray(apply(tf.constant(x), *built))
    k, b = _kernel_and_bias(built, keras.layers.Conv2DTranspose)
    assert k.shape == (kernel, kernel, 4, 3)
    out = (size - 1) * stride - 2 * padding + kernel + output_padding  # PyTorch's ConvTranspose2d output size
    assert got.shape == (2, out, out, 4)
    np.testing.assert_allclose(got, _explicit_transpose(x, k, b, stride, padding, output_padding), atol=1e-5)


def test_tf_same_transpose_is_the_reference_shifted_by_one_pixel():
    # why the helper exists: k3 s2 'same' crops the full output (2n + 1) at the end, PyTorch (p=1, op=1) at the start
    import keras
    import tensorflow as tf

    from tfgan_i2i.layers import apply, torch_conv_transpose

    x = tf.constant(np.random.default_rng(3).normal(size=(1, 4, 4, 2)).astype("float32"))
    built = torch_conv_transpose(2, 3, 2, 1, 1)
    ours = np.asarray(apply(x, *built))
    same = keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same")
    same(x)
    same.set_weights(built[0].get_weights())
    theirs = np.asarray(same(x))
    np.testing.assert_allclose(ours[:, :-1, :-1], theirs[:, 1:, 1:], atol=1e-6)
    assert np.abs(ours - theirs).max() > 1e-3


def _explicit_resnet_forward(g, x):
    """The reference ResnetGenerator (instance norm, 2 down-samplings, its blocks, no z) written out with tf.nn ops
    and g's weights: reflect-pad convs, Conv2d(3, 2, p=1) and ConvTranspose2d(3, 2, p=1, op=1)."""
    import keras
    import tensorflow as tf

    convs = [l for l in g.layers if isinstance(l, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))]
    weights = iter([(np.asarray(l.kernel), np.asarray(l.bias)) for l in convs])

    def inorm(h):
        mean, var = tf.nn.moments(h, axes=[1, 2], keepdims=True)
        return (h - mean) / tf.sqrt(var + 1e-5)

    def conv(h, stride=1, reflect=0, zero=0):
        k, b = next(weights)
        if reflect:
            h = tf.pad(h, [[0, 0], [reflect, reflect], [reflect, reflect], [0, 0]], mode="REFLECT")
        h = tf.pad(h, [[0, 0], [zero, zero], [zero, zero], [0, 0]])
        return tf.nn.conv2d(h, k, stride, "VALID") + b

    h = tf.nn.relu(inorm(conv(x, reflect=3)))
    for _ in range(2):
        h = tf.nn.relu(inorm(conv(h, stride=2, zero=1)))
    n_blocks = (len(convs) - 5) // 2
    for _ in range(n_blocks):
        h = h + inorm(conv(tf.nn.relu(inorm(conv(h, reflect=1))), reflect=1))
    for _ in range(2):
        k, b = next(weights)
        h = tf.nn.relu(inorm(_explicit_transpose(h.numpy(), k, b, 2, 1, 1)))
    return tf.tanh(conv(h, reflect=3)).numpy()


def test_resnet_generator_pads_as_the_reference():
    g = resnet_generator(3, 3, nz=0, ngf=4, n_blocks=2, norm="instance", init_gain=0.3)
    x = np.random.default_rng(4).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(g(x)), _explicit_resnet_forward(g, x), atol=1e-5)
    # odd sizes too: Conv2d(3, 2, p=1) maps 15 -> 8 -> 4, the up-convs 4 -> 8 -> 16
    odd = np.random.default_rng(5).uniform(-1, 1, (1, 15, 15, 3)).astype("float32")
    assert g(odd).shape == (1, 16, 16, 3)
    np.testing.assert_allclose(np.asarray(g(odd)), _explicit_resnet_forward(g, odd), atol=1e-5)


def test_generators_use_the_replica_aware_dropout():
    import keras

    from tfgan_i2i.layers import Dropout

    for g in (unet_generator(64, 3, 3, ngf=2, use_dropout=True), resnet_generator(3, 3, ngf=2, n_blocks=2,
                                                                                 use_dropout=True)):
        drops = [l for l in g.layers if isinstance(l, keras.layers.Dropout)]
        assert drops and all(isinstance(l, Dropout) for l in drops), g.name
