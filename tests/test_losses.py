"""Losses against numbers worked out by hand (arithmetic in the comments), per-example shapes and distribution."""
import math
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_i2i import losses


def t(values, shape=None):
    """float32 tensor from nested lists, optionally reshaped."""
    x = tf.constant(values, tf.float32)
    return tf.reshape(x, shape) if shape is not None else x


def close(actual, expected, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected, np.float64), rtol=rtol, atol=atol)


# Two examples of 1x2x2x1-per-example logit maps (batch 2, 2x2 spatial, 1 channel).
# Example 0: real r = [0, 1, -1, 2], fake f = [0, -1, 1, 3]. Example 1: all zeros.
REAL = t([[0, 1, -1, 2], [0, 0, 0, 0]], (2, 2, 2, 1))
FAKE = t([[0, -1, 1, 3], [0, 0, 0, 0]], (2, 2, 2, 1))


def softplus(v):
    return math.log(1.0 + math.exp(v))


# ----------------------------------------------------------------------------- GAN losses, single scale
def test_vanilla_d_loss_by_hand():
    # BCE(l, 1) = -log sigmoid(l) = log(1 + e^-l);  BCE(l, 0) = -log(1 - sigmoid(l)) = log(1 + e^l).
    real_term = (softplus(-0) + softplus(-1) + softplus(1) + softplus(-2)) / 4
    fake_term = (softplus(0) + softplus(-1) + softplus(1) + softplus(3)) / 4
    # Example 1: logits 0 everywhere -> log 2 for the real term and log 2 for the fake term.
    expected = [real_term + fake_term, 2 * math.log(2)]
    out = losses.gan_d_loss("vanilla", REAL, FAKE)
    assert out.shape == (2,)
    close(out, expected)


def test_vanilla_g_loss_by_hand():
    # Non-saturating: mean -log sigmoid(f) = mean log(1 + e^-f) over f = [0, -1, 1, 3].
    expected0 = (softplus(0) + softplus(1) + softplus(-1) + softplus(-3)) / 4
    out = losses.gan_g_loss("vanilla", FAKE)
    assert out.shape == (2,)
    close(out, [expected0, math.log(2)])


def test_lsgan_by_hand():
    # D: (r-1)^2 = [1, 0, 4, 1] -> 1.5; f^2 = [0, 1, 1, 9] -> 2.75; total 4.25.
    #    Example 1: (0-1)^2 = 1 -> 1, and 0 -> total 1.
    close(losses.gan_d_loss("lsgan", REAL, FAKE), [4.25, 1.0])
    # G: (f-1)^2 = [1, 4, 0, 4] -> 2.25; example 1: 1.
    close(losses.gan_g_loss("lsgan", FAKE), [2.25, 1.0])


def test_hinge_by_hand():
    # D: relu(1-r) = [1, 0, 2, 0] -> 0.75; relu(1+f) = [1, 0, 2, 4] -> 1.75; total 2.5.
    #    Example 1: 1 + 1 = 2.
    close(losses.gan_d_loss("hinge", REAL, FAKE), [2.5, 2.0])
    # G: -mean f = -(0 - 1 + 1 + 3)/4 = -0.75; example 1: 0.
    close(losses.gan_g_loss("hinge", FAKE), [-0.75, 0.0])


def test_wgangp_by_hand():
    # D: mean f - mean r = 3/4 - 2/4 = 0.25; G: -mean f = -0.75. Example 1: 0 both.
    close(losses.gan_d_loss("wgangp", REAL, FAKE), [0.25, 0.0])
    close(losses.gan_g_loss("wgangp", FAKE), [-0.75, 0.0])


def test_unknown_mode_lists_the_modes():
    with pytest.raises(ValueError, match="vanilla, lsgan, hinge, wgangp"):
        losses.gan_d_loss("wgan", REAL, FAKE)
    with pytest.raises(ValueError, match="vanilla, lsgan, hinge, wgangp"):
        losses.gan_g_loss("LSGAN ", FAKE)


# ----------------------------------------------------------------------------- GAN losses, multi-scale
def test_multiscale_sums_over_scales():
    # Second scale: one 1x1 logit per example. Example 0: r = 3, f = -2; example 1: r = 1, f = 0.
    real2 = t([3, 1], (2, 1, 1, 1))
    fake2 = t([-2, 0], (2, 1, 1, 1))
    # lsgan D scale 2: ex0 (3-1)^2 + (-2)^2 = 8, ex1 0 + 0 = 0. Scale 1 from above: [4.25, 1].
    out = losses.gan_d_loss("lsgan", [REAL, real2], [FAKE, fake2])
    assert out.shape == (2,)
    close(out, [4.25 + 8.0, 1.0 + 0.0])
    # lsgan G scale 2: ex0 (-2-1)^2 = 9, ex1 (0-1)^2 = 1. Scale 1: [2.25, 1].
    close(losses.gan_g_loss("lsgan", (FAKE, fake2)), [2.25 + 9.0, 1.0 + 1.0])
    # vanilla G scale 2: ex0 log(1 + e^2), ex1 log 2 -- added to the single-scale value.
    single = losses.gan_g_loss("vanilla", FAKE).numpy()
    close(losses.gan_g_loss("vanilla", [FAKE, fake2]), single + [softplus(2), math.log(2)])


def test_multiscale_mismatch_raises():
    with pytest.raises(ValueError):
        losses.gan_d_loss("lsgan", [REAL, REAL], [FAKE])
    with pytest.raises(ValueError):
        losses.gan_d_loss("lsgan", [REAL], FAKE)


def test_gan_losses_trace_with_unknown_batch_and_half_precision():
    spec = tf.TensorSpec((None, None, None, 1), tf.float32)

    @tf.function(input_signature=[spec, spec])
    def d(real, fake):
        return losses.gan_d_loss("vanilla", [real, real[:, ::2, ::2]], [fake, fake[:, ::2, ::2]])

    out = d(tf.zeros((3, 4, 4, 1)), tf.zeros((3, 4, 4, 1)))
    # Each scale: log 2 + log 2 at logit 0; two scales -> 4 log 2.
    close(out, [4 * math.log(2)] * 3)
    half = losses.gan_g_loss("lsgan", tf.cast(FAKE, tf.float16))
    assert half.dtype == tf.float32
    close(half, [2.25, 1.0])


# ----------------------------------------------------------------------------- gradient penalty
W = t([3, 0, 4, 0], (1, 2, 2, 1))  # ||W|| = sqrt(9 + 16) = 5


def test_gradient_penalty_linear_critic_is_exact():
    # f(x) = sum(W * x) has gradient W for every x_hat, so the penalty is (5 - 1)^2 = 16 whatever eps is.
    real = tf.random.normal((3, 2, 2, 1), seed=1)
    fake = tf.random.normal((3, 2, 2, 1), seed=2)
    critic = lambda x: x * W  # noqa: E731  a (batch, 2, 2, 1) "logit map"; the penalty sums it
    out = losses.gradient_penalty(critic, real, fake)
    assert out.shape == (3,)
    close(out, [16.0] * 3, rtol=1e-5)
    close(losses.gradient_penalty(critic, real, fake, seed=7), [16.0] * 3, rtol=1e-5)


def test_gradient_penalty_sums_scales():
    # Critic returns two scales: x*W1 as a map and sum(x*W2) per example. Gradient = W1 + W2 = [1, 2, 0, 2],
    # norm sqrt(1 + 4 + 0 + 4) = 3, penalty (3 - 1)^2 = 4.
    w1 = t([1, 0, 0, 0], (1, 2, 2, 1))
    w2 = t([0, 2, 0, 2], (1, 2, 2, 1))
    critic = lambda x: [x * w1, tf.reduce_sum(x * w2, axis=[1, 2], keepdims=True)]  # noqa: E731
    out = losses.gradient_penalty(critic, tf.ones((2, 2, 2, 1)), tf.zeros((2, 2, 2, 1)))
    close(out, [4.0, 4.0])


def test_gradient_penalty_eps_is_uniform_per_example():
    # 1-d inputs, real = 1, fake = 0: x_hat = eps. Critic 0.5 x^2 has gradient x_hat = eps in [0, 1],
    # so penalty = (eps - 1)^2 and eps = 1 - sqrt(penalty).
    out = losses.gradient_penalty(lambda x: 0.5 * tf.square(x), tf.ones((64, 1)), tf.zeros((64, 1)), seed=3)
    eps = 1.0 - np.sqrt(out.numpy())
    assert np.all(eps >= -1e-6) and np.all(eps <= 1 + 1e-6)
    assert np.std(eps) > 0.1  # one draw per example, not a shared scalar
    # An int seed repeats; a SeedGenerator advances.
    again = losses.gradient_penalty(lambda x: 0.5 * tf.square(x), tf.ones((64, 1)), tf.zeros((64, 1)), seed=3)
    close(again, out)
    gen = keras.random.SeedGenerator(5)
    a = losses.gradient_penalty(lambda x: 0.5 * tf.square(x), tf.ones((64, 1)), tf.zeros((64, 1)), seed=gen)
    b = losses.gradient_penalty(lambda x: 0.5 * tf.square(x), tf.ones((64, 1)), tf.zeros((64, 1)), seed=gen)
    assert not np.allclose(a, b)


def test_gradient_penalty_second_order_in_tf_function():
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w|| = 2 * 4 * [3, 0, 4, 0] / 5 = [4.8, 0, 6.4, 0] per example.
    w = tf.Variable(W)

    @tf.function
    def step(real, fake):
        with tf.GradientTape() as tape:
            gp = losses.gradient_penalty(lambda x: x * w, real, fake)
            total = tf.reduce_sum(gp)  # batch of 2 -> twice the per-example gradient
        return gp, tape.gradient(total, w)

    gp, grad = step(tf.random.normal((2, 2, 2, 1)), tf.random.normal((2, 2, 2, 1)))
    close(gp, [16.0, 16.0])
    close(tf.reshape(grad, [-1]), [9.6, 0.0, 12.8, 0.0], rtol=1e-5)


# ----------------------------------------------------------------------------- reconstruction / latent
def test_l1_cycle_identity_by_hand():
    # Example 0: |[1, 2, 3, 4] - [0, 0, 5, 4]| = [1, 2, 2, 0] -> 5/4 = 1.25. Example 1: identical -> 0.
    x = t([[1, 2, 3, 4], [1, 1, 1, 1]], (2, 2, 2, 1))
    y = t([[0, 0, 5, 4], [1, 1, 1, 1]], (2, 2, 2, 1))
    for fn in (losses.l1_loss, losses.cycle_loss, losses.identity_loss):
        out = fn(x, y)
        assert out.shape == (2,)
        close(out, [1.25, 0.0])


def test_kl_loss_by_hand():
    zeros = tf.zeros((3, 8))
    out = losses.kl_loss(zeros, zeros)
    assert out.shape == (3,)
    close(out, [0.0] * 3)
    # mu = [1, 2], logvar = [0, log 2]:
    #   j=1: 1 + 0 - 1 - e^0 = -1;  j=2: 1 + log 2 - 4 - 2 = -5 + log 2;  sum = -6 + log 2
    #   KL = -0.5 * (-6 + log 2) = 3 - 0.5 log 2   (summed over nz, not averaged)
    mu = t([[1, 2], [0, 0]])
    logvar = t([[0, math.log(2)], [0, 0]])
    close(losses.kl_loss(mu, logvar), [3 - 0.5 * math.log(2), 0.0])


def test_latent_l1_by_hand():
    # |[0.5, -1, 2] - [0, 1, 2]| = [0.5, 2, 0] -> 2.5 / 3.
    out = losses.latent_l1_loss(t([[0.5, -1, 2]]), t([[0, 1, 2]]))
    assert out.shape == (1,)
    close(out, [2.5 / 3])


def test_mode_seeking_by_hand():
    # Example 0: mean|fake1 - fake2| = mean [1, 2, 3, 2] = 2; mean|z1 - z2| = mean [1, 3] = 2;
    #            ratio 1 -> 1 / (1 + 1e-5).
    # Example 1: mean|fake diff| = 0.5; mean|z diff| = mean [2, 2] = 2; ratio 0.25 -> 1 / (0.25 + 1e-5).
    fake1 = tf.zeros((2, 2, 2, 1))
    fake2 = t([[1, 2, 3, 2], [0.5, 0.5, 0.5, 0.5]], (2, 2, 2, 1))
    z1 = t([[0, 0], [1, 1]])
    z2 = t([[1, 3], [-1, 3]])
    out = losses.mode_seeking_loss(fake1, fake2, z1, z2)
    assert out.shape == (2,)
    close(out, [1 / (1 + 1e-5), 1 / (0.25 + 1e-5)])
    # eps is configurable: with eps = 1, example 0 -> 1 / (1 + 1) = 0.5.
    close(losses.mode_seeking_loss(fake1, fake2, z1, z2, eps=1.0)[0], 0.5)


# ----------------------------------------------------------------------------- averaging
def test_average_without_strategy():
    per_example = t([1, 2, 3, 6])
    close(losses.average(per_example), 3.0)  # 12 / 4
    close(losses.average(per_example, global_batch_size=6), 2.0)  # 12 / 6


_MIRRORED_SNIPPET = textwrap.dedent(
    """
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfgan_i2i import losses

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    shards = [tf.constant([1.0, 2.0]), tf.constant([3.0, 10.0])]  # global batch 4, global mean 16 / 4 = 4
    per_replica = strategy.experimental_distribute_values_from_function(
        lambda ctx: shards[ctx.replica_id_in_sync_group])

    @tf.function
    def step(x):
        avg = losses.average(x)  # each replica: local sum / 4 -> 0.75 and 3.25
        # lsgan G on logits x - 1 shaped (2, 1, 1, 1): per example (x - 2)^2 -> [1, 0] and [1, 64]; mean 66 / 4
        gan = losses.average(losses.gan_g_loss("lsgan", [tf.reshape(x - 1.0, (-1, 1, 1, 1))]))
        # linear critic 3 * x (gradient norm 3): penalty (3 - 1)^2 = 4 for every example; global mean 4
        gp = losses.average(losses.gradient_penalty(lambda v: 3.0 * v, x[:, None], tf.zeros_like(x)[:, None]))
        return avg, gan, gp

    outs = strategy.run(step, args=(per_replica,))
    print(*[float(strategy.reduce(tf.distribute.ReduceOp.SUM, o, axis=None)) for o in outs])
    """
)


def test_average_under_mirrored_strategy_is_global_mean():
    # Own process so the 2 logical CPUs do not leak into other tests; cwd = repo root to import this checkout.
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", _MIRRORED_SNIPPET], capture_output=True, text=True, timeout=120,
                          cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    total, total_gan, total_gp = map(float, proc.stdout.split()[-3:])
    close(total, 4.0)
    close(total_gan, 66.0 / 4)
    close(total_gp, 4.0)
