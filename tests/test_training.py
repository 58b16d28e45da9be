"""Training callbacks: LR schedule numbers, sample grid files, checkpoint/resume in-process and after a real SIGKILL."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_i2i.config import preset
from tfgan_i2i.data import sample_dir
from tfgan_i2i.models import build_model
from tfgan_i2i.training import (CheckpointCallback, CheckpointError, LinearDecay, LRSchedule, SampleGrid,
                                load_for_inference, read_checkpoint_epoch, restore_latest, train)

TINY = dict(image_size=32, load_size=32, ngf=8, ndf=8, nef=8, batch_size=2)


def tiny(model="bicyclegan", **overrides):
    """A preset shrunk to 32 px and 8 base channels, so a step takes milliseconds."""
    return preset(model, **{**TINY, **overrides})


def toy_dataset(n=4, batch=2, seed=0):
    """(A, B) batches of random images in [-1, 1]."""
    rng = np.random.default_rng(seed)
    A, B = (rng.uniform(-1, 1, (n, 32, 32, 3)).astype("float32") for _ in range(2))
    return tf.data.Dataset.from_tensor_slices((A, B)).batch(batch)


def weights_of(model):
    """Every network's weights and every optimizer's variables (incl. iterations) as numpy arrays."""
    nets = {name: [np.array(w) for w in net.get_weights()] for name, net in model.nets.items()}
    opts = {name: [np.array(v) for v in opt.variables] for name, opt in model.optimizers_by_name.items()}
    return nets, opts


# --- LinearDecay ---------------------------------------------------------------------------------------------------
def test_linear_decay_hand_numbers_and_optimizers_follow():
    model = build_model(tiny("pix2pix", lr=1e-3))
    model.compile()
    cb = LinearDecay(epochs=3, epochs_decay=4)
    cb.set_model(model)
    # lr = 1e-3 * (1 - max(0, e + 1 - 3) / 5): flat for epochs 0..2, then 0.8, 0.6, 0.4, 0.2 of the base
    expected = {0: 1e-3, 2: 1e-3, 3: 0.8e-3, 6: 0.2e-3}
    for epoch, lr in expected.items():
        assert cb.lr_at(epoch) == pytest.approx(lr)
        cb.on_epoch_begin(epoch)
        for name, opt in model.optimizers_by_name.items():
            assert float(np.asarray(opt.learning_rate)) == pytest.approx(lr, rel=1e-6), name
        logs = {"G_L1": 1.0}
        cb.on_epoch_end(epoch, logs)
        assert logs["lr"] == pytest.approx(lr)
    assert LinearDecay(3, 4, base_lr=2.0).factor(6) == pytest.approx(0.2)


# --- LRSchedule: the preset's lr_policy, per optimizer -----------------------------------------------------------
def lrs(model):
    return {name: float(np.asarray(opt.learning_rate)) for name, opt in model.optimizers_by_name.items()}


def schedule_for(config):
    model = build_model(config)
    model.compile()
    cb = LRSchedule()
    cb.set_model(model)
    return model, cb


def test_lr_schedule_linear_policy_equals_linear_decay():
    # what train() applied before lr_policy existed, for every preset with the linear policy
    model, cb = schedule_for(tiny("bicyclegan", lr=1e-3, epochs=3, epochs_decay=4))
    old = LinearDecay(3, 4)
    old.set_model(model)
    for epoch in range(8):
        assert cb.lr_at(epoch, "G") == pytest.approx(old.lr_at(epoch))
        cb.on_epoch_begin(epoch)
        assert lrs(model) == pytest.approx({n: old.lr_at(epoch) for n in ("G", "E", "D", "D2")})
        logs = {}
        cb.on_epoch_end(epoch, logs)
        assert logs == {"lr": pytest.approx(old.lr_at(epoch))}  # one lr for all: no per-optimizer entries


def test_lr_schedule_constant_policy_stays_constant_over_epochs():
    # UNIT / AVB-GTN / DCGAN presets: constant; epochs and epochs_decay would decay it under the old LinearDecay
    model, cb = schedule_for(tiny("pix2pix", lr=1e-3, lr_policy="constant", epochs=1, epochs_decay=2))
    for epoch in range(6):
        cb.on_epoch_begin(epoch)
        assert lrs(model) == pytest.approx({"G": 1e-3, "D": 1e-3})
    assert preset("unit").lr_policy == preset("avb-gtn").lr_policy == preset("dcgan").lr_policy == "constant"


def test_lr_schedule_step_policy_halves_at_the_optimizers_own_iteration():
    model, cb = schedule_for(tiny("pix2pix", lr=1e-3, lr_policy="step", lr_step=100, lr_gamma=0.5))
    cb.on_train_begin()
    cb.on_epoch_begin(0)
    for g_iterations, d_iterations, g_lr, d_lr in ((0, 0, 1e-3, 1e-3), (99, 100, 1e-3, 5e-4), (100, 199, 5e-4, 5e-4),
                                                   (250, 300, 2.5e-4, 1.25e-4)):
        model.optimizers_by_name["G"].iterations.assign(g_iterations)
        model.optimizers_by_name["D"].iterations.assign(d_iterations)
        cb.on_train_batch_begin(0)
        assert lrs(model) == pytest.approx({"G": g_lr, "D": d_lr}), (g_iterations, d_iterations)


def test_lr_schedule_step_policy_inside_fit_steps_per_iteration():
    model, cb = schedule_for(tiny("pix2pix", lr=1e-3, lr_policy="step", lr_step=2, lr_gamma=0.5))
    seen = []

    class Record(keras.callbacks.Callback):  # after the schedule: the lr each update uses
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(lrs(self.model)["G"])

    history = model.fit(toy_dataset(n=10, batch=2), epochs=1, callbacks=[cb, Record()], verbose=0, shuffle=False)
    assert seen == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4])  # iterations 0..4 // 2
    assert history.history["lr"] == [pytest.approx(2.5e-4)]  # the lr of the epoch's last update


def test_lr_schedule_gives_lr_d_to_the_discriminators_only():
    model, cb = schedule_for(tiny("bicyclegan", lr=1e-3, lr_D=4e-3, epochs=1, epochs_decay=1))
    for epoch, factor in ((0, 1.0), (1, 0.5)):
        cb.on_epoch_begin(epoch)
        assert lrs(model) == pytest.approx({"G": 1e-3 * factor, "E": 1e-3 * factor, "D": 4e-3 * factor,
                                            "D2": 4e-3 * factor})
        logs = {}
        cb.on_epoch_end(epoch, logs)
        assert logs == pytest.approx({"lr": 1e-3 * factor, "lr_D": 4e-3 * factor, "lr_D2": 4e-3 * factor})
    # the unpaired groups: G, D and the AVB adversary T (avb-gtn: lr_T = 10 x lr)
    config = preset("avb-gtn", image_size=32, load_size=32, ngf=8, ndf=8, ntf=8, n_res=1, num_D=1, d_layers=1)
    model, cb = schedule_for(config)
    cb.on_epoch_begin(5)
    assert lrs(model) == pytest.approx({"G": 1e-4, "D": 1e-4, "T": 1e-3})


def test_train_follows_the_configs_lr_policy_and_lr_d(tmp_path):
    # before lr_policy, train() always applied LinearDecay(epochs, epochs_decay) with config.lr for every optimizer
    config = tiny("pix2pix", lr=2e-4, lr_D=1e-3, lr_policy="constant", epochs=1, epochs_decay=1)
    model, history = train(config, sample_dir(), str(tmp_path), epochs=2, steps_per_epoch=1, sample_k=1, num_fixed=1,
                           verbose=0)
    assert history.history["lr"] == pytest.approx([2e-4, 2e-4])
    assert history.history["lr_D"] == pytest.approx([1e-3, 1e-3])
    assert lrs(model) == pytest.approx({"G": 2e-4, "D": 1e-3})


# --- SampleGrid ----------------------------------------------------------------------------------------------------
def test_sample_grid_writes_png_and_tensorboard_image(tmp_path, rng):
    model = build_model(tiny("bicyclegan", input_nc=1))
    A = rng.uniform(-1, 1, (3, 32, 32, 1)).astype("float32")
    B = rng.uniform(-1, 1, (3, 32, 32, 3)).astype("float32")
    out = tmp_path / "png"
    cb = SampleGrid(A, logdir=str(tmp_path), out_dir=str(out), k=2, seed=0, every=2, images_B=B)
    cb.set_model(model)
    cb.on_epoch_end(0)
    assert not out.exists()  # every=2: nothing after the first epoch
    cb.on_epoch_end(1)
    cb.on_epoch_end(3)
    cb.on_train_end()
    grid = np.asarray(Image.open(out / "epoch_0002.png"))
    assert grid.shape == (3 * 32, (2 + 2) * 32, 3)  # rows x [A | B | 2 samples]
    gray = grid[:32, :32].astype(int)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()  # 1-channel A in gray
    # fixed z and unchanged weights: the same grid every time; the two z columns differ
    assert (np.asarray(Image.open(out / "epoch_0004.png")) == grid).all()
    assert (np.asarray(Image.open(out / "latest.png")) == grid).all()
    assert np.abs(grid[:, 64:96].astype(int) - grid[:, 96:128].astype(int)).mean() > 0

    events = [os.path.join(tmp_path, "samples", f) for f in os.listdir(tmp_path / "samples")]
    steps = []
    for path in events:
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "samples":
                    assert value.metadata.plugin_data.plugin_name == "images"
                    steps.append(event.step)
    assert sorted(steps) == [1, 3]

    # no latent code: one output column instead of k identical ones
    cb = SampleGrid(A[:, :, :, :1].repeat(3, -1), out_dir=str(tmp_path / "p2p"), k=3)
    cb.set_model(build_model(tiny("pix2pix")))
    cb.on_epoch_end(0)
    assert np.asarray(Image.open(tmp_path / "p2p" / "epoch_0001.png")).shape == (3 * 32, 2 * 32, 3)


# --- checkpoints ---------------------------------------------------------------------------------------------------
def test_checkpoint_restore_matches_saved_state_and_resumes(tmp_path):
    config = tiny("bicyclegan", epochs=2, epochs_decay=1)
    ckpt = str(tmp_path / "ckpt")
    first = build_model(config)
    first.compile()
    first.fit(toy_dataset(), epochs=2, callbacks=[CheckpointCallback(ckpt)], verbose=0, shuffle=False)
    nets, opts = weights_of(first)
    seed_state = np.array(first.seed_generator.state)
    assert {n: int(o.iterations) for n, o in first.optimizers_by_name.items()} == {"G": 4, "E": 4, "D": 4, "D2": 4}

    second = build_model(config)
    second.compile()
    assert restore_latest(second, ckpt) == 2
    nets2, opts2 = weights_of(second)
    for name in nets:
        assert all(np.array_equal(a, b) for a, b in zip(nets[name], nets2[name])), name
        assert all(np.array_equal(a, b) for a, b in zip(opts[name], opts2[name])), f"optimizer {name}"
    assert np.array_equal(np.array(second.seed_generator.state), seed_state)

    history = second.fit(toy_dataset(), epochs=3, initial_epoch=2,
                         callbacks=[LinearDecay(2, 1), CheckpointCallback(ckpt)], verbose=0, shuffle=False)
    assert history.epoch == [2]
    assert history.history["lr"] == [pytest.approx(config.lr / 2)]
    assert read_checkpoint_epoch(ckpt) == 3
    assert int(second.optimizers_by_name["G"].iterations) == 6
    assert sorted(f for f in os.listdir(ckpt) if f.endswith(".index")) == ["ckpt-1.index", "ckpt-2.index",
                                                                         "ckpt-3.index"]
    # inference loading restores the networks only
    loaded = load_for_inference(ckpt)
    assert all(np.array_equal(a, b) for a, b in zip(loaded.G.get_weights(), second.G.get_weights()))


def test_restore_latest_without_checkpoints_returns_zero(tmp_path):
    model = build_model(tiny("pix2pix"))
    model.compile()
    assert restore_latest(model, str(tmp_path / "nothing-here")) == 0
    assert restore_latest(model, str(tmp_path)) == 0


def test_mismatched_config_in_logdir_is_a_clear_error(tmp_path):
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    tiny("pix2pix").save(str(ckpt / "config.json"))
    model = build_model(tiny("bicyclegan"))
    model.compile()
    with pytest.raises(CheckpointError) as err:
        restore_latest(model, str(ckpt))
    message = str(err.value)
    assert str(ckpt / "config.json") in message and "model: saved 'pix2pix', now 'bicyclegan'" in message
    assert "--logdir" in message and "--no-resume" in message

    tiny("bicyclegan", image_size=64, load_size=64).save(str(ckpt / "config.json"))
    with pytest.raises(CheckpointError, match="image_size: saved 64, now 32"):
        restore_latest(model, str(ckpt))
    # train() refuses before touching the logdir's own config.json
    with pytest.raises(CheckpointError, match="image_size"):
        train(tiny("bicyclegan"), sample_dir(), str(tmp_path), verbose=0)
    assert not (tmp_path / "config.json").exists()


# A training run in its own process, so the test can SIGKILL it like a crash or a pre-empted machine would.
TRAIN_SCRIPT = textwrap.dedent("""
    import json, os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tfgan_i2i.config import preset
    from tfgan_i2i.data import sample_dir
    from tfgan_i2i.training import train
    logdir, epochs = sys.argv[1], int(sys.argv[2])
    config = preset("pix2pix", image_size=32, load_size=36, ngf=8, ndf=8, batch_size=2, epochs=500, epochs_decay=500)
    model, history = train(config, sample_dir(), logdir, epochs=epochs, steps_per_epoch=1, sample_k=1,
                           num_fixed=1, verbose=0)
    print("RESULT " + json.dumps({"epochs": history.epoch, "G_iterations": int(model.optimizers_by_name["G"].iterations)}))
""")


def test_killed_training_resumes_from_last_checkpoint(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(TRAIN_SCRIPT)
    logdir = tmp_path / "run"
    state = logdir / "checkpoints" / "checkpoint"  # the manager's state file: present once a checkpoint is complete
    proc = subprocess.Popen([sys.executable, str(script), str(logdir), "1000"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not state.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = read_checkpoint_epoch(str(logdir / "checkpoints"))
    assert 1 <= done < 1000

    resumed = subprocess.run([sys.executable, str(script), str(logdir), str(done + 2)], capture_output=True,
                             timeout=180)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    result = json.loads(resumed.stdout.decode().split("RESULT ", 1)[1])
    assert result["epochs"] == [done, done + 1]  # continued at the checkpointed epoch, not from 0
    assert result["G_iterations"] == done + 2  # the optimizer's step count came back too (1 step per epoch)
    assert read_checkpoint_epoch(str(logdir / "checkpoints")) == done + 2
    assert (logdir / "samples" / f"epoch_{done + 2:04d}.png").exists()
