"""DRIT / DRIT-MS (HelenMao/MSGAN DRIT-Mode-Seeking): the reference's parameter counts, shapes, the update order,
sampling, reference transfer, the sample grid, export and the refusals."""
import numpy as np
import pytest
import tensorflow as tf

from tfgan_i2i.config import ConfigError, preset
from tfgan_i2i.export import ExportError, export_savedmodel, load_exported, to_uint8
from tfgan_i2i.models import DRIT, build_model, is_unpaired
from tfgan_i2i.networks.drit import (attribute_encoder, concat_generator, content_d_layers, content_discriminator,
                                     content_encoder, content_logit_size, domain_discriminator, shared_blocks)
from tfgan_i2i.training.callbacks import SampleGrid

# 64 px with tiny widths and one 2-layer D scale (the preset's 3 scales of 4 layers fit 64 px but cost time);
# gain 0.1 so untrained outputs vary visibly with their inputs and codes
TINY = dict(image_size=64, load_size=64, ngf=4, nef=4, ndf=4, num_D=1, d_layers=2, n_res=2, init_gain=0.1)
NETS = {"E_c_A", "E_c_B", "E_a_A", "E_a_B", "G_A", "G_B", "D_A", "D_B", "D_A2", "D_B2", "D_content"}
DISCRIMINATORS = {"D_A", "D_B", "D_A2", "D_B2", "D_content"}


def tiny(name="drit-ms", **kw):
    return build_model(name, **{**TINY, **kw})


def batch(n=2, size=64, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(tf.constant(rng.uniform(-1, 1, (n, size, size, 3)).astype("float32")) for _ in range(2))


def count(variables):
    """Parameters of a list of variables, each counted once (the shared blocks sit in two networks)."""
    return int(sum(np.prod(v.shape) for v in {id(v): v for v in variables}.values()))


def changed_nets(model, step):
    before = {name: [np.array(v) for v in net.trainable_variables] for name, net in model.nets.items()}
    step()
    return {name for name, net in model.nets.items()
            if any(not np.array_equal(x, np.array(v)) for x, v in zip(before[name], net.trainable_variables))}


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)  # module fixture: runs before the per-test seed
    return tiny()


# --- the reference's networks ----------------------------------------------------------------------------------
def test_reference_parameter_counts():
    """The reference's defaults (nz 8, 64 -> 256 channels, 3-scale D of 4 layers), built without running them."""
    enc_shared, dec_shared = (shared_blocks(64, 2, 1, "instance", "normal", 0.02, p) for p in ("enc", "dec"))
    contents = [content_encoder(3, 64, 2, 4, enc_shared, name=f"E_c_{d}") for d in "AB"]
    attributes = [attribute_encoder(3, 8, 64, name=f"E_a_{d}") for d in "AB"]
    generators = [concat_generator(3, 64, 8, 2, 4, dec_shared, name=f"G_{d}") for d in "AB"]
    assert count([v for net in contents for v in net.trainable_variables]) == 9_018_112
    assert count([v for net in attributes for v in net.trainable_variables]) == 2_688_160
    assert count([v for net in generators for v in net.trainable_variables]) == 9_564_710
    assert domain_discriminator(3, 64, 4, 3).count_params() == 8_271_171
    assert content_discriminator(256, content_d_layers(216 // 4)).count_params() == 10_683_649


def test_model_wires_the_reference_networks(model):
    assert set(model.nets) == NETS and is_unpaired("drit") and is_unpaired("drit-ms")
    shared = [layer for layer in model.E_c_A.layers if layer.name.startswith("enc_shared")]
    assert len(shared) == 1 and shared[0] is model.E_c_B.layers[-1] is model.E_c_A.layers[-1]
    assert any(layer.name.startswith("dec_shared") for layer in model.G_B.layers)
    nets = ("E_c_A", "E_c_B", "G_A", "G_B")
    once = count(v for name in nets for v in model.nets[name].trainable_variables)
    assert count(model.group_variables("G")) == once < sum(model.nets[n].count_params() for n in nets)
    slopes = {round(float(l.negative_slope), 3) for l in model.D_A.layers if hasattr(l, "negative_slope")}
    assert slopes == {0.01}  # PyTorch's default LeakyReLU, as the reference's LeakyReLUConv2d


@pytest.mark.parametrize("size, layers", [(64, 1), (128, 2), (216, 3), (256, 3)])
def test_content_discriminator_depth_fits_the_size(size, layers):
    content = size // 4
    assert content_d_layers(content) == layers
    out = content_discriminator(8, layers)(tf.zeros((1, content, content, 8)))
    assert out.shape[1] == content_logit_size(content, layers) >= 1


# --- inference API -----------------------------------------------------------------------------------------------
def test_shapes_at_128():
    model = tiny(image_size=128, load_size=128)
    a, b = batch(2, 128)
    assert model.a_to_b(a).shape == model.transfer(b, a[:1], "BtoA").shape == (2, 128, 128, 3)
    assert model.sample(b, 3, direction="BtoA").shape == (2, 3, 128, 128, 3)


def test_shapes_and_k_different_samples(model):
    size = 64
    a, b = batch(3, size)
    for out in (model.a_to_b(a), model.b_to_a(b), model(a), model.transfer(a, b[:1]), model.transfer(b, a, "BtoA")):
        assert out.shape == (3, size, size, 3)
    s = np.asarray(model.sample(a, 4, seed=1))
    assert s.shape == (3, 4, size, size, 3)
    np.testing.assert_array_equal(s, np.asarray(model.sample(a, 4, seed=1)))  # seeded
    assert min(np.abs(s[:, i] - s[:, j]).mean() for i in range(4) for j in range(i)) > 1e-3  # k different outputs
    assert model.sample(b, 2, seed=0, direction="BtoA").shape == (3, 2, size, size, 3)
    np.testing.assert_allclose(model.a_to_b(a), model.a_to_b(a, np.zeros((3, 8))), atol=1e-6)  # z None = mean 0
    assert DRIT.from_config(model.get_config()).config == model.config


def test_transfer_depends_on_the_reference(model):
    a, b = batch(2)
    flat = tf.fill((1, 64, 64, 3), 0.8)  # noise images pool to nearly one attribute: compare with a flat image
    one, other = np.asarray(model.transfer(a, b[:1])), np.asarray(model.transfer(a, flat))
    assert np.abs(one - other).mean() > 1e-3
    np.testing.assert_allclose(one, model.transfer(a, tf.repeat(b[:1], 2, axis=0)), atol=1e-6)  # one for all
    mu, _ = model.encode_attribute(b[:1], "B")
    np.testing.assert_allclose(one, model.a_to_b(a, tf.repeat(mu, 2, axis=0)), atol=1e-6)
    back = np.asarray(model.transfer(b, a[:1], "BtoA"))
    assert np.abs(back - np.asarray(model.transfer(b, flat, "BtoA"))).mean() > 1e-3


def test_sample_grid_shows_samples_and_reference_transfer(model):
    a, b = batch(2)
    grid = SampleGrid(np.asarray(a), images_B=np.asarray(b), k=3)
    grid.set_model(model)
    assert grid.render().shape == (4 * 64, (1 + 3 + 2) * 64, 3)  # input | 3 samples | reference | transfer


def test_evaluate_scores_diversity_and_ndb_in_either_direction(model):
    from tfgan_i2i.data import sample_dir
    from tfgan_i2i.evaluate import evaluate

    result = evaluate(model, sample_dir(), ["pixel-diversity", "ndb", "jsd"], num_inputs=2, samples_per_input=3,
                      direction="BtoA", ndb_bins=4, progress=False)
    assert result["metrics"]["pixel_diversity"] > 0 and 0 <= result["metrics"]["jsd"] <= np.log(2)


# --- training --------------------------------------------------------------------------------------------------
LOGS = {"D_A", "D_B", "D_A2", "D_B2", "D_content", "G_GAN", "G_content", "kl_attr", "kl_content", "cross_cycle",
        "self_recon", "G_GAN2", "latent"}


def test_one_fit_step_trains_every_network_and_the_content_d_d_iter_times(tmp_path):
    import keras

    model = tiny("drit-ms", d_iter=2)
    model.compile(run_eagerly=True)  # fast for tiny nets; the compiled step runs in test_drit_cli
    data = tf.data.Dataset.from_tensors(batch(2))
    history = {}
    assert changed_nets(model, lambda: history.update(model.fit(data, epochs=1, verbose=0).history)) == NETS
    iterations = {group: int(opt.iterations) for group, opt in model.optimizers_by_name.items()}
    assert iterations == {"G": 2, "E_a": 1, "D": 1, "D_content": 2}  # E_c and G step twice, as update_EG
    assert set(history) == LOGS | {"ms"}  # drit-ms: the mode-seeking term on both directions
    assert all(np.isfinite(v[0]) for v in history.values())
    model.save(tmp_path / "drit.keras")  # a .keras file restores the config, weights and optimizer state
    again = keras.models.load_model(tmp_path / "drit.keras", safe_mode=True)
    assert again.config == model.config
    assert {group: int(opt.iterations) for group, opt in again.optimizers_by_name.items()} == iterations
    assert again.optimizers_by_name["D_content"].global_clipnorm == 5.0
    a, b = batch(2)
    np.testing.assert_array_equal(again.transfer(a, b[:1]), model.transfer(a, b[:1]))


ONLY = dict(weight_decay=0.0, lambda_gan=0.0, lambda_gan2=0.0, lambda_content=0.0, lambda_cycle=0.0, lambda_recon=0.0,
            lambda_kl=0.0, lambda_kl_content=0.0, lambda_latent=0.0, lambda_ms=0.0, d_iter=1)


@pytest.mark.parametrize("term, moved", [
    ("lambda_kl", {"E_a_A", "E_a_B"}),                    # L_EG: E_c, E_a, G (only E_a's KL is on)
    ("lambda_latent", {"E_c_A", "E_c_B", "G_A", "G_B"}),  # L_G_alone: E_c, G, never E_a
])
def test_each_phase_trains_exactly_its_networks(term, moved):
    """With one loss term on (and no weight decay, which moves weights without a gradient), only the networks its
    phase updates change; the discriminators always train on their own losses."""
    model = tiny("drit", **{**ONLY, term: 1.0})
    model.compile()
    logs = {}
    assert changed_nets(model, lambda: logs.update(model.train_step(batch(2)))) == moved | DISCRIMINATORS
    assert set(logs) == LOGS  # drit: no mode-seeking term
    assert int(model.optimizers_by_name["D_content"].iterations) == 1


def test_optimizers_follow_the_reference():
    c = preset("drit")
    assert (c.nz, c.image_size, c.load_size, c.batch_size, c.d_iter, c.epochs, c.epochs_decay) == (8, 216, 256, 2,
                                                                                                  3, 200, 200)
    assert (c.lambda_cycle, c.lambda_recon, c.lambda_kl, c.lambda_kl_content, c.lambda_latent) == (10, 10, .01, .01, 10)
    assert (c.lambda_ms, preset("drit-ms").lambda_ms) == (0, 1)
    model = tiny("drit")
    model.compile()
    opts = model.optimizers_by_name
    lr = {name: float(np.asarray(opt.learning_rate)) for name, opt in opts.items()}
    assert lr == pytest.approx({"G": 1e-4, "E_a": 1e-4, "D": 1e-4, "D_content": 1e-4 / 2.5})
    assert opts["D_content"].global_clipnorm == 5.0 and opts["G"].global_clipnorm is None
    assert {opt.l2 for opt in opts.values()} == {1e-4} and opts["G"].beta_1 == 0.5  # PyTorch's coupled decay


# --- refusals --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size, words", [(32, ">= 64"), (48, ">= 64"), (66, "multiple of 4")])
def test_sizes_the_networks_cannot_take_are_refused(size, words):
    with pytest.raises(ConfigError) as e:
        preset("drit", image_size=size, load_size=size)
    assert f"image_size={size}" in str(e.value) and words in str(e.value) and "\n" not in str(e.value)


def test_a_reference_of_the_wrong_shape_or_domain_is_refused(model):
    a, b = batch(3)
    for reference in (b[:1, ..., :1], b[:2], b[:1, :8, :8], b[0]):
        with pytest.raises(ValueError, match=r"reference must be domain-B images of shape \(1 or 3, H, W, 3\)"):
            model.transfer(a, reference)
    with pytest.raises(ValueError, match="direction"):
        model.transfer(a, b, "AtoC")


# --- export ----------------------------------------------------------------------------------------------------
def test_export_round_trip_matches_keras(model, tmp_path):
    export_savedmodel(model, str(tmp_path / "drit"))
    loaded = load_exported(str(tmp_path / "drit"))
    raw = loaded.loaded
    a, b = (to_uint8(x) for x in batch(2))
    as_float = lambda x: tf.cast(x, tf.float32) / 127.5 - 1  # noqa: E731
    cases = {
        "a_to_b": ((a,), lambda: model.a_to_b(as_float(a))), "b_to_a": ((b,), lambda: model.b_to_a(as_float(b))),
        "transfer": ((a, b[:1]), lambda: model.transfer(as_float(a), as_float(b[:1]))),
        "transfer_b_to_a": ((b, a), lambda: model.transfer(as_float(b), as_float(a), "BtoA")),
        "sample": ((a, tf.constant(3), tf.constant(5)), lambda: model.sample(as_float(a), 3, 5)),
        "sample_b_to_a": ((b, tf.constant(2), tf.constant(1)), lambda: model.sample(as_float(b), 2, 1, "BtoA")),
    }
    for name, (args, keras_fn) in cases.items():
        got = next(iter(getattr(raw, name)(*args).values())).numpy().astype(int)
        assert np.abs(got - to_uint8(keras_fn()).numpy().astype(int)).max() <= 1, name
    np.testing.assert_allclose(loaded.transfer(as_float(a), as_float(b[:1])), model.transfer(as_float(a),
                                                                                            as_float(b[:1])),
                               atol=1.5 / 127.5)
    assert loaded.sample(as_float(b), 2, 0, direction="BtoA").shape == (2, 2, 64, 64, 3)
    with pytest.raises(ExportError, match=r"reference of .* must have shape \[batch, 64, 64, 3\]"):
        loaded.transfer(as_float(a), as_float(b[:1, :32, :32]))
    with pytest.raises(ExportError, match="1 image or one per input image"):
        loaded.transfer(as_float(a[:1]), as_float(b))
    with pytest.raises(tf.errors.InvalidArgumentError, match="reference must hold 1 image or one per image"):
        raw.transfer(a[:1], b)
