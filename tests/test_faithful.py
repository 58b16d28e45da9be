"""The faithfulness options of the base classes: PyTorch's Adam, n_critic, R1, EMA, test_mode, config checks."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfgan_i2i.config import PRESETS, ConfigError, preset
from tfgan_i2i.models import build_model
from tfgan_i2i.optimizers import TorchAdam, adam

TINY = dict(image_size=32, load_size=32, ngf=8, ndf=8, nef=8)


def torch_adam_reference(w, grads, lr, b1, b2, eps, wd):
    """torch.optim.Adam's documented algorithm (amsgrad off, maximize off) in numpy, float64."""
    w = np.array(w, np.float64)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        g = np.asarray(g, np.float64) + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - b2**t) + eps
        w = w - lr / (1 - b1**t) * m / denom
    return w


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("wd", [0.0, 1e-2])
def test_torch_adam_matches_pytorch_algorithm(wd, fused):
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(5,)).astype("float32")
    # tiny gradients make the eps placement visible: Keras' Adam would differ from PyTorch's here
    grads = [rng.normal(scale=1e-6, size=(5,)).astype("float32") for _ in range(4)]
    var = tf.Variable(w0)
    opt = TorchAdam(l2=wd, fused=fused, learning_rate=0.1, beta_1=0.5, beta_2=0.999, epsilon=1e-8)
    for g in grads:
        opt.apply_gradients([(tf.constant(g), var)])
    want = torch_adam_reference(w0, grads, 0.1, 0.5, 0.999, 1e-8, wd)
    np.testing.assert_allclose(var.numpy(), want, rtol=0, atol=2e-6)
    if wd == 0:  # Keras' own Adam does not (eps inside the bias correction): the reason for TorchAdam
        var_k = tf.Variable(w0)
        keras_adam = tf.keras.optimizers.Adam(0.1, beta_1=0.5, beta_2=0.999, epsilon=1e-8)
        for g in grads:
            keras_adam.apply_gradients([(tf.constant(g), var_k)])
        assert np.abs(var_k.numpy() - want).max() > 1e-3


def test_fused_update_is_one_kernel_per_variable_and_matches_the_op_by_op_one():
    """The fused path (ResourceApplyAdam, eps rescaled) trains a small conv net to the same weights, clip included."""
    import keras

    def run(fused):
        keras.utils.set_random_seed(1)
        net = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.Dense(2)])
        opt = TorchAdam(l2=1e-4, fused=fused, learning_rate=2e-4, beta_1=0.5, beta_2=0.999, epsilon=1e-8,
                        global_clipnorm=0.5)
        x = tf.random.stateless_normal((2, 8, 8, 3), seed=(0, 1))

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(net(x) - 1.0))
            opt.apply_gradients(zip(tape.gradient(loss, net.trainable_variables), net.trainable_variables))

        for _ in range(5):
            step()
        ops = {op.type for op in step.get_concrete_function().graph.get_operations()}
        return [w.numpy() for w in net.weights], ops

    fused_w, fused_ops = run(True)
    plain_w, plain_ops = run(False)
    assert "ResourceApplyAdam" in fused_ops and "ResourceApplyAdam" not in plain_ops
    for a, b in zip(fused_w, plain_w):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert TorchAdam.from_config(TorchAdam(fused=False).get_config()).fused is False


def test_coupled_weight_decay_moves_weights_with_zero_gradient():
    """PyTorch's L2 with zero gradient still shrinks w by ~lr per step; Keras' decoupled decay by lr * wd * w."""
    var = tf.Variable([1.0, -2.0])
    opt = TorchAdam(l2=1e-4, learning_rate=1e-4, beta_1=0.5, beta_2=0.999, epsilon=1e-8)
    opt.apply_gradients([(tf.zeros(2), var)])
    np.testing.assert_allclose(var.numpy(), [1.0 - 1e-4, -2.0 + 1e-4], rtol=0, atol=1e-7)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_uses_pytorch_epsilon_and_coupled_decay(name):
    c = preset(name)
    for group in ("G", "D", "T"):
        opt = adam(c, group)
        assert isinstance(opt, TorchAdam)
        assert opt.epsilon == pytest.approx(1e-8)
        assert opt.weight_decay is None  # Keras' decoupled decay off; the L2 term carries it
        assert opt.l2 == pytest.approx(0.0 if group == "T" else c.weight_decay)
    if name in ("unit", "unit-master", "avb-gtn", "dcgan", "dcgan-ms"):
        assert c.weight_decay == pytest.approx(1e-4)


def test_decoupled_mode_keeps_keras_weight_decay():
    opt = adam(preset("unit", weight_decay_mode="decoupled"), "G")
    assert opt.l2 == 0.0 and opt.weight_decay == pytest.approx(1e-4)


def test_learning_rate_per_group():
    c = preset("avb-gtn", lr_D=3e-4)
    assert adam(c, "G").learning_rate.numpy() == pytest.approx(1e-4)
    assert adam(c, "D").learning_rate.numpy() == pytest.approx(3e-4)
    assert adam(c, "T").learning_rate.numpy() == pytest.approx(1e-3)  # AVB: the adversary's own rate, 10x


def test_wgangp_with_batch_norm_discriminator_refused():
    with pytest.raises(ConfigError, match="wgangp.*batch"):
        preset("pix2pix", gan_mode="wgangp", batch_size=4)
    preset("pix2pix", gan_mode="wgangp", batch_size=1)              # one example: the penalty is per example
    preset("pix2pix", gan_mode="wgangp", batch_size=4, d_norm="instance")


@pytest.mark.parametrize("field,value", [("n_critic", 0), ("ema_decay", 1.0), ("lambda_r1", -1.0), ("lr_T", 0.0),
                                         ("test_mode", "inference"), ("lr_policy", "cosine")])
def test_bad_faithfulness_options_refused(field, value):
    with pytest.raises(ConfigError, match=field):
        preset("bicyclegan", **{field: value})


def _pairs(n=6, size=32, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.uniform(-1, 1, (n, size, size, 3)).astype("float32")
    B = rng.uniform(-1, 1, (n, size, size, 3)).astype("float32")
    return A, B, tf.data.Dataset.from_tensor_slices((A, B)).batch(1)


def test_n_critic_updates_generator_every_nth_step():
    A, B, ds = _pairs()
    model = build_model("pix2pix-noise", gan_mode="wgangp", n_critic=3, **TINY)
    model.compile()
    model.fit(ds, epochs=1, verbose=0)
    iters = {name: int(opt.iterations.numpy()) for name, opt in model.optimizers_by_name.items()}
    assert iters == {"G": 2, "D": 6}


def test_r1_penalty_in_d_loss_by_hand():
    model = build_model("bicyclegan", lambda_r1=2.0, **TINY)
    A, B, _ = _pairs(2)
    real = tf.constant(B)
    fake = tf.constant(A)
    with_r1 = model.d_loss(model.D, real, fake).numpy()
    with tf.GradientTape() as tape:
        tape.watch(real)
        total = tf.add_n([tf.reduce_sum(o) for o in model.D(real, training=True)])
    grad = tape.gradient(total, real).numpy()
    r1 = 0.5 * (grad**2).reshape(2, -1).sum(1)
    plain = build_model("bicyclegan", **TINY)
    plain.D.set_weights(model.D.get_weights())
    without = plain.d_loss(plain.D, real, fake).numpy()
    np.testing.assert_allclose(with_r1 - without, 2.0 * r1, rtol=1e-4, atol=1e-6)
    assert (r1 > 0).all()


def test_ema_tracks_generator_and_is_used_at_test_time():
    A, B, ds = _pairs(4)
    decay = 0.5
    model = build_model("bicyclegan", ema_decay=decay, **TINY)
    model.compile()
    start = [v.numpy().copy() for v in model.G.trainable_variables]
    model.fit(ds.take(1), epochs=1, verbose=0)  # one step: ema = d * w0 + (1 - d) * w1
    for v, w0 in zip(model.G.trainable_variables, start):
        np.testing.assert_allclose(model.ema_weights[id(v)].numpy(), decay * w0 + (1 - decay) * v.numpy(), atol=1e-6)
    z = tf.zeros((1, model.config.nz))
    a = tf.constant(A[:1])
    raw = model.G([a, z], training=False).numpy()
    ema_weights = [model.ema_weights[id(v)] for v in model.G.trainable_variables]
    want, _ = model.G.stateless_call(ema_weights, model.G.non_trainable_variables, [a, z], training=False)
    got = model.translate(a, z=z).numpy()
    np.testing.assert_allclose(got, want.numpy(), atol=1e-6)
    assert np.abs(got - raw).max() > 1e-6  # the EMA weights, not the raw ones


def _pix2pix_64(**kw):
    return build_model("pix2pix", image_size=64, load_size=64, ngf=4, ndf=4, **kw)


def test_pix2pix_test_mode_train_keeps_dropout_and_batch_statistics():
    model = _pix2pix_64()
    assert model.config.test_mode == "train"  # the pix2pix paper and its test script
    A = np.random.default_rng(1).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    stats = [v.numpy().copy() for v in model.G.non_trainable_variables]
    first, second = model.translate(A).numpy(), model.translate(A).numpy()
    assert np.abs(first - second).max() > 1e-4  # dropout on: a new mask per call
    for v, before in zip(model.G.non_trainable_variables, stats):
        if "seed_generator" not in v.path:
            np.testing.assert_array_equal(v.numpy(), before)  # running statistics untouched
    no_dropout = _pix2pix_64(use_dropout=False)
    np.testing.assert_allclose(no_dropout.translate(A).numpy(), no_dropout.G(A, training=True).numpy(), atol=1e-5)
    assert np.abs(no_dropout.translate(A).numpy() - no_dropout.G(A, training=False).numpy()).max() > 1e-3


def test_test_mode_eval_is_deterministic():
    model = _pix2pix_64(test_mode="eval")
    A = np.random.default_rng(1).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    np.testing.assert_array_equal(model.translate(A).numpy(), model.translate(A).numpy())
    np.testing.assert_allclose(model.translate(A).numpy(), model.G(A, training=False).numpy(), atol=1e-6)


@pytest.mark.parametrize("name", ["bicyclegan", "pix2pix-noise", "msgan", "cyclegan", "unit"])
def test_other_presets_test_in_eval_mode(name):
    assert preset(name).test_mode == "eval"


def test_cli_flags_reach_the_config():
    from tfgan_i2i.cli import build_parser, config_from_args

    args = build_parser().parse_args([
        "train", "--model", "avb-gtn", "--lr-D", "3e-4", "--lr-T", "2e-3", "--ema-decay", "0.999", "--lambda-r1", "10",
        "--n-critic", "5", "--test-mode", "train", "--weight-decay", "0"])
    c = config_from_args(args)
    assert (c.lr_D, c.lr_T, c.ema_decay, c.lambda_r1, c.n_critic, c.test_mode, c.weight_decay) == (
        3e-4, 2e-3, 0.999, 10.0, 5, "train", 0.0)


def test_train_mode_export_keeps_dropout_stochastic(tmp_path):
    from tfgan_i2i.export.savedmodel import export_savedmodel

    model = _pix2pix_64()
    path = export_savedmodel(model, str(tmp_path / "p2p"))
    assert json_load(tmp_path / "p2p" / "config.json")["test_mode"] == "train"  # the export records which
    loaded = tf.saved_model.load(path)
    image = tf.constant(np.random.default_rng(2).integers(0, 256, (1, 64, 64, 3)), tf.uint8)
    first = loaded.signatures["translate"](image=image)["image"].numpy().astype(int)
    second = loaded.signatures["translate"](image=image)["image"].numpy().astype(int)
    assert np.abs(first - second).max() > 0  # dropout stays on in the served graph
    eval_path = export_savedmodel(_pix2pix_64(test_mode="eval"), str(tmp_path / "p2p_eval"))
    served = tf.saved_model.load(eval_path).signatures["translate"]
    np.testing.assert_array_equal(served(image=image)["image"].numpy(), served(image=image)["image"].numpy())


def json_load(path):
    import json

    with open(path, encoding="utf-8") as f:
        return json.load(f)


N_CRITIC_MIRRORED = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from tfgan_i2i.config import ConfigError
from tfgan_i2i.models import build_model
with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
    model = build_model("pix2pix-noise", image_size=32, load_size=32, ngf=4, ndf=4, n_critic=2)
    try:
        model.compile()
    except ConfigError as e:
        print("REFUSED", e)
"""


def test_n_critic_refused_under_two_replicas(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", N_CRITIC_MIRRORED], capture_output=True, text=True, timeout=180)
    assert "REFUSED option n_critic=2 works on one device only" in proc.stdout, proc.stderr[-2000:]
