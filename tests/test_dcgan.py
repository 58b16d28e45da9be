"""ConditionalDCGAN = MSGAN's DCGAN-MS: the reference's networks, init and step (losses summed over two fakes)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_i2i.models import MODELS, build_model
from tfgan_i2i.models.dcgan import ConditionalDCGAN, dcgan_config

TINY = dict(nz=3, ngf=4, ndf=4, extra={"num_classes": 3})  # 32 px, like the reference


def _data(rng, n=8, size=32, classes=10):
    x = rng.uniform(-1, 1, (n, size, size, 3)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, rng.integers(0, classes, n).astype("int32"))).batch(n)


def _params(net):
    return sum(int(np.prod(v.shape)) for v in net.trainable_variables)


@pytest.mark.parametrize("name", ["dcgan", "dcgan-ms"])
def test_reference_parameter_counts(name):
    model = build_model(name)  # d = 128, nz 100, 10 classes, 32 px, 3 channels
    assert _params(model.G) == 3_531_395
    assert _params(model.D) == 2_658_689


def test_reference_init():
    """Conv weights N(0, 0.02); biases PyTorch 0.4's U(+-1/sqrt(fan_in)); batch norm gamma U(0, 1), beta 0, eps 1e-5."""
    model = build_model("dcgan-ms")
    kernel, bias = model.G.get_layer("deconv2").get_weights()   # ConvT(512 -> 256): fan_in 512 * 16
    assert abs(kernel.std() - 0.02) < 0.001 and abs(kernel.mean()) < 0.001
    bound = 1 / np.sqrt(512 * 16)
    assert np.abs(bias).max() <= bound and np.abs(bias).max() > 0.9 * bound
    kernel, bias = model.D.get_layer("conv1").get_weights()     # Conv(3 + 10 -> 128): fan_in 13 * 16
    assert kernel.shape == (4, 4, 13, 128) and abs(kernel.std() - 0.02) < 0.001
    assert 0.9 / np.sqrt(13 * 16) < np.abs(bias).max() <= 1 / np.sqrt(13 * 16)
    bns = [layer for net in (model.G, model.D) for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 5
    gammas = np.concatenate([bn.gamma.numpy() for bn in bns])
    assert gammas.min() >= 0 and gammas.max() <= 1 and abs(gammas.mean() - 0.5) < 0.03
    for bn in bns:
        assert bn.momentum == pytest.approx(0.9) and bn.epsilon == pytest.approx(1e-5)
        assert not bn.beta.numpy().any()


# --- a NumPy forward pass with PyTorch's conventions (NHWC here, kernels in Keras' layout) -------------------------
def _conv_t(x, kernel, bias, stride, pad):
    """torch ConvTranspose2d(k, stride, pad): scatter every input pixel through the kernel, then crop pad per side."""
    n, h, w, _ = x.shape
    k = kernel.shape[0]
    full = np.zeros((n, (h - 1) * stride + k, (w - 1) * stride + k, kernel.shape[2]))
    for i in range(k):
        for j in range(k):
            full[:, i:i + stride * h:stride, j:j + stride * w:stride] += np.einsum("nhwc,oc->nhwo", x, kernel[i, j])
    size = (h - 1) * stride - 2 * pad + k
    return full[:, pad:pad + size, pad:pad + size] + bias


def _conv(x, kernel, bias, stride, pad):
    """torch Conv2d(k, stride, pad): zero padding, cross-correlation."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    k = kernel.shape[0]
    size = (x.shape[1] - k) // stride + 1
    out = np.zeros((x.shape[0], size, size, kernel.shape[3]))
    for i in range(k):
        for j in range(k):
            out += np.einsum("nhwc,co->nhwo", x[:, i:i + stride * size:stride, j:j + stride * size:stride], kernel[i, j])
    return out + bias


def _bn(x, layer):
    """torch BatchNorm2d in training mode: batch statistics, biased variance."""
    gamma, beta = layer.gamma.numpy(), layer.beta.numpy()
    mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
    return (x - mean) / np.sqrt(var + layer.epsilon) * gamma + beta


def _randomise_bn(net, rng):
    for layer in net.layers:
        if hasattr(layer, "gamma"):
            layer.gamma.assign(rng.uniform(0.5, 1.5, layer.gamma.shape).astype("float32"))
            layer.beta.assign(rng.normal(0, 0.5, layer.beta.shape).astype("float32"))


def test_networks_match_a_pytorch_convention_forward(rng):
    """G and D compute the reference's layers: [z, onehot] -> ConvT(4,1,0) -> ConvT(4,2,1)... and [x, onehot] -> Conv(4,2,1)..."""
    model = ConditionalDCGAN(dcgan_config(**TINY))
    G, D = model.G, model.D
    _randomise_bn(G, rng)
    _randomise_bn(D, rng)
    z = rng.normal(size=(5, 3)).astype("float32")
    y = np.array([0, 1, 2, 1, 0], "int32")
    onehot = np.eye(3)[y]

    h = np.concatenate([z, onehot], 1)[:, None, None, :]
    h = np.maximum(_bn(_conv_t(h, *G.get_layer("deconv1").get_weights(), 1, 0), G.get_layer("deconv1_bn")), 0)
    for i in (2, 3):
        h = np.maximum(_bn(_conv_t(h, *G.get_layer(f"deconv{i}").get_weights(), 2, 1), G.get_layer(f"deconv{i}_bn")), 0)
    expected = np.tanh(_conv_t(h, *G.get_layer("deconv4").get_weights(), 2, 1))
    np.testing.assert_allclose(G([z, y], training=True), expected, atol=2e-5)

    x = rng.uniform(-1, 1, (5, 32, 32, 3)).astype("float32")
    lrelu = lambda t: np.where(t > 0, t, 0.2 * t)  # noqa: E731
    h = np.concatenate([x, np.broadcast_to(onehot[:, None, None, :], (5, 32, 32, 3))], -1)
    h = lrelu(_conv(h, *D.get_layer("conv1").get_weights(), 2, 1))
    for i in (2, 3):
        h = lrelu(_bn(_conv(h, *D.get_layer(f"conv{i}").get_weights(), 2, 1), D.get_layer(f"conv{i}_bn")))
    expected = _conv(h, *D.get_layer("conv4").get_weights(), 1, 0).reshape(5, 1)
    np.testing.assert_allclose(D([x, y], training=True), expected, atol=2e-5)


# --- the step ------------------------------------------------------------------------------------------------------
def _softplus(t):
    return np.logaddexp(0.0, t)


@pytest.mark.parametrize("lambda_ms", [0.0, 1.0])
def test_one_step_losses_are_the_references(rng, lambda_ms):
    """L_D = sum_j [BCE(D(x), 1) + BCE(D(x_j), 0)], L_G = sum_j BCE(D'(x_j), 1) + lambda_ms / (ratio + 1e-5).

    x1, x2 come from ONE G call on [z1; z2] (batch norm over both), D' is D after its step, ratio uses batch means.
    """
    model = ConditionalDCGAN(dcgan_config(lambda_ms=lambda_ms, **TINY))
    model.compile()
    n = 4
    x = rng.uniform(-1, 1, (n, 32, 32, 3)).astype("float32")
    y = np.array([0, 2, 1, 2], "int32")
    z1, z2 = (rng.normal(size=(n, 3)).astype("float32") for _ in range(2))
    codes = iter([z1, z2])
    model.random_z = lambda count, seed=None: tf.constant(next(codes))

    fakes = model.G([np.concatenate([z1, z2]), np.concatenate([y, y])], training=True).numpy()
    f1, f2 = fakes[:n], fakes[n:]
    separate = model.G([z1, y], training=True).numpy()
    assert not np.allclose(separate, f1, atol=1e-4)  # so the test can tell one G call from two
    d = lambda images: model.D([images, y], training=True).numpy()[:, 0]  # noqa: E731
    expected_d = np.mean(2 * _softplus(-d(x)) + _softplus(d(f1)) + _softplus(d(f2)))

    logs = {k: float(v) for k, v in model.train_step((tf.constant(x), tf.constant(y))).items()}

    expected_g = np.mean(_softplus(-d(f1)) + _softplus(-d(f2)))  # D after its update
    assert logs["D"] == pytest.approx(expected_d, rel=1e-4)
    assert logs["G_GAN"] == pytest.approx(expected_g, rel=1e-4)
    if lambda_ms:
        ratio = np.abs(f2 - f1).mean() / np.abs(z2 - z1).mean()
        assert logs["G_ms"] == pytest.approx(lambda_ms / (ratio + 1e-5), rel=1e-4)
    else:
        assert "G_ms" not in logs


@pytest.mark.parametrize("lambda_ms", [0.0, 1.0])
def test_one_fit_step_changes_g_and_d(rng, lambda_ms):
    model = ConditionalDCGAN(dcgan_config(lambda_ms=lambda_ms, **TINY))
    model.compile()
    before = {n: [w.numpy().copy() for w in net.trainable_weights] for n, net in model.nets.items()}
    history = model.fit(_data(rng, classes=3), epochs=1, verbose=0).history
    for name, net in model.nets.items():
        assert any(not np.allclose(a, w.numpy()) for a, w in zip(before[name], net.trainable_weights)), name
    assert ("G_ms" in history) == (lambda_ms > 0)


def test_translate_and_sample_use_the_test_time_generator(rng):
    """translate/sample go through infer(): with an EMA the EMA weights, not the raw ones."""
    model = ConditionalDCGAN(dcgan_config(ema_decay=0.5, **TINY))
    model.compile()
    model.fit(_data(rng, classes=3), epochs=1, verbose=0)
    labels = np.array([0, 1, 2], "int32")
    z = rng.normal(size=(3, 3)).astype("float32")
    out = model.translate(labels, z)
    np.testing.assert_allclose(out, model.infer("G", [z, labels]), atol=1e-6)
    assert not np.allclose(out, model.G([z, labels], training=False), atol=1e-4)
    samples = model.sample(labels, k=2, seed=3)
    np.testing.assert_allclose(samples, model.sample(labels, k=2, seed=3), atol=1e-6)


def test_sample_shapes():
    model = ConditionalDCGAN(dcgan_config(**TINY))
    out = model.sample(np.array([0, 2, 1]), k=4, seed=1)
    assert tuple(out.shape) == (3, 4, 32, 32, 3)
    assert not np.allclose(out[:, 0], out[:, 1])  # different codes -> different images


def test_registry_and_presets():
    assert MODELS["dcgan"] is ConditionalDCGAN and MODELS["dcgan-ms"] is ConditionalDCGAN
    model = build_model("dcgan-ms", **TINY)
    assert isinstance(model, ConditionalDCGAN) and model.config.lambda_ms == 1.0 and model.num_classes == 3
    assert build_model("dcgan", **TINY).config.lambda_ms == 0.0
