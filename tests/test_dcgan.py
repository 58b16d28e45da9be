"""ConditionalDCGAN: one fit step updates G and D; the mode-seeking term is on only with lambda_ms > 0."""
import numpy as np
import pytest
import tensorflow as tf

from tfgan_i2i.models import MODELS, build_model
from tfgan_i2i.models.dcgan import ConditionalDCGAN, dcgan_config


def _data(rng, n=8):
    x = rng.uniform(-1, 1, (n, 32, 32, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, rng.integers(0, 10, n).astype("int32"))).batch(n)


@pytest.mark.parametrize("lambda_ms", [0.0, 1.0])
def test_one_step_changes_g_and_d(rng, lambda_ms):
    model = ConditionalDCGAN(dcgan_config(lambda_ms=lambda_ms, output_nc=1, ngf=8, ndf=8, nz=16))
    model.compile()
    before = {n: [w.numpy().copy() for w in net.trainable_weights] for n, net in model.nets.items()}
    history = model.fit(_data(rng), epochs=1, verbose=0).history
    for name, net in model.nets.items():
        assert any(not np.allclose(a, w.numpy()) for a, w in zip(before[name], net.trainable_weights)), name
    assert ("G_ms" in history) == (lambda_ms > 0)
    if lambda_ms:
        assert history["G_ms"][0] > 0


def test_sample_shapes():
    model = ConditionalDCGAN(dcgan_config(output_nc=1, ngf=8, ndf=8, nz=16))
    out = model.sample(np.array([0, 3, 9]), k=4, seed=1)
    assert tuple(out.shape) == (3, 4, 32, 32, 1)
    assert not np.allclose(out[:, 0], out[:, 1])  # different codes -> different images
    np.testing.assert_allclose(out, model.sample(np.array([0, 3, 9]), k=4, seed=1), atol=1e-6)


def test_registry_and_presets():
    assert MODELS["dcgan"] is ConditionalDCGAN and MODELS["dcgan-ms"] is ConditionalDCGAN
    model = build_model("dcgan-ms", ngf=8, ndf=8, nz=16)
    assert isinstance(model, ConditionalDCGAN) and model.config.lambda_ms == 1.0 and model.num_classes == 10
    assert build_model("dcgan", ngf=8, ndf=8).config.lambda_ms == 0.0
