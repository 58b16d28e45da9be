"""Exact reformulations of layers for speed: same weights and outputs, gradients within float rounding."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_i2i.layers import ThinConv2D
from tfgan_i2i.networks import resnet_generator


def _outputs_and_gradients(layer, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * tf.random.stateless_normal(tf.shape(y), seed=[1, 2]))
    return [y] + tape.gradient(loss, [x] + layer.trainable_variables)


@pytest.mark.parametrize("batch,size,cin,cout,kernel,bias", [
    (1, 20, 16, 3, 7, True), (3, 13, 5, 2, 3, False), (2, 9, 4, 6, 1, True), (1, 11, 3, 64, 7, True)])
def test_thin_conv_matches_conv2d_outputs_and_gradients(batch, size, cin, cout, kernel, bias):
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


def test_thin_conv_other_configurations_use_conv2d_own_op():
    x = tf.random.stateless_normal([2, 12, 12, 4], seed=[3, 4])
    for kwargs in ({"strides": 2}, {"padding": "same"}, {"dilation_rate": 2}):
        plain, thin = keras.layers.Conv2D(3, 3, **kwargs), ThinConv2D(3, 3, **kwargs)
        plain.build(x.shape)
        thin.build(x.shape)
        thin.set_weights(plain.get_weights())
        for want, got in zip(_outputs_and_gradients(plain, x), _outputs_and_gradients(thin, x)):
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)


def test_resnet_generator_head_is_thin_and_keras_round_trips(tmp_path):
    g = resnet_generator(input_nc=3, output_nc=3, ngf=4, n_blocks=1, image_size=32)
    assert isinstance(g.layers[-2], ThinConv2D) and g.layers[-2].kernel.shape == (7, 7, 4, 3)
    x = tf.random.stateless_uniform([1, 32, 32, 3], seed=[5, 6], minval=-1, maxval=1)
    g.save(tmp_path / "g.keras")
    again = keras.saving.load_model(tmp_path / "g.keras")
    assert isinstance(again.layers[-2], ThinConv2D)
    np.testing.assert_allclose(again(x).numpy(), g(x).numpy(), atol=1e-6)
