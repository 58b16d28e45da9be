"""Exact reformulations of layers for speed: same weights and outputs, gradients within float rounding."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_i2i.layers import SubPixelConv2DTranspose, ThinConv2D, torch_conv_transpose, with_subpixel_transposes
from tfgan_i2i.networks import patch_discriminator, resnet_generator, unet_generator
from tfgan_i2i.networks.encoders import conv_encoder, resnet_encoder


def _outputs_and_gradients(layer, x, **call):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, **call)
        loss = sum(tf.reduce_sum(t * tf.random.stateless_normal(tf.shape(t), seed=[1, 2])) for t in tf.nest.flatten(y))
    return [y] + tape.gradient(loss, [x] + layer.trainable_variables)


def _largest(tensors):
    return max(float(tf.reduce_max(tf.abs(t))) for t in tf.nest.flatten(tensors))


def _assert_close(want, got, scale=None):
    """Equal within 1e-5, relative to the largest magnitude (each tensor's, or `scale`) once that exceeds 1."""
    for w, g in zip(tf.nest.flatten(want), tf.nest.flatten(got), strict=True):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=0, atol=1e-5 * max(scale or _largest(w), 1.0))


@pytest.mark.parametrize("batch,size,cin,cout,kernel,bias", [
    (1, 20, 16, 3, 7, True), (3, 13, 5, 2, 3, False), (2, 9, 4, 6, 1, True), (1, 11, 3, 64, 7, True)])
def test_thin_conv_matches_conv2d_outputs_and_gradients(batch, size, cin, cout, kernel, bias, monkeypatch):
    calls = _thin_path_taken(monkeypatch, "off")
    x = tf.random.stateless_normal([batch, size, size + 2, cin], seed=[0, size])
    plain = keras.layers.Conv2D(cout, kernel, padding="valid", use_bias=bias, bias_initializer="random_normal")
    thin = ThinConv2D(cout, kernel, padding="valid", use_bias=bias)
    plain.build(x.shape)
    thin.build(x.shape)
    thin.set_weights(plain.get_weights())
    assert thin.count_params() == plain.count_params()
    for want, got in zip(_outputs_and_gradients(plain, x), _outputs_and_gradients(thin, x)):
        scale = float(tf.reduce_max(tf.abs(want)))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=1e-5 * max(scale, 1.0))
    assert calls  # the reformulated gradients were the ones compared


def _thin_path_taken(monkeypatch, kernels_in_effect: str) -> list:
    """Pretend TensorFlow runs with oneDNN `kernels_in_effect`; returns the list thin_conv2d's calls append to."""
    import tfgan_i2i.kernels
    import tfgan_i2i.layers

    calls, real = [], tfgan_i2i.layers.thin_conv2d
    monkeypatch.setattr(tfgan_i2i.kernels, "in_effect", lambda: kernels_in_effect)
    monkeypatch.setattr(tfgan_i2i.layers, "thin_conv2d", lambda *a: calls.append(1) or real(*a))
    return calls


def test_thin_conv_is_only_used_with_the_default_kernels(monkeypatch):
    # oneDNN's own gradient of the thin conv is fast, and its forward conv with the dkernel's image-sized filter
    # aborts the process at 256 px on an AVX-512 EPYC; so ThinConv2D is Conv2D itself under oneDNN
    calls = _thin_path_taken(monkeypatch, "on")
    x = tf.random.stateless_normal([1, 12, 12, 4], seed=[1, 2])
    thin = ThinConv2D(3, 7)
    _outputs_and_gradients(thin, x)
    assert not calls


def test_thin_conv_other_configurations_use_conv2d_own_op():
    x = tf.random.stateless_normal([2, 12, 12, 4], seed=[3, 4])
    for kwargs in ({"strides": 2}, {"padding": "same"}, {"dilation_rate": 2}):
        plain, thin = keras.layers.Conv2D(3, 3, **kwargs), ThinConv2D(3, 3, **kwargs)
        plain.build(x.shape)
        thin.build(x.shape)
        thin.set_weights(plain.get_weights())
        for want, got in zip(_outputs_and_gradients(plain, x), _outputs_and_gradients(thin, x)):
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)


@pytest.mark.parametrize("kernel,padding", [(4, "same"), (4, "valid"), (2, "valid"), ((2, 4), "same")])
@pytest.mark.parametrize("batch,height,width,cin", [(1, 16, 16, 3), (2, 9, 12, 5), (1, 2, 2, 4)])
@pytest.mark.parametrize("kernels", ["off", "on"])
def test_stride2_space_to_depth_matches_conv2d(kernel, padding, batch, height, width, cin, kernels, monkeypatch):
    """A stride-2 conv with an even kernel (the U-Net's, the PatchGAN D's, BicycleGAN's encoders') under TF's
    default kernels is space_to_depth + a stride-1 thin conv: outputs and gradients are Conv2D's, on even and odd
    sizes, 'same' and 'valid', static and unknown spatial sizes; under oneDNN Conv2D's own op."""
    if padding == "valid" and min(height, width) < 4:
        pytest.skip("no valid output")
    calls = _thin_path_taken(monkeypatch, kernels)
    x = tf.random.stateless_normal([batch, height, width, cin], seed=[2, height])
    plain = keras.layers.Conv2D(6, kernel, strides=2, padding=padding, bias_initializer="random_normal")
    fast = ThinConv2D(6, kernel, strides=2, padding=padding)
    plain.build(x.shape)
    fast.build(x.shape)
    fast.set_weights(plain.get_weights())
    want = _outputs_and_gradients(plain, x)
    _assert_close(want, _outputs_and_gradients(fast, x))
    assert len(calls) == (kernels == "off")
    dynamic = tf.function(lambda t: _outputs_and_gradients(fast, t),
                          input_signature=[tf.TensorSpec([None, None, None, cin])])
    _assert_close(want, dynamic(x))


@pytest.mark.parametrize("kernels", ["off", "on"])
def test_stride2_space_to_depth_only_up_to_its_channel_limit(kernels, monkeypatch):
    import tfgan_i2i.layers
    from tfgan_i2i.layers import SPACE_TO_DEPTH_MAX_CHANNELS

    thin, calls, real = _thin_path_taken(monkeypatch, kernels), [], tfgan_i2i.layers.space_to_depth_conv2d
    monkeypatch.setattr(tfgan_i2i.layers, "space_to_depth_conv2d", lambda *a, **k: calls.append(k) or real(*a, **k))
    for cin in (SPACE_TO_DEPTH_MAX_CHANNELS, SPACE_TO_DEPTH_MAX_CHANNELS + 1):
        ThinConv2D(2, 4, strides=2, padding="same")(tf.zeros([1, 4, 4, cin]))
    ThinConv2D(2, 3, strides=2, padding="same")(tf.zeros([1, 4, 4, 3]))  # an odd kernel: Conv2D's own op
    # with oneDNN Conv2D's own op (the form is no faster there; bench/levers.md)
    assert calls == [{"thin": True}] * (kernels == "off") and len(thin) == (kernels == "off")


@pytest.mark.parametrize("shape", [(1, 9, 7, 5), (3, 8, 8, 4)])
def test_instance_norm_fused_in_training_matches_group_normalization(shape, monkeypatch):
    """InstanceNormalization: in training with oneDNN one FusedBatchNormV3 over [1, H, W, N*C]; its outputs and
    input gradients are GroupNormalization(groups=-1)'s, at batch 1 and 3 and on unknown sizes."""
    import tfgan_i2i.kernels
    from tfgan_i2i.layers import InstanceNormalization, norm_layer

    plain = keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, center=False, scale=False)
    inorm = norm_layer("instance")
    assert isinstance(inorm, InstanceNormalization)
    x = tf.random.stateless_normal(shape, seed=[3, shape[0]]) * 4 + 2
    want = _outputs_and_gradients(plain, x)
    inorm.build(x.shape)
    assert inorm.count_params() == 0 and not inorm.weights
    fused = []
    monkeypatch.setattr(tfgan_i2i.kernels, "in_effect", lambda: "on")
    real = tf.raw_ops.FusedBatchNormV3
    monkeypatch.setattr(tf.raw_ops, "FusedBatchNormV3", lambda **k: fused.append(1) or real(**k))
    _assert_close(want, _outputs_and_gradients(inorm, x, training=True))
    dynamic = tf.function(lambda t: _outputs_and_gradients(inorm, t, training=True),
                          input_signature=[tf.TensorSpec([None, None, None, shape[-1]])])
    _assert_close(want, dynamic(x))
    assert len(fused) == 2
    _assert_close(want[:1], [inorm(x, training=False)])  # inference (exports, TFLite): GroupNormalization's ops
    assert len(fused) == 2
    again = InstanceNormalization.from_config(inorm.get_config())
    assert again.get_config() == inorm.get_config() and again.epsilon == 1e-5 and again.groups == -1


def _plain_build(make, monkeypatch):
    """`make()` as the package built it before the reformulation: each ThinConv2D a keras Conv2D (inside UNIT's
    and DRIT's ResBlock layers too), i.e. the networks whose checkpoints earlier versions wrote."""
    import tfgan_i2i.layers
    from tfgan_i2i.networks import drit, encoders, generators, unit

    with monkeypatch.context() as patch:
        for module in (tfgan_i2i.layers, generators, encoders, unit, drit):
            patch.setattr(module, "ThinConv2D", keras.layers.Conv2D)
        return make()


def _convs(net):
    """Every Conv2D of `net` (not transposed), nested ones included (ResBlock's, SpectralNormalization's)."""
    return [layer for layer in net._flatten_layers(include_self=False) if isinstance(layer, keras.layers.Conv2D)
            and not isinstance(layer, keras.layers.Conv2DTranspose)]


def _reformulated(layer):
    """Whether ThinConv2D reformulates `layer`'s configuration under TF's default kernels (1x1 convs aside: DRIT's
    own stay Conv2D)."""
    from tfgan_i2i.layers import reformulation

    return reformulation(layer, layer.kernel.shape[-2]) is not None and tuple(layer.kernel_size) != (1, 1)


def _unit_encoder():
    from tfgan_i2i.networks.unit import shared_blocks, unit_encoder
    return unit_encoder(3, ngf=4, n_downsample=2, n_res=2, shared=shared_blocks(4, 2, 1), image_size=32)


def _unit_decoder():
    from tfgan_i2i.networks.unit import shared_blocks, unit_decoder
    return unit_decoder(3, ngf=4, n_downsample=2, n_res=2, shared=shared_blocks(4, 2, 1))


def _drit(name):
    from tfgan_i2i.networks import drit
    return {"content-E": lambda: drit.content_encoder(3, ngf=4, n_downsample=2, n_res=2),
            "attribute-E": lambda: drit.attribute_encoder(3, nz=4, nef=4, n_blocks=3),
            "content-D": lambda: drit.content_discriminator(16, n_layers=1)}[name]()


# (network, the input's side)
NETWORKS = {
    "resnet-G": (lambda: resnet_generator(input_nc=3, output_nc=3, ngf=4, n_blocks=2, image_size=32,
                                          norm="instance"), 32),
    "patch-D": (lambda: patch_discriminator(input_nc=6, ndf=4, n_layers=3, image_size=32, norm="instance"), 32),
    "patch-D-spectral": (lambda: patch_discriminator(input_nc=3, ndf=4, n_layers=2, image_size=32,
                                                     spectral_norm=True), 32),
    "unit-E": (_unit_encoder, 32),
    "unit-G": (_unit_decoder, 8),
    "drit-content-E": (lambda: _drit("content-E"), 32),
    "drit-attribute-E": (lambda: _drit("attribute-E"), 32),
    "drit-content-D": (lambda: _drit("content-D"), 16),
    "unet-G": (lambda: unet_generator(input_nc=3, output_nc=3, ngf=4, image_size=32, norm="instance"), 32),
    "resnet-E": (lambda: resnet_encoder(input_nc=3, nz=2, nef=4, n_blocks=3, image_size=32), 32),
    "conv-E": (lambda: conv_encoder(input_nc=3, nz=2, nef=4, n_layers=3, image_size=32), 32),
}


@pytest.mark.parametrize("name", NETWORKS)
def test_networks_thin_convs_match_plain_conv2d_and_share_checkpoints(name, monkeypatch, tmp_path):
    """Every stride-1 'valid' conv wider than 1x1 of the ResNet G (7x7 stem and head, residual 3x3s), the PatchGAN
    D (its 4x4 stride-1 convs), UNIT's E and G (residual blocks, shared ones too; 7x7 stem and head; 5x5 up-convs)
    and DRIT's encoders and content D, and every 4x4 stride-2 conv of up to 256 input channels of the PatchGAN D,
    the U-Net and BicycleGAN's encoders is a ThinConv2D; with TF's default kernels the whole network's outputs
    and gradients are the plain Conv2D network's, and checkpoints of the plain network (earlier versions) restore
    into it."""
    make, side = NETWORKS[name]
    net, plain = make(), _plain_build(make, monkeypatch)
    fast = [layer for layer in _convs(net) if _reformulated(layer)]
    assert fast and all(type(layer) is ThinConv2D for layer in fast)
    assert not [layer for layer in _convs(plain) if type(layer) is ThinConv2D]
    assert plain.count_params() == net.count_params()
    plain.set_weights(net.get_weights())
    calls = _thin_path_taken(monkeypatch, "off")
    x = tf.random.stateless_uniform([2, side, side, net.inputs[0].shape[-1]], seed=[5, 6], minval=-1, maxval=1)
    want, got = _outputs_and_gradients(plain, x), _outputs_and_gradients(net, x)
    assert len(calls) == len(fast)  # each took the reformulated ops (a shared ResBlock: once per call)
    _assert_close(want[:2], got[:2])
    _assert_close(want[2:], got[2:], scale=_largest(want[2:]))  # biases before a norm: zero up to rounding

    tf.train.Checkpoint(net=plain).write(str(tmp_path / "plain"))
    fresh = make()
    tf.train.Checkpoint(net=fresh).read(str(tmp_path / "plain")).assert_consumed()
    _assert_close(plain(x), fresh(x))

    net.save(tmp_path / "net.keras")
    again = keras.saving.load_model(tmp_path / "net.keras")
    assert [type(c) for c in _convs(again)] == [type(c) for c in _convs(net)]
    _assert_close(net(x), again(x))


# the U-Net's up-convolution, and the Conv2DTranspose that torch_conv_transpose builds for the ResNet G's
# ConvTranspose2d(3, 2, padding=1, output_padding=1) (valid, no Keras output_padding, a Cropping2D after it)
UNET_UP = {"kernel_size": 4, "strides": 2, "padding": "same"}
RESNET_UP = {k: v for k, v in torch_conv_transpose(5, 3, 2, 1, 1)[0].get_config().items()
             if k in ("kernel_size", "strides", "padding", "output_padding")}


@pytest.mark.parametrize("config", [UNET_UP, RESNET_UP, {**RESNET_UP, "output_padding": 1}],
                         ids=["unet", "resnet", "valid-op1"])
@pytest.mark.parametrize("batch,height,width,cin,cout,bias", [(1, 8, 8, 3, 5, True), (2, 16, 11, 7, 3, False)])
def test_subpixel_matches_conv2d_transpose_outputs_and_gradients(config, batch, height, width, cin, cout, bias):
    x = tf.random.stateless_normal([batch, height, width, cin], seed=[7, height])
    plain = keras.layers.Conv2DTranspose(cout, **config, use_bias=bias, bias_initializer="random_normal")
    sub = SubPixelConv2DTranspose(cout, **config, use_bias=bias)
    plain.build(x.shape)
    sub.build(x.shape)
    sub.set_weights(plain.get_weights())
    assert sub.count_params() == plain.count_params()
    _assert_close(_outputs_and_gradients(plain, x), _outputs_and_gradients(sub, x))


def _kernel_gradient_by_forward(kwargs, kernel_shape, x, dy):
    """d sum(y * dy) / d kernel of a Conv2DTranspose from its forward op alone: y is linear in the kernel, so entry
    i of the gradient is sum(y(e_i) * dy[..., out channel of e_i]); all basis kernels e_i run as the output
    channels of one plain layer."""
    kh, kw, out, cin = kernel_shape
    n = kh * kw * out * cin
    basis = tf.reduce_sum(tf.reshape(tf.eye(n), [kh, kw, out, cin, n]), axis=2)  # (kh, kw, cin, n)
    layer = keras.layers.Conv2DTranspose(n, use_bias=False, **kwargs)
    layer.build(x.shape)
    layer.set_weights([tf.transpose(basis, [0, 1, 3, 2]).numpy()])
    channel = (np.arange(n) // cin) % out  # the output channel entry i of the kernel feeds
    return tf.reshape(tf.reduce_sum(layer(x) * tf.gather(dy, channel, axis=-1), axis=[0, 1, 2]), kernel_shape)


def _input_gradient_by_forward(layer, x, dy):
    """d sum(y * dy) / dx of a layer linear in x up to its bias, from its forward op alone: all basis inputs e_i
    (x has one example) run as one batch, and entry i is sum((y(e_i) - y(0)) * dy)."""
    n = int(np.prod(x.shape))
    basis = tf.reshape(tf.eye(n), [n, *x.shape[1:]])
    y = layer(basis) - layer(tf.zeros_like(x))
    return tf.reshape(tf.reduce_sum(y * dy, axis=[1, 2, 3]), x.shape)


def test_subpixel_matches_conv2d_transpose_over_kernels_strides_paddings():
    """Outputs and gradients against the plain layer, its gradients derived from its forward op alone: TF's own
    kernel gradient of a 1x1 stride-2 transposed conv is oneDNN's Conv2DBackpropFilter with a 1x1 filter at stride
    2, which on an AVX-512 EPYC (TF 2.21) corrupts the heap ("free(): invalid next size", a crash or a wrong value
    a few tests later) or fails to create its primitive; it was once off by up to 1.2 here while this layer
    matched the by-hand value."""
    x = tf.random.stateless_normal([1, 5, 6, 3], seed=[8, 9])
    for kernel, stride, padding, output_padding in [(1, 2, "same", None), (2, 2, "valid", 1), (3, 3, "same", 2),
                                                    (5, 2, "same", 0), (5, 3, "valid", None), (4, 1, "same", None),
                                                    ((3, 4), 2, "same", (0, 1))]:
        kwargs = {"kernel_size": kernel, "strides": stride, "padding": padding, "output_padding": output_padding}
        plain = keras.layers.Conv2DTranspose(2, bias_initializer="random_normal", **kwargs)
        sub = SubPixelConv2DTranspose(2, **kwargs)
        plain.build(x.shape)
        sub.build(x.shape)
        sub.set_weights(plain.get_weights())
        y = plain(x)
        dy = tf.random.stateless_normal(tf.shape(y), seed=[1, 2])  # as _outputs_and_gradients draws it
        want = [y, _input_gradient_by_forward(plain, x, dy), _kernel_gradient_by_forward(kwargs, plain.kernel.shape,
                                                                                          x, dy),
                tf.reduce_sum(dy, axis=[0, 1, 2])]
        _assert_close(want, _outputs_and_gradients(sub, x))


@pytest.mark.parametrize("kwargs", [{"data_format": "channels_first"}, {"strides": 1, "dilation_rate": 2},
                                    {"strides": (2, 1)}, {"output_padding": 0}])
def test_subpixel_refuses_what_it_cannot_compute_at_build(kwargs):
    layer = SubPixelConv2DTranspose(3, 4, **{"strides": 2, "padding": "same", **kwargs})
    with pytest.raises(ValueError, match="SubPixelConv2DTranspose|Conv2DTranspose itself"):
        layer.build((1, 8, 8, 4))


@pytest.mark.parametrize("make", [lambda: unet_generator(image_size=32, ngf=4, nz=2),
                                  lambda: resnet_generator(ngf=4, n_blocks=1, image_size=32)], ids=["unet", "resnet"])
def test_generators_with_subpixel_transposes_match_and_share_checkpoints(make, tmp_path):
    g = make()
    sub = with_subpixel_transposes(g)
    ups = [layer for layer in sub.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert ups and all(type(layer) is SubPixelConv2DTranspose for layer in ups)
    assert [v.shape for v in sub.weights] == [v.shape for v in g.weights]
    assert [layer.get_config() for layer in ups] == [layer.get_config() for layer in g.layers
                                                     if isinstance(layer, keras.layers.Conv2DTranspose)]
    inputs = tf.random.stateless_uniform([1, 32, 32, 3], seed=[5, 6], minval=-1, maxval=1)
    inputs = [inputs, tf.random.stateless_normal([1, 2], seed=[5, 7])] if len(g.inputs) == 2 else inputs
    want, got = _outputs_and_gradients(g, inputs), _outputs_and_gradients(sub, inputs)
    _assert_close(want[:2], got[:2])
    # a bias before instance norm has a zero gradient, which both compute as rounding noise (~1e-5 where kernel
    # gradients reach ~100), so the weights' gradients are compared at the scale of the network's largest
    _assert_close(want[2:], got[2:], scale=_largest(want[2:]))

    tf.train.Checkpoint(net=g).write(str(tmp_path / "plain"))
    fresh = with_subpixel_transposes(make())
    tf.train.Checkpoint(net=fresh).read(str(tmp_path / "plain")).assert_consumed()
    np.testing.assert_allclose(fresh(inputs).numpy(), g(inputs).numpy(), atol=1e-5)

    sub.save(tmp_path / "sub.keras")
    again = keras.saving.load_model(tmp_path / "sub.keras")
    assert [type(layer) for layer in again.layers] == [type(layer) for layer in sub.layers]
    np.testing.assert_allclose(again(inputs).numpy(), sub(inputs).numpy(), atol=1e-6)
