"""Random draws: every replica of a strategy draws its own dropout masks, image-pool decisions and z / eps, while
one device keeps Keras' seeded draws; CycleGAN's mode-seeking warm-up and its test-time path (EMA, test_mode).

The 2-replica checks configure logical devices, so they run in a subprocess with a deadline.
"""
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_i2i.layers import Dropout, replica_seed
from tfgan_i2i.models import build_model
from tfgan_i2i.models.image_pool import ImagePool

CYCLEGAN = dict(image_size=32, load_size=32, ngf=4, ndf=4, g_blocks=1, pool_size=3)


def _batch(n=2, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.uniform(-1, 1, (n, 32, 32, 3)).astype("float32") for _ in range(2))


# --- one device: the same seeded draws as Keras -------------------------------------------------------------------
def test_dropout_on_one_device_is_keras_dropout_with_the_same_seed():
    x = tf.ones((4, 64))
    ours, theirs = Dropout(0.5, seed=7), keras.layers.Dropout(0.5, seed=7)
    for _ in range(3):  # the same stream, call after call
        np.testing.assert_array_equal(ours(x, training=True), theirs(x, training=True))
    out = np.asarray(ours(x, training=True))
    assert set(np.unique(out)) == {0.0, 2.0}  # inverted dropout: kept units scaled by 1 / (1 - rate)
    np.testing.assert_array_equal(ours(x, training=False), x)
    shaped = np.asarray(Dropout(0.5, noise_shape=(None, 1), seed=1)(tf.ones((8, 5)), training=True))
    assert all(len(set(row)) == 1 for row in shaped)  # one draw per row, as noise_shape says
    again = keras.layers.deserialize(keras.layers.serialize(ours))
    assert type(again) is Dropout and again.rate == 0.5 and again.seed == 7


def test_image_pool_draws_on_one_device_are_keras_draws_with_the_same_seed():
    pool, reference = ImagePool(5, (2, 2, 1), seed=3), keras.random.SeedGenerator(3)
    for n in (4, 9):
        swap, slot = pool.draws(n)
        np.testing.assert_array_equal(swap, keras.random.uniform((n,), seed=reference) > 0.5)
        np.testing.assert_array_equal(slot, keras.random.randint((n,), 0, 5, seed=reference))


def test_replica_seed_outside_a_strategy_is_the_keras_seed():
    from keras.src.backend.tensorflow.random import _cast_seed

    a, b = keras.random.SeedGenerator(11), keras.random.SeedGenerator(11)
    np.testing.assert_array_equal(replica_seed(a), _cast_seed(b.next()))


# --- two replicas: each draws its own ------------------------------------------------------------------------------
MIRRORED_SCRIPT = textwrap.dedent("""
    import json
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfgan_i2i.layers import Dropout
    from tfgan_i2i.models import build_model
    from tfgan_i2i.networks import resnet_generator, unet_generator

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with mirrored.scope():
        ours, keras_dropout = Dropout(0.5, seed=1), keras.layers.Dropout(0.5, seed=1)
        unet = unet_generator(64, 3, 3, ngf=2, norm="instance", use_dropout=True)
        resnet = resnet_generator(3, 3, ngf=2, n_blocks=1, use_dropout=True)
        model = build_model("cyclegan", image_size=32, load_size=32, ngf=4, ndf=4, g_blocks=1, pool_size=3, nz=2,
                            lambda_ms=1.0, use_dropout=True)

    def per_replica(fn):
        # fn builds its inputs itself, so both replicas see identical inputs
        out = tf.function(lambda: mirrored.run(fn))()
        return [tf.nest.map_structure(np.asarray, r) for r in mirrored.experimental_local_results(out)]

    def differ(pair):
        a, b = pair
        return float(np.mean(np.asarray(a) != np.asarray(b)))

    ones = lambda: tf.ones((4, 256))  # noqa: E731
    image = np.random.default_rng(0).uniform(-1, 1, (1, 64, 64, 3)).astype("float32")
    masks = per_replica(lambda: ours(ones(), training=True))
    pool = model.pool_A
    per_replica(lambda: pool.query(tf.zeros((3, 32, 32, 3))))  # fill both replicas' histories identically
    new = lambda: tf.reshape(tf.range(16.0), (16, 1, 1, 1)) + 1.0 + tf.zeros((16, 32, 32, 3))  # noqa: E731
    pooled = per_replica(lambda: pool.query(new()))
    draws = per_replica(lambda: pool.draws(64))

    print("RESULT", json.dumps({
        "replicas": mirrored.num_replicas_in_sync,
        "dropout": differ(masks), "kept": float(np.mean(masks[0] > 0)),
        "values": sorted(set(masks[0].ravel().tolist())),
        "keras_dropout": differ(per_replica(lambda: keras_dropout(ones(), training=True))),
        "unet": differ(per_replica(lambda: unet(tf.constant(image), training=True))),
        "resnet": differ(per_replica(lambda: resnet(tf.constant(image), training=True))),
        "pool_out": differ([p[:, 0, 0, 0] for p in pooled]),
        "swap": differ([d[0] for d in draws]), "slot": differ([d[1] for d in draws]),
        "z": differ(per_replica(lambda: model._stream_normal((2, 8)))),
        "eps": differ(per_replica(lambda: model.normal_like(tf.zeros((2, 4, 4, 3))))),
        "uniform": differ(per_replica(lambda: model.stream_uniform((2, 1, 1, 1)))),
        "pool_count": int(model.pool_A.count.numpy()),
    }))
""")


def test_two_replicas_draw_their_own_dropout_pool_and_latent_randomness(tmp_path):
    script = tmp_path / "replicas.py"
    script.write_text(MIRRORED_SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "2"}
    env.pop("TF_CONFIG", None)
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.split("RESULT", 1)[1].splitlines()[0])
    assert r["replicas"] == 2
    # identical inputs on both replicas, yet different masks (independent masks disagree on ~half the units)
    assert 0.3 < r["dropout"] < 0.7, r
    assert 0.4 < r["kept"] < 0.6 and r["values"] == [0.0, 2.0], r
    assert r["unet"] > 0.1 and r["resnet"] > 0.1, r  # the generators' dropout too
    # image pool: different swap/slot decisions, so different images come back for the same query
    assert r["swap"] > 0.3 and r["slot"] > 0.3 and r["pool_out"] > 0, r
    assert r["z"] == r["eps"] == r["uniform"] == 1.0, r  # z / eps / GP-eps draws
    assert r["pool_count"] == 3, r  # replica 0's history: full after the fill
    # (for contrast, keras.layers.Dropout's mirrored seed gives both replicas the same mask: r["keras_dropout"] == 0)


# --- CycleGAN: the mode-seeking warm-up and test-time calls --------------------------------------------------------
def test_cyclegan_logged_mode_seeking_term_follows_the_warmup():
    kw = dict(CYCLEGAN, nz=2, lambda_ms=2.0, use_dropout=False, lambda_identity=0.0)
    ramped, full = build_model("cyclegan", ms_warmup=10, **kw), build_model("cyclegan", ms_warmup=0, **kw)
    for name, net in full.nets.items():
        net.set_weights(ramped.nets[name].get_weights())
    batch = tuple(tf.constant(x) for x in _batch(2))
    logs = {}
    for label, model in (("ramped", ramped), ("full", full)):
        model.compile()
        logs[label] = {k: float(v) for k, v in model.train_step(batch).items()}  # step 1, eagerly (as fit's)
    # step 1 of 10: lambda_ms / 10 times the same unweighted term (same weights, same seed stream)
    assert logs["full"]["ms"] > 0
    assert logs["ramped"]["ms"] == pytest.approx(logs["full"]["ms"] / 10, rel=1e-4)
    assert logs["ramped"]["cycle_A"] == pytest.approx(logs["full"]["cycle_A"], rel=1e-5)
    assert int(ramped.optimizers_by_name["G"].iterations) == 1


def test_cyclegan_test_time_calls_use_ema_weights():
    model = build_model("cyclegan", nz=2, ema_decay=0.9, init_gain=0.3, **CYCLEGAN)
    a, b = _batch(2)
    assert np.abs(np.asarray(model.G_AB([a, np.zeros((2, 2), "float32")]))).max() > 1e-3
    for v in model._ema_list:  # all-zero averaged weights: every conv gives 0, so G gives tanh(0) = 0
        v.assign(tf.zeros_like(v))
    for out in (model.a_to_b(a), model.b_to_a(b), model.sample(a, 2, seed=0), model.translate(b, direction="BtoA")):
        np.testing.assert_array_equal(out, np.zeros_like(out))


def test_cyclegan_test_mode_train_keeps_dropout_on_at_test_time():
    a, _ = _batch(1)
    z = tf.zeros((1, 2))
    on = build_model("cyclegan", nz=2, use_dropout=True, test_mode="train", init_gain=0.3, **CYCLEGAN)
    assert np.abs(np.asarray(on.a_to_b(a, z)) - np.asarray(on.a_to_b(a, z))).max() > 1e-4  # new masks per call
    off = build_model("cyclegan", nz=2, use_dropout=True, test_mode="eval", init_gain=0.3, **CYCLEGAN)
    np.testing.assert_array_equal(off.a_to_b(a, z), off.a_to_b(a, z))
