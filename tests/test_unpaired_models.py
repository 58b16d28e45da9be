"""Unpaired models: shapes, the image history, cycle/identity terms, UNIT weight sharing, the AVB critic, fit steps."""
import numpy as np
import pytest
import tensorflow as tf

import keras
from tfgan_i2i import losses as L
from tfgan_i2i.config import ConfigError, preset
from tfgan_i2i.models import build_model, is_unpaired
from tfgan_i2i.models.image_pool import ImagePool
from tfgan_i2i.networks import patch_discriminator, resnet_generator
from tfgan_i2i.networks.avb import avb_critic
from tfgan_i2i.networks.unit import ms_discriminator, unit_decoder, unit_encoder

TINY = {
    "cyclegan": dict(ngf=4, ndf=4, g_blocks=1, pool_size=3),
    "unit": dict(ngf=4, ndf=4, d_layers=2, num_D=2, n_res=2),
    "unit-master": dict(ngf=4, ndf=4, d_layers=2, num_D=2, n_res=2),
    "avb-gtn": dict(ngf=4, ndf=4, d_layers=2, num_D=2, n_res=2, ntf=4, avb_noise_nc=2),
}


def tiny(name, **kw):
    return build_model(name, image_size=32, load_size=32, **{**TINY[name], **kw})


def batch(n=2, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.uniform(-1, 1, (n, 32, 32, 3)).astype("float32") for _ in range(2))


def snapshot(model):
    return {name: [np.array(v) for v in net.trainable_variables] for name, net in model.nets.items()}


def changed(before, model):
    after = snapshot(model)
    return {name for name in before if any(not np.array_equal(x, y) for x, y in zip(before[name], after[name]))}


# --- registry, presets, parameter counts -----------------------------------------------------------------------
def test_registry_and_presets():
    assert all(is_unpaired(n) for n in ("cyclegan", "unit", "unit-master", "avb-gtn"))
    assert not is_unpaired("pix2pix") and not is_unpaired("bicyclegan")
    paper, master = preset("unit"), preset("unit-master")
    assert (paper.lambda_gan, paper.lambda_recon, paper.lambda_kl, paper.lambda_cycle, paper.lambda_cycle_kl) == (
        10, 100, 0.1, 100, 0.1)
    assert (master.lambda_gan, master.lambda_recon, master.lambda_kl, master.lambda_cycle,
            master.lambda_cycle_kl) == (1, 10, 0.01, 10, 0.01)
    assert preset("avb-gtn").latent_regularizer == "avb"
    assert preset("cyclegan", image_size=128).g_blocks_resolved == 6
    assert preset("cyclegan", image_size=256).g_blocks_resolved == 9
    assert preset("bicyclegan").g_blocks == 9  # paired defaults untouched
    with pytest.raises(ConfigError, match="latent_regularizer"):
        preset("unit", latent_regularizer="vae")
    with pytest.raises(ConfigError, match="n_shared"):
        preset("unit", n_shared=5)


def count(model):
    return int(sum(np.prod(v.shape) for v in model.trainable_variables))


def test_cyclegan_reference_parameter_counts():
    c = preset("cyclegan", image_size=256)
    g = resnet_generator(3, 3, ngf=64, n_blocks=c.g_blocks_resolved, norm="instance")
    d = patch_discriminator(3, 64, c.d_layers_resolved, c.num_D, "instance")
    assert (count(g), count(d)) == (11_378_179, 2_764_737)  # pytorch-CycleGAN-and-pix2pix resnet_9blocks / basic


def test_unit_master_parameter_counts():
    # Counted by hand from UNIT master's layer list (dim 64, 2 down-samplings, 4 res blocks, 3-scale D of 4 layers):
    # encoder 5,385,856 + decoder 5,754,627 (LayerNorm: 2 per channel) = 11,140,483; D 2,757,057 per scale.
    enc, dec = unit_encoder(3, 64, 2, 4), unit_decoder(3, 64, 2, 4)
    assert count(enc) + count(dec) == 11_140_483
    assert count(ms_discriminator(3, 64, 4, 3)) == 3 * 2_757_057


# --- shapes and inference API ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def models():
    return {name: tiny(name) for name in TINY}


@pytest.mark.parametrize("name", list(TINY))
def test_shapes(models, name):
    model = models[name]
    a, b = batch(3)
    assert model.a_to_b(a).shape == (3, 32, 32, 3)
    assert model.b_to_a(b).shape == (3, 32, 32, 3)
    assert model(a).shape == (3, 32, 32, 3)
    there, back = model.cycle(a)
    assert there.shape == back.shape == (3, 32, 32, 3)
    rows = model.cycle_rows(a, b[:2])
    assert len(rows) == 5 and all(len(r) == 3 and r[0].shape == (32, 32, 3) for r in rows)
    np.testing.assert_allclose(rows[0][1], np.asarray(model.translate(a[:1], direction="AtoB"))[0], atol=1e-5)
    s = np.asarray(model.sample(a, 4, seed=1))
    assert s.shape == (3, 4, 32, 32, 3)
    np.testing.assert_array_equal(s, np.asarray(model.sample(a, 4, seed=1)))  # seeded
    if name != "cyclegan":
        assert np.abs(s[:, 0] - s[:, 1]).mean() > 0  # k different posterior draws
        assert model.sample(b, 2, seed=0, direction="BtoA").shape == (3, 2, 32, 32, 3)
    restored = type(model).from_config(model.get_config())
    assert restored.config == model.config


def test_stochastic_cyclegan_samples_differ():
    model = tiny("cyclegan", nz=2, lambda_ms=1.0)
    s = np.asarray(model.sample(batch(2)[0], 3, seed=0))
    assert np.abs(s[:, 0] - s[:, 1]).mean() > 0


# --- the image history -----------------------------------------------------------------------------------------
def test_image_pool_fills_then_swaps_half_the_time_under_a_seed():
    pool = ImagePool(4, (2, 2, 1), seed=3)
    query = tf.function(pool.query)  # as inside a compiled train_step
    first = np.arange(4, dtype="float32").reshape(4, 1, 1, 1) * np.ones((4, 2, 2, 1), "float32")
    np.testing.assert_array_equal(query(first), first)  # filling: the new images come back
    assert int(pool.count.numpy()) == 4
    np.testing.assert_array_equal(pool.images.numpy(), first)

    swapped = 0
    for step in range(50):
        before = set(pool.images.numpy()[:, 0, 0, 0].tolist())
        new = np.full((2, 2, 2, 1), 100.0 + step, "float32")
        new[1] += 0.5
        out = query(new).numpy()[:, 0, 0, 0]
        after = set(pool.images.numpy()[:, 0, 0, 0].tolist())
        for i in range(2):
            if out[i] == new[i, 0, 0, 0]:
                continue
            # a past fake comes back (the batch's first image may already be one) and the new one takes its slot
            assert out[i] in before | {new[0, 0, 0, 0]}
            assert new[i, 0, 0, 0] in after or i == 0
            swapped += 1
    assert 30 <= swapped <= 70  # 100 queries with p = 0.5
    # same seed, same choices
    again = ImagePool(4, (2, 2, 1), seed=3)
    q2 = tf.function(again.query)
    q2(first)
    fresh = ImagePool(4, (2, 2, 1), seed=3)
    q3 = tf.function(fresh.query)
    q3(first)
    probe = np.full((2, 2, 2, 1), 7.0, "float32")
    np.testing.assert_array_equal(q2(probe), q3(probe))


def test_image_pool_size_zero_is_a_pass_through():
    x = np.ones((2, 4, 4, 3), "float32")
    np.testing.assert_array_equal(ImagePool(0, (4, 4, 3)).query(x), x)


# --- cycle and identity terms ----------------------------------------------------------------------------------
def test_cycle_and_identity_losses_are_zero_for_identity_generators():
    model = tiny("cyclegan")
    identity = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Identity()])
    model.G_AB = model.G_BA = identity
    a, b = batch(2)
    g, _, _ = model.generator_losses(a, b, training=False)
    for term in ("cycle_A", "cycle_B", "idt_A", "idt_B"):
        np.testing.assert_array_equal(g[term], np.zeros(2))
    assert float(tf.reduce_min(g["G_AB"])) > 0
    x = tf.constant(a)
    np.testing.assert_array_equal(L.cycle_loss(x, x), np.zeros(2))
    np.testing.assert_array_equal(L.identity_loss(x, x), np.zeros(2))


# --- UNIT weight sharing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["unit", "avb-gtn"])
def test_unit_shared_blocks_are_single_objects(models, name):
    model = models[name]
    enc_a = [l for l in model.E_A.layers if l.name.startswith("enc_shared")]
    enc_b = [l for l in model.E_B.layers if l.name.startswith("enc_shared")]
    dec_a = [l for l in model.G_A.layers if l.name.startswith("dec_shared")]
    dec_b = [l for l in model.G_B.layers if l.name.startswith("dec_shared")]
    assert len(enc_a) == len(dec_a) == model.config.n_shared == 1
    assert enc_a[0] is enc_b[0] and dec_a[0] is dec_b[0]
    assert enc_a[0].conv1.kernel is enc_b[0].conv1.kernel
    assert enc_a[0] is model.E_A.layers[-1]  # the LAST encoder block
    private = [l for l in model.E_A.layers if l.name.startswith("E_A_res")]
    assert private and all(l not in model.E_B.layers for l in private)
    # one optimizer slot per shared weight: the G group counts it once
    names = ("E_A", "E_B", "G_A", "G_B")
    total = sum(len(model.nets[n].trainable_variables) for n in names)
    shared = 2 * (len(enc_a[0].trainable_variables) + len(dec_a[0].trainable_variables))
    assert len(model.group_variables("G")) == total - shared // 2


# --- the AVB critic --------------------------------------------------------------------------------------------
def test_avb_critic_separates_posterior_from_prior_samples():
    """Toy posterior: z = 0.5 * tanh(x pooled to z's grid) + 0.1 noise; prior N(0, I). T must learn to tell them."""
    tf.random.set_seed(0)
    rng = np.random.default_rng(0)
    T = avb_critic(input_nc=1, z_nc=4, n_downsample=2, ntf=8, image_size=16)
    opt = keras.optimizers.Adam(1e-3, beta_1=0.5)

    def draw(n=32):
        x = tf.constant(rng.uniform(-1, 1, (n, 16, 16, 1)).astype("float32"))
        m = tf.nn.avg_pool2d(x, 4, 4, "VALID") * 4.0
        z_q = 0.5 * tf.tanh(tf.tile(m, [1, 1, 1, 4])) + 0.1 * tf.random.normal((n, 4, 4, 4))
        return x, z_q, tf.random.normal((n, 4, 4, 4))

    @tf.function
    def step(x, z_q, z_p):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(L.gan_d_loss("vanilla", T([x, z_q], training=True), T([x, z_p], training=True)))
        opt.apply_gradients(zip(tape.gradient(loss, T.trainable_variables), T.trainable_variables))
        return loss

    for _ in range(300):
        step(*draw())
    x, z_q, z_p = draw(256)
    acc = 0.5 * (np.mean(T([x, z_q]).numpy() > 0) + np.mean(T([x, z_p]).numpy() < 0))
    assert acc > 0.9, acc


# --- one fit step per model ------------------------------------------------------------------------------------
AVB_NETS = {"E_A", "E_B", "G_A", "G_B", "D_A", "D_B", "T_A", "T_B"}
AVB_LOGS = {"D_A", "D_B", "G_GAN", "recon", "kl", "cycle", "cycle_kl", "T"}


@pytest.mark.parametrize("name, kw, nets, logs", [
    ("cyclegan", {}, {"G_AB", "G_BA", "D_A", "D_B"},
     {"D_A", "D_B", "G_AB", "G_BA", "cycle_A", "cycle_B", "idt_A", "idt_B"}),
    ("unit", {}, {"E_A", "E_B", "G_A", "G_B", "D_A", "D_B"},
     {"D_A", "D_B", "G_GAN", "recon", "kl", "cycle", "cycle_kl"}),
    ("unit-master", {}, {"E_A", "E_B", "G_A", "G_B", "D_A", "D_B"},
     {"D_A", "D_B", "G_GAN", "recon", "kl", "cycle", "cycle_kl"}),
    ("avb-gtn", {}, AVB_NETS, AVB_LOGS),                                   # simultaneous T and E/G step
    ("avb-gtn", dict(avb_update="critic_first", avb_prior_term=False), AVB_NETS, AVB_LOGS),
])
def test_one_fit_step_trains_the_objectives_networks(name, kw, nets, logs):
    model = tiny(name, **kw)
    model.compile(run_eagerly=True)  # fast for tiny nets; compiled fit is covered by test_unpaired_cli
    before = snapshot(model)
    history = model.fit(tf.data.Dataset.from_tensors(batch(2)), epochs=1, verbose=0, shuffle=False).history
    assert set(model.nets) == nets
    assert changed(before, model) == nets
    assert set(history) == logs
    assert all(np.isfinite(v[0]) for v in history.values())
    if name == "cyclegan":
        assert int(model.pool_A.count.numpy()) == int(model.pool_B.count.numpy()) == 2


def test_d_step_leaves_generators_alone_in_isolation():
    """Only D moves when G's optimizer has learning rate 0 (so 'changed' above is not an artefact of shared state)."""
    model = tiny("unit")
    model.compile(optimizers={"G": keras.optimizers.Adam(0.0)}, run_eagerly=True)
    before = snapshot(model)
    model.fit(tf.data.Dataset.from_tensors(batch(2)), epochs=1, verbose=0, shuffle=False)
    assert changed(before, model) == {"D_A", "D_B"}
