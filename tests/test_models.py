"""Models: one fit step per objective trains exactly the networks that objective trains; inference API."""
import numpy as np
import pytest
import tensorflow as tf

from tfgan_i2i.config import preset
from tfgan_i2i.models import BicycleGAN, Pix2Pix, build_model
from tfgan_i2i.models.bicyclegan import split_halves

TINY = dict(image_size=32, load_size=32, ngf=4, ndf=4, nef=4, nz=3)


def tiny(name, **kw):
    kw = {**TINY, **kw}
    if name == "pix2pix":
        kw["nz"] = 0
    return build_model(name, **kw)


def batch(n=2, size=32, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, (n, size, size, 3)).astype("float32")
    b = rng.uniform(-1, 1, (n, size, size, 3)).astype("float32")
    return a, b


def snapshot(model):
    return {name: [np.array(v) for v in net.trainable_variables] for name, net in model.nets.items()}


def changed(before, model):
    after = snapshot(model)
    return {name for name in before if any(not np.array_equal(x, y) for x, y in zip(before[name], after[name]))}


def fit_one_step(model, n=2):
    model.compile()
    a, b = batch(n)
    before = snapshot(model)
    hist = model.fit(tf.data.Dataset.from_tensors((a, b)), epochs=1, verbose=0)
    return changed(before, model), hist.history


@pytest.mark.parametrize("name, nets, logs", [
    ("pix2pix", {"G", "D"}, {"D", "G_GAN", "G_L1"}),
    ("pix2pix-noise", {"G", "D"}, {"D", "G_GAN", "G_L1"}),
    ("msgan", {"G", "D"}, {"D", "G_GAN", "G_L1", "G_ms"}),
    ("bicyclegan", {"G", "E", "D", "D2"}, {"D", "D2", "G_GAN", "G_GAN2", "G_L1", "kl", "z_L1"}),
    ("cvae-gan", {"G", "E", "D"}, {"D", "G_GAN", "G_L1", "kl"}),
    ("clr-gan", {"G", "E", "D"}, {"D", "G_GAN2", "z_L1"}),
])
def test_one_fit_step_trains_the_objectives_networks(name, nets, logs):
    model = tiny(name)
    moved, history = fit_one_step(model)
    assert set(model.nets) == nets
    assert moved == nets
    assert set(history) == logs
    assert all(np.isfinite(v[0]) for v in history.values())


def test_bicycle_latent_regression_moves_g_but_not_e():
    # only the latent term is on for G/E: the hybrid freezes E for it (the reference's backward_G_alone)
    model = tiny("bicyclegan", lambda_gan=0.0, lambda_gan2=0.0, lambda_l1=0.0, lambda_kl=0.0)
    moved, history = fit_one_step(model)
    assert "G" in moved and "E" not in moved
    assert history["z_L1"][0] > 0


def test_frozen_encoder_passes_the_latent_gradient_to_g_only():
    # the hybrid's one backward pass: mu_frozen must give G exactly the gradient a plain E call gives, and E none
    model = tiny("bicyclegan", use_dropout=False)
    a = tf.constant(batch(2)[0])
    z = tf.constant(np.random.default_rng(2).normal(size=(2, 3)).astype("float32"))
    G, E = model.G, model.E

    def grads(mu_of):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(mu_of(model.generate(a, z, training=True)) - z))
        return tape.gradient(loss, G.trainable_variables + E.trainable_variables)
    frozen, plain = grads(model.mu_frozen), grads(lambda x: E(x, training=True)[0])
    n = len(G.trainable_variables)
    for f, p in zip(frozen[:n], plain[:n]):
        np.testing.assert_allclose(f, p, rtol=1e-5, atol=1e-7)
    assert all(g is None for g in frozen[n:]) and any(g is not None for g in plain[n:])  # (logvar: none either way)
    assert max(float(tf.reduce_max(tf.abs(g))) for g in plain[:n]) > 0


def test_clr_latent_regression_trains_e():
    model = tiny("clr-gan", lambda_gan2=0.0)
    moved, _ = fit_one_step(model)
    assert {"G", "E"} <= moved


def test_mode_seeking_term_moves_g_on_its_own():
    model = tiny("msgan", lambda_gan=0.0, lambda_l1=0.0, lambda_ms=1.0)
    moved, history = fit_one_step(model, n=1)
    assert "G" in moved
    assert history["G_ms"][0] > 0


def fixed_codes(model, codes):
    """Make model.random_z hand out `codes` in turn (cycling), so a test knows every z of a step."""
    calls = []

    def random_z(n, seed=None):
        calls.append(n)
        return tf.constant(codes[(len(calls) - 1) % len(codes)])
    model.random_z = random_z


@pytest.mark.parametrize("name, g_first", [("msgan", True), ("pix2pix-noise", False)])
def test_step_order_g_sees_d_before_or_after_its_update(name, g_first):
    # MSGAN's reference updates G first (judged by the D of the start of the step), then D on the same fakes;
    # pix2pix(+noise) updates D first and judges G with the updated D.
    model = tiny(name, use_dropout=False)
    model.compile()
    a, b = batch(2)
    rng = np.random.default_rng(1)
    z1, z2 = (rng.normal(size=(2, 3)).astype("float32") for _ in range(2))
    fixed_codes(model, [z1, z2])
    fakes = [model.generate(a, z, training=True) for z in ((z1, z2) if name == "msgan" else (z1,))]
    g_gan_before = np.mean(sum(model.g_gan_loss(model.D, model.d_input(a, f)) for f in fakes))
    d_before = np.mean(sum(model.d_loss(model.D, model.d_input(a, b), model.d_input(a, f)) for f in fakes))
    history = model.fit(tf.data.Dataset.from_tensors((a, b)), epochs=1, verbose=0).history
    assert np.isclose(history["G_GAN"][0], g_gan_before, rtol=1e-4) == g_first
    assert np.isclose(history["D"][0], d_before if g_first else 0.5 * d_before, rtol=1e-4)


def test_ms_warmup_ramps_lambda_ms_and_clip_norm_reaches_the_optimizers():
    model = tiny("msgan", lambda_ms=2.0, ms_warmup=4, clip_norm=5.0)
    model.compile()
    assert all(o.global_clipnorm == 5.0 for o in model.optimizers_by_name.values())
    assert float(model.lambda_ms_now()) == pytest.approx(0.5)  # step 1 of 4
    a, b = batch(1)
    history = model.fit(tf.data.Dataset.from_tensors((a, b)).repeat(2), epochs=1, verbose=0).history
    assert float(model.lambda_ms_now()) == pytest.approx(1.5)  # step 3 of 4
    assert np.isfinite(history["G_ms"][0])
    model.fit(tf.data.Dataset.from_tensors((a, b)).repeat(3), epochs=1, verbose=0)
    assert float(model.lambda_ms_now()) == pytest.approx(2.0)  # constant after the warm-up


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_bicycle_split_any_batch_size(n):
    a, b = batch(n)
    (a1, b1), (a2, b2) = split_halves(tf.constant(a), tf.constant(b))
    assert a1.shape[0] == a2.shape[0] == max(1, (n + 1) // 2)
    if n % 2 == 0:  # the reference's exact split
        np.testing.assert_array_equal(a1, a[: n // 2])
        np.testing.assert_array_equal(b2, b[n // 2:])


@pytest.mark.parametrize("n", [1, 3])
def test_bicyclegan_trains_with_odd_batches(n):
    moved, history = fit_one_step(tiny("bicyclegan"), n=n)
    assert moved == {"G", "E", "D", "D2"}


def test_wgangp_and_hinge_modes_train():
    for mode in ("wgangp", "hinge", "vanilla"):
        moved, history = fit_one_step(tiny("bicyclegan", gan_mode=mode))
        assert moved == {"G", "E", "D", "D2"} and np.isfinite(history["D"][0])


def test_sample_translate_encode_api():
    model = tiny("bicyclegan")
    a, b = batch(3)
    s1 = np.asarray(model.sample(a, k=4, seed=7))
    s2 = np.asarray(model.sample(a, k=4, seed=7))
    assert s1.shape == (3, 4, 32, 32, 3)
    np.testing.assert_allclose(s1, s2, atol=1e-6)  # inference mode and seeded z: repeatable
    assert np.abs(s1[:, 0] - s1[:, 1]).max() > 1e-6  # different z, different output
    mu, logvar = model.encode(b)
    assert mu.shape == (3, 3) and logvar.shape == (3, 3)
    np.testing.assert_allclose(model.translate(a, z=mu), model.translate(a, z=mu), atol=1e-6)
    assert model(tf.constant(a)).shape == (3, 32, 32, 3)


def test_pix2pix_without_z_is_deterministic():
    model = tiny("pix2pix")
    a, _ = batch(2)
    s = np.asarray(model.sample(a, k=3))
    np.testing.assert_allclose(s[:, 0], s[:, 2], atol=1e-6)


def test_model_from_config_round_trip():
    model = tiny("bicyclegan", objective="cvae", lambda_kl=0.05)
    again = BicycleGAN.from_config(model.get_config())
    assert again.config == model.config
    assert isinstance(build_model(preset("msgan", **TINY)), Pix2Pix)


def test_bicyclegan_rejects_nz_zero():
    with pytest.raises(ValueError, match="nz >= 1"):
        tiny("bicyclegan", nz=0)


def test_bicyclegan_trains_under_mixed_bfloat16():
    # the reparameterisation noise must follow mu's dtype (bfloat16 here), or the step fails with a dtype mismatch
    import keras

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = tiny("bicyclegan")
        model.compile()
        before = snapshot(model)
        history = model.fit(tf.data.Dataset.from_tensors(batch()).repeat(2), verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    after = snapshot(model)
    for name in ("G", "E", "D", "D2"):
        assert any(not np.array_equal(x, y) for x, y in zip(before[name], after[name])), name
