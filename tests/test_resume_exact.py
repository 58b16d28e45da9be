"""Exact resume: N epochs straight == N/2 epochs, a SIGKILL and N/2 more, to the last bit of every weight.

What makes it exact, each checked here on its own first: the stateless epoch stream of the data pipelines (epoch e's
order, crops and flips depend only on (seed, e)), checkpoints that hold every state a run's future depends on (image
pools, the pools' and layers' seed streams, EMA weights), and sample grids that leave the seed streams alone. Then
real runs of `train()` in subprocesses: one straight, one killed after the checkpoint of epoch N/2, resumed in a third.
"""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf

from tfgan_i2i.config import preset
from tfgan_i2i.data import paired_dataset, sample_dir
from tfgan_i2i.data.unpaired import unpaired_dataset
from tfgan_i2i.models import build_model
from tfgan_i2i.training import CheckpointCallback, SampleGrid, load_for_inference, read_checkpoint_epoch, restore_latest

# Max |difference| allowed between the final weights of the straight and the resumed run. Measured: 0.0 (bit-equal)
# for every array of both models. A resume that loses any state (a different data order, empty image pools,
# restarted seed streams) differs by ~1e-3 to ~1 after a few steps.
RESUME_TOLERANCE = 1e-6


def batches(dataset, n):
    """The first n batches as tuples of numpy arrays."""
    return [tuple(np.asarray(x) for x in b) for b in dataset.take(n)]


def same(xs, ys):
    return len(xs) == len(ys) and all(all(np.array_equal(a, b) for a, b in zip(x, y)) for x, y in zip(xs, ys))


# --- the data: epoch e is the same whether the stream starts at 0 or at e ------------------------------------------
@pytest.mark.parametrize("make", [paired_dataset, unpaired_dataset], ids=["paired", "unpaired"])
@pytest.mark.parametrize("steps_per_epoch", [None, 4], ids=["one-pass", "repeating"])
def test_epoch_stream_resumed_at_any_epoch_gives_the_straight_batches(make, steps_per_epoch):
    options = dict(load_size=40, crop_size=32, batch_size=3, seed=5, steps_per_epoch=steps_per_epoch, cache=True)
    per_epoch = steps_per_epoch or 20 // 3  # the sample has 20 training pairs; one pass drops the last 2
    straight = batches(make(sample_dir(), epoch=0, **options), 4 * per_epoch)
    resumed = batches(make(sample_dir(), epoch=3, **options), per_epoch)
    assert same(straight[3 * per_epoch:], resumed)
    assert not same(straight[:1], straight[per_epoch:per_epoch + 1])  # each epoch has its own order and crops
    # decoding on the fly gives the very same stream as the in-memory cache
    streamed = batches(make(sample_dir(), epoch=3, **{**options, "cache": False}), per_epoch)
    assert same(resumed, streamed)


def test_one_pass_epochs_hold_every_pair_once_in_a_new_order():
    ds = paired_dataset(sample_dir(), load_size=32, crop_size=32, batch_size=4, flip=False, seed=1, epoch=0)
    epochs = [np.concatenate([a for a, _ in batches(ds.skip(5 * e), 5)]) for e in range(2)]
    reference = np.concatenate([a for a, _ in batches(paired_dataset(sample_dir(), load_size=32, crop_size=32,
                                                                     batch_size=4, flip=False, shuffle=False), 5)])
    key = lambda images: sorted(images.reshape(len(images), -1).sum(axis=1).round(3).tolist())  # noqa: E731
    for images in epochs:
        assert len(images) == 20 and key(images) == key(reference)  # a permutation of the 20 pairs
    assert not np.array_equal(epochs[0], epochs[1])


# --- the checkpoint: every state a run's future depends on -------------------------------------------------------
def tiny_cyclegan(**overrides):
    return preset("cyclegan", **{**dict(image_size=32, load_size=32, ngf=8, ndf=8, g_blocks=1, d_layers=1,
                                        batch_size=1, pool_size=3, use_dropout=True, ema_decay=0.9), **overrides})


def layer_seed_states(model):
    """The seed-generator state variables of the networks' layers (Dropout here), each once."""
    found = {id(v): v for net in model.nets.values() for v in net.non_trainable_variables
             if "seed_generator" in v.path}
    return list(found.values())


def training_state_arrays(model):
    """The state a checkpoint must carry besides weights and optimizer slots, as {name: numpy array}."""
    out = {"seed": np.asarray(model.seed_generator.state)}
    for name in ("pool_A", "pool_B"):
        pool = getattr(model, name)
        out.update({f"{name}/images": pool.images.numpy(), f"{name}/count": pool.count.numpy(),
                    f"{name}/seed": np.asarray(pool.seed_generator.state)})
    out.update({f"layer_seed/{i}": np.asarray(v) for i, v in enumerate(layer_seed_states(model))})
    out.update({f"ema/{i}": np.asarray(v) for i, v in enumerate(getattr(model, "_ema_list", []))})
    return out


def test_checkpoint_holds_pools_seed_streams_and_ema(tmp_path, rng):
    config = tiny_cyclegan()
    model = build_model(config)
    model.compile()
    assert layer_seed_states(model), "use_dropout should give the generators seeded Dropout layers"
    # move every piece of state away from its initial value
    for name in ("pool_A", "pool_B"):
        pool = getattr(model, name)
        pool.images.assign(rng.uniform(-1, 1, pool.images.shape).astype("float32"))
        pool.count.assign(2)
        pool.seed_generator.next()
    model.seed_generator.next()
    for i, v in enumerate(layer_seed_states(model)):
        v.assign(np.asarray(v) + [i + 1, 7])
    for v in model._ema_list:
        v.assign(rng.normal(size=v.shape).astype("float32"))
    expected = training_state_arrays(model)

    callback = CheckpointCallback(str(tmp_path))
    callback.set_model(model)
    callback.save(3)
    names = [n for n, _ in tf.train.list_variables(tf.train.latest_checkpoint(str(tmp_path)))]
    for entry in ("pool_A/images", "pool_A/count", "pool_A_seeds", "pool_B_seeds", "layer_seeds", "ema", "seed"):
        assert any(n.startswith(entry) for n in names), entry

    fresh = build_model(config)
    fresh.compile()
    assert restore_latest(fresh, str(tmp_path)) == 3
    restored = training_state_arrays(fresh)
    assert restored.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(restored[key], expected[key], err_msg=key)

    # inference loading brings the EMA weights too (what translate / export use)
    loaded = load_for_inference(str(tmp_path))
    for a, b in zip(loaded._ema_list, model._ema_list):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_older_checkpoint_without_the_new_state_still_resumes_with_a_warning(tmp_path):
    config = tiny_cyclegan()
    model = build_model(config)
    model.compile()
    model.pool_A.count.assign(3)
    # what checkpoints held before exact resume: networks, optimizers, the model's seed state and the epoch
    old = dict(model.nets, **{f"opt_{n}": o for n, o in model.optimizers_by_name.items()},
               seed=model.seed_generator.state, epoch=tf.Variable(2, dtype=tf.int64))
    tf.train.CheckpointManager(tf.train.Checkpoint(**old), str(tmp_path), max_to_keep=3).save(checkpoint_number=2)
    config.save(str(tmp_path / "config.json"))

    fresh = build_model(config)
    fresh.compile()
    fresh.pool_A.count.assign(1)
    with pytest.warns(UserWarning, match="does not continue exactly"):
        assert restore_latest(fresh, str(tmp_path)) == 2
    assert int(fresh.pool_A.count.numpy()) == 0  # an image pool it had no data for starts empty
    for name in fresh.ema_targets:  # the EMA starts from the restored weights, not from the random init
        for v in fresh.nets[name].trainable_variables:
            np.testing.assert_array_equal(np.asarray(fresh.ema_weights[id(v)]), np.asarray(v))


def test_sample_grid_leaves_every_seed_stream_as_it_was(tmp_path, rng):
    model = build_model(tiny_cyclegan(nz=2, ema_decay=0.0))  # with a latent code, translating draws z
    before = training_state_arrays(model)
    images = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    grid = SampleGrid(images, out_dir=str(tmp_path), images_B=images)
    grid.set_model(model)
    grid.on_epoch_end(0)
    assert (tmp_path / "epoch_0001.png").is_file()
    after = training_state_arrays(model)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)


# --- real runs: straight vs killed and resumed -------------------------------------------------------------------
RUN_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    import keras
    import numpy as np
    from tfgan_i2i.config import preset
    from tfgan_i2i.data import sample_dir
    from tfgan_i2i.training import train

    name, logdir, epochs, steps, pause_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    steps = None if steps == "none" else int(steps)

    class Pause(keras.callbacks.Callback):  # holds the run after that epoch's checkpoint, for the test to kill it
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == pause_at:
                time.sleep(300)

    small = dict(image_size=32, load_size=36, ngf=8, ndf=8, batch_size=2, epochs=2, epochs_decay=2, seed=3,
                 use_dropout=False)
    if name == "cyclegan":  # image pools of 4 are full after 2 steps: swaps from the pool matter from then on
        # (no identity terms: they draw nothing and only lengthen the graph tracing)
        config = preset("cyclegan", g_blocks=1, d_layers=1, pool_size=4, lambda_identity=0.0, **small)
    else:  # BicycleGAN: z draws from the model's seed stream every step, EMA weights
        config = preset("bicyclegan", nef=8, e_blocks=2, num_D=1, d_layers=1, ema_decay=0.9, **small)
    model, history = train(config, sample_dir(), logdir, epochs=epochs, steps_per_epoch=steps, sample_k=1,
                           num_fixed=1, verbose=0, callbacks=[Pause()] if pause_at else [])
    arrays = {f"{n}/{i}": w for n, net in model.nets.items() for i, w in enumerate(net.get_weights())}
    arrays.update({f"opt_{n}/{i}": np.asarray(v) for n, o in model.optimizers_by_name.items()
                   for i, v in enumerate(o.variables)})
    arrays.update({f"ema/{i}": np.asarray(v) for i, v in enumerate(getattr(model, "_ema_list", []))})
    np.savez(os.path.join(logdir, "final.npz"), **arrays)
    print("RESULT " + json.dumps({"epochs": history.epoch}), flush=True)
""")

# Same thread counts in every run: a different intra-op partition could change float sums in the last bit.
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")


def checkpoint_arrays(directory):
    """Every variable of the newest checkpoint in `directory` but the save counter (it counts this process's saves)."""
    path = tf.train.latest_checkpoint(directory)
    return {name: tf.train.load_variable(path, name) for name, _ in tf.train.list_variables(path)
            if not name.startswith(("save_counter", "_CHECKPOINTABLE_OBJECT_GRAPH"))}


def max_difference(a: dict, b: dict) -> float:
    assert sorted(a) == sorted(b)
    return max(float(np.abs(np.asarray(a[k], np.float64) - np.asarray(b[k], np.float64)).max()) if np.size(a[k])
               else 0.0 for k in a)


@pytest.mark.parametrize("model, steps", [("cyclegan", None), ("bicyclegan", 3)],
                         ids=["cyclegan-one-pass-epochs", "bicyclegan-repeating-3-steps"])
def test_straight_run_equals_killed_and_resumed_run(tmp_path, model, steps):
    epochs = 4
    script = tmp_path / "run.py"
    script.write_text(RUN_SCRIPT)
    straight_dir, resumed_dir = tmp_path / "straight", tmp_path / "resumed"

    def command(logdir, pause_at):
        return [sys.executable, str(script), model, str(logdir), str(epochs), "none" if steps is None else str(steps),
                str(pause_at)]

    def start(logdir, pause_at):
        with open(tmp_path / f"{logdir.name}.log", "a") as log:  # files, not pipes: a full pipe would block the run
            return subprocess.Popen(command(logdir, pause_at), env=ENV, stdout=log, stderr=subprocess.STDOUT)

    def log(logdir):
        return (tmp_path / f"{logdir.name}.log").read_text()[-3000:]

    # the straight run and the run to kill side by side (one core each)
    straight, doomed = start(straight_dir, 0), start(resumed_dir, epochs // 2)
    try:
        deadline = time.monotonic() + 240
        while read_checkpoint_epoch(str(resumed_dir / "checkpoints")) < epochs // 2:
            assert doomed.poll() is None, log(resumed_dir)
            assert time.monotonic() < deadline, "no checkpoint of epoch N/2 within 240 s"
            time.sleep(0.05)
        assert doomed.poll() is None  # still running: killed before it finished
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
        assert doomed.returncode == -signal.SIGKILL
        assert read_checkpoint_epoch(str(resumed_dir / "checkpoints")) == epochs // 2

        # the same command again, without the pause: it resumes from the checkpoint of epoch N/2
        resumed = subprocess.run(command(resumed_dir, 0), env=ENV, capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert json.loads(resumed.stdout.split("RESULT ", 1)[1])["epochs"] == list(range(epochs // 2, epochs))
        assert straight.wait(timeout=300) == 0, log(straight_dir)
    finally:
        for proc in (straight, doomed):
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    final_straight, final_resumed = (dict(np.load(d / "final.npz")) for d in (straight_dir, resumed_dir))
    assert len(final_straight) > 50  # networks, optimizer slots (and EMA copies)
    # the last checkpoints agree too: weights, slots, step counts, pools, seed streams, EMA, the epoch
    ckpt_straight, ckpt_resumed = (checkpoint_arrays(str(d / "checkpoints")) for d in (straight_dir, resumed_dir))
    weights, everything = max_difference(final_straight, final_resumed), max_difference(ckpt_straight, ckpt_resumed)
    print(f"{model}: max |straight - resumed| over {len(final_straight)} weight/slot arrays {weights:.3g}, "
          f"over {len(ckpt_straight)} checkpoint entries {everything:.3g}")
    assert weights <= RESUME_TOLERANCE and everything <= RESUME_TOLERANCE
