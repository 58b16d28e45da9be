"""UNIT and AVB-GTN against their references: AVB's prior term, simultaneous updates, lr_T and adaptive contrast
(LMescheder/AdversarialVariationalBayes); UNIT master's LayerNorm and unshared VAE-generators (mingyuliutw/UNIT)."""
import numpy as np
import pytest
import tensorflow as tf

import keras
from tfgan_i2i.models import build_model
from tfgan_i2i.models.unit import avb_kl_map
from tfgan_i2i.networks.unit import ResBlock, UnitLayerNorm, unit_decoder

TINY = dict(image_size=32, load_size=32, ngf=8, ndf=8, n_res=1, num_D=1, d_layers=2, ntf=4, avb_noise_nc=2)


def tiny(name="avb-gtn", **kw):
    return build_model(name, **{**TINY, **kw})


def batch(n=2, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(tf.constant(rng.uniform(-1, 1, (n, 32, 32, 3)).astype("float32")) for _ in range(2))


def twin(model):
    """A second model of the same config holding the same weights and seed state."""
    other = build_model(model.config)
    other.set_weights(model.get_weights())
    other.seed_generator.state.assign(model.seed_generator.state)
    return other


def weights(model, group):
    return [np.array(v) for v in model.group_variables(group)]


# --- AVB: the adversary's prior term ---------------------------------------------------------------------------
def test_critic_output_is_network_plus_half_squared_norm_of_z():
    with_term, without = tiny(avb_prior_term=True), tiny(avb_prior_term=False)
    assert with_term.T_A.count_params() == without.T_A.count_params()  # the term has no weights
    without.T_A.set_weights(with_term.T_A.get_weights())
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    z = rng.normal(0, 1.5, (2, 8, 8, 32)).astype("float32")  # latent: ngf * 4 channels at H / 4
    expected = 0.5 * np.sum(z**2, axis=-1, keepdims=True)      # per latent position, over the code's channels
    t, t_net = with_term.T_A([x, z]).numpy(), without.T_A([x, z]).numpy()
    assert t.shape == (2, 8, 8, 1)
    np.testing.assert_allclose(t - t_net, expected, rtol=1e-5, atol=1e-4)
    # a known input: z = 2 everywhere gives 0.5 * 4 * 32 = 64 at every position
    t2 = with_term.T_A([x, np.full_like(z, 2.0)]).numpy() - without.T_A([x, np.full_like(z, 2.0)]).numpy()
    np.testing.assert_allclose(t2, 64.0, rtol=1e-5)
    assert tiny().config.avb_prior_term  # the avb-gtn preset uses it


# --- AVB: the adversary's own learning rate --------------------------------------------------------------------
def test_avb_preset_gives_T_ten_times_the_encoder_decoder_learning_rate():
    model = tiny()
    model.compile()
    lr = {name: float(keras.ops.convert_to_numpy(opt.learning_rate)) for name, opt in model.optimizers_by_name.items()}
    assert lr["G"] == pytest.approx(1e-4) and lr["D"] == pytest.approx(1e-4)
    assert lr["T"] == pytest.approx(10 * lr["G"])


# --- AVB: simultaneous updates ---------------------------------------------------------------------------------
@pytest.mark.parametrize("update", ["simultaneous", "critic_first"])
def test_encoder_decoder_gradient_uses_the_critics_pre_step_weights(update):
    """Two copies of a model take one step from the same weights and noise; only T's learning rate differs (0 or
    large). With simultaneous updates E/G's gradient is taken with T's pre-step weights, so E/G end the step
    identical; with critic_first they see the moved T and differ."""
    still = tiny(avb_update=update)
    moving = twin(still)

    def compile(model, lr_T):  # SGD on E/G: their step is linear in their gradient, so any change in it shows
        model.compile(optimizers={"G": keras.optimizers.SGD(1.0), "T": keras.optimizers.Adam(lr_T)})

    compile(still, 0.0)
    compile(moving, 0.5)
    T_before = weights(still, "T")
    G_before = weights(still, "G")
    data = batch(2)
    still.train_step(data)
    moving.train_step(data)
    assert all(np.array_equal(a, b) for a, b in zip(T_before, weights(still, "T")))
    assert max(np.abs(a - b).max() for a, b in zip(T_before, weights(moving, "T"))) > 0.1  # T did move
    assert max(np.abs(a - b).max() for a, b in zip(G_before, weights(still, "G"))) > 1e-3  # E/G did move
    gap = max(np.abs(a - b).max() for a, b in zip(weights(still, "G"), weights(moving, "G")))
    if update == "simultaneous":
        assert gap < 1e-6, gap
    else:
        assert gap > 1e-4, gap


class _Spy:
    """Records a network's call inputs and outputs (as numpy) while calling it as before."""

    def __init__(self, monkeypatch, net, log):
        original = net.call

        def call(inputs, *args, **kwargs):
            out = original(inputs, *args, **kwargs)
            log.append(([np.array(t) for t in tf.nest.flatten(inputs)], np.array(out)))
            return out

        monkeypatch.setattr(net, "call", call)


@pytest.mark.parametrize("update", ["simultaneous", "critic_first"])
def test_one_forward_graph_feeds_critic_and_encoder_decoder_and_both_step_together(monkeypatch, update):
    """simultaneous: T_A is evaluated once at (a, z_A) -- the code G_A decodes -- and once at (a, z_p); the same for
    (ba, z_ba); one optimizer call steps E/G and T together, after D. critic_first: T steps alone before E/G and
    E/G's loss evaluates T again (3 evaluations per pair)."""
    model = tiny(avb_update=update)
    model.compile()
    T_calls, G_calls, steps = [], [], []
    _Spy(monkeypatch, model.T_A, T_calls)
    _Spy(monkeypatch, model.G_A, G_calls)
    step = model.step_optimizers
    monkeypatch.setattr(model, "step_optimizers",
                        lambda s, nets: (steps.append([name for name, _ in s]), step(s, nets))[1])
    logs = model.train_step(batch(2))
    assert all(np.isfinite(float(v)) for v in logs.values())
    z_A = G_calls[0][0][0][:2]  # G_A's first call decodes [z_A, z_B]
    at_z_A = [c for c, _ in T_calls if c[1].shape == z_A.shape and np.allclose(c[1], z_A, atol=1e-6)]
    if update == "simultaneous":
        assert steps == [["D"], ["G", "T"]]
        assert len(T_calls) == 4                       # (a, z_A), (a, z_p), (ba, z_ba), (ba, z_p')
        assert len(at_z_A) == 1                        # one evaluation shared by L_T and the KL term
    else:
        assert steps == [["D"], ["T"], ["G"]]
        assert len(T_calls) == 6
        assert len(at_z_A) == 2                        # T's loss, then the KL term with the updated T


# --- AVB: adaptive contrast ------------------------------------------------------------------------------------
def test_adaptive_contrast_kl_estimate_formula():
    rng = np.random.default_rng(2)
    t = rng.normal(size=(2, 3, 3, 1)).astype("float32")
    z = rng.normal(size=(2, 3, 3, 5)).astype("float32")
    mu = rng.normal(size=z.shape).astype("float32")
    var = rng.uniform(0.1, 2.0, z.shape).astype("float32")
    z_norm = (z - mu) / np.sqrt(var)
    log_r = -0.5 * np.sum(z_norm**2 + np.log(var) + np.log(2 * np.pi), -1, keepdims=True)
    log_p = -0.5 * np.sum(z**2 + np.log(2 * np.pi), -1, keepdims=True)
    np.testing.assert_allclose(avb_kl_map(t, z, z_norm, var), t + log_r - log_p, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(avb_kl_map(t), t)  # without adaptive contrast: T itself


@pytest.mark.parametrize("update", ["simultaneous", "critic_first"])
def test_adaptive_contrast_feeds_T_the_code_normalised_by_q_moments(monkeypatch, update):
    """T_A sees (z_A - mu) / sigma, with mu, sigma^2 (unbiased, + 1e-4) over the `avb_ac_draws` extra encodings of a;
    the step trains E/G and T with finite losses."""
    model = tiny(adaptive_contrast=True, avb_update=update)
    model.compile()
    E_calls, T_calls = [], []
    _Spy(monkeypatch, model.E_A, E_calls)
    _Spy(monkeypatch, model.T_A, T_calls)
    before = {n: weights(model, n) for n in ("G", "T")}
    A, B = batch(2)
    logs = model.train_step((A, B))
    assert set(logs) == set(model.loss_names)
    assert all(np.isfinite(float(v)) for v in logs.values()), logs
    for group in ("G", "T"):
        assert any(not np.array_equal(a, b) for a, b in zip(before[group], weights(model, group)))

    k = model.config.avb_ac_draws
    z_A = E_calls[0][1]  # E_A's first call encodes a
    draws = [out for (x, _), out in E_calls if x.shape[0] == k * 2 and np.array_equal(x, np.concatenate([A] * k))]
    assert len(draws) == 1
    zs = draws[0].reshape(k, 2, *z_A.shape[1:])
    z_norm = (z_A - zs.mean(0)) / np.sqrt(zs.var(0, ddof=1) + 1e-4)
    seen = [inputs[1] for inputs, _ in T_calls if np.array_equal(inputs[0], A)]
    assert any(np.allclose(z, z_norm, rtol=1e-3, atol=1e-3) for z in seen)
    assert not any(np.allclose(z, z_A, atol=1e-3) for z in seen)  # never the raw code


# --- UNIT master: LayerNorm ------------------------------------------------------------------------------------
def _layer_norm_numpy(x, gamma, beta, eps=1e-5):
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    std = x.std(axis=axes, keepdims=True, ddof=1)  # unbiased, as torch.Tensor.std
    return (x - mean) / (std + eps) * gamma + beta


@pytest.mark.parametrize("n", [1, 3])  # the reference has a batch-1 branch; both are per example
def test_unit_layer_norm_matches_master_with_unbiased_std(n):
    rng = np.random.default_rng(n)
    x = (rng.normal(size=(n, 4, 5, 6)) * rng.uniform(0.5, 3, (n, 1, 1, 1)) + 2.0).astype("float32")
    layer = UnitLayerNorm()
    layer.build(x.shape)
    gamma, beta = rng.uniform(0, 1, 6).astype("float32"), rng.normal(size=6).astype("float32")
    layer.set_weights([gamma, beta])
    np.testing.assert_allclose(layer(x).numpy(), _layer_norm_numpy(x, gamma, beta), rtol=1e-4, atol=1e-5)
    # a tiny map shows the unbiased divisor and eps outside the square root (biased std would be 1.5x off here)
    small = np.array([[[[0.0], [3.0]]]], "float32")  # 2 values: biased std 1.5, unbiased 2.1213
    layer1 = UnitLayerNorm()
    layer1.build(small.shape)
    layer1.set_weights([np.ones(1, "float32"), np.zeros(1, "float32")])
    np.testing.assert_allclose(layer1(small).numpy().ravel(), [-1.5 / (np.sqrt(4.5) + 1e-5),
                                                              1.5 / (np.sqrt(4.5) + 1e-5)], rtol=1e-6)


def test_unit_layer_norm_init_and_serialisation():
    layer = UnitLayerNorm(name="ln")
    layer.build((None, None, None, 256))
    gamma, beta = (w.numpy() for w in (layer.gamma, layer.beta))
    assert gamma.min() >= 0 and gamma.max() < 1 and gamma.std() > 0.2  # U(0, 1), std 0.289
    np.testing.assert_array_equal(beta, 0)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, UnitLayerNorm) and restored.epsilon == 1e-5
    # the decoder uses it after each up-sampling conv, and a decoder round-trips through its config
    dec = unit_decoder(3, ngf=8, n_downsample=2, n_res=1)
    lns = [l for l in dec.layers if isinstance(l, UnitLayerNorm)]
    assert len(lns) == 2 and not any(isinstance(l, keras.layers.GroupNormalization) and l.groups == 1
                                     for l in dec.layers)
    clone = keras.Model.from_config(dec.get_config())
    clone.set_weights(dec.get_weights())
    h = np.random.default_rng(0).normal(size=(1, 4, 4, 32)).astype("float32")
    np.testing.assert_allclose(clone(h).numpy(), dec(h).numpy(), atol=1e-6)


# --- UNIT master: two independent VAE-generators ---------------------------------------------------------------
def _shared(a, b):
    return {id(v) for v in a.trainable_variables} & {id(v) for v in b.trainable_variables}


def test_unit_master_shares_no_variables_and_unit_shares_one_block_each():
    master = tiny("unit-master")
    assert master.config.n_shared == 0
    assert not _shared(master.E_A, master.E_B) and not _shared(master.G_A, master.G_B)
    assert not any(l.name.startswith(("enc_shared", "dec_shared")) for n in ("E_A", "G_A") for l in
                   master.nets[n].layers)
    master.compile()
    logs = master.train_step(batch(2))
    assert all(np.isfinite(float(v)) for v in logs.values())

    paper = tiny("unit")
    assert paper.config.n_shared == 1
    for a, b, prefix in ((paper.E_A, paper.E_B, "enc_shared"), (paper.G_A, paper.G_B, "dec_shared")):
        blocks = [l for l in a.layers if isinstance(l, ResBlock) and l in b.layers]
        assert len(blocks) == 1 and blocks[0].name.startswith(prefix)
        assert _shared(a, b) == {id(v) for v in blocks[0].trainable_variables}
