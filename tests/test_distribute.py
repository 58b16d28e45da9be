"""tf.distribute: strategy selection, MirroredStrategy on 2 logical CPUs == one device, and two TF_CONFIG workers on
127.0.0.1 that train through `train()`, end with identical weights, leave writing to the chief, and resume from the
last checkpoint after a worker is SIGKILLed.

Anything that configures logical devices or TF_CONFIG runs in a subprocess, so nothing leaks into other tests; every
subprocess has a deadline and is killed on failure.
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest

from tfgan_i2i.training import strategy as S
from tfgan_i2i.training.callbacks import read_checkpoint_epoch

# Max |difference| allowed between the weights of 2 mirrored replicas and of one device on the same global batch,
# after 3 SGD steps that move the weights by ~0.2 (float32 sums in another order; measured ~6e-7). A wrong loss
# average (a sum over replicas, i.e. a doubled update) would differ by ~0.2.
MIRRORED_TOLERANCE = 1e-5


@pytest.fixture
def clean_env(monkeypatch):
    """No TF_CONFIG and no TPU hints, so selection sees this machine as it is."""
    for name in ("TF_CONFIG", *S._TPU_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _env(**extra):
    """Subprocess environment: quiet TF, one op thread per process (2 workers share 2 cores), the given variables."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="2", **extra)
    return env


def _free_ports(n):
    """n currently free TCP ports on 127.0.0.1."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _tf_config(ports, index):
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


# --- selection (in-process: nothing here configures the runtime) -----------------------------------------------------
def test_auto_on_this_machine_is_the_default_one_device_strategy(clean_env):
    import tensorflow as tf

    strategy = S.make_strategy("auto")
    assert strategy is tf.distribute.get_strategy()  # the default strategy
    assert strategy.num_replicas_in_sync == 1
    assert S.is_chief(strategy) and S.num_workers(strategy) == 1
    assert S.global_batch_size(3, strategy) == 3
    assert S.make_strategy(None) is strategy and S.make_strategy(strategy) is strategy


def test_tpu_without_tpu_fails_fast_with_a_clear_error(clean_env):
    start = time.monotonic()
    with pytest.raises(S.StrategyError, match="no TPU found"):
        S.make_strategy("tpu")
    assert time.monotonic() - start < 5


def test_cli_train_strategy_tpu_fails_fast(clean_env, tmp_path, capsys):
    from tfgan_i2i.cli import main

    start = time.monotonic()
    logdir = tmp_path / "run"
    status = main(["train", "--model", "pix2pix", "--size", "32", "--logdir", str(logdir), "--strategy", "tpu"])
    assert status == 2
    assert "no TPU found" in capsys.readouterr().err
    assert time.monotonic() - start < 10
    assert not logdir.exists()  # decided before anything is written


def test_multi_worker_needs_tf_config_and_bad_names_are_rejected(clean_env):
    with pytest.raises(S.StrategyError, match="TF_CONFIG"):
        S.make_strategy("multi-worker")
    clean_env.setenv("TF_CONFIG", "{not json")
    with pytest.raises(S.StrategyError, match="not valid JSON"):
        S.make_strategy("multi-worker")
    with pytest.raises(S.StrategyError, match="unknown strategy 'gpu'"):
        S.make_strategy("gpu")


def test_chief_is_worker_0_or_the_chief_task(clean_env):
    assert S.is_chief()  # no TF_CONFIG: one process, it writes
    workers = {"worker": ["h0:1", "h1:1"]}
    for task, chief in ((("worker", 0), True), (("worker", 1), False)):
        clean_env.setenv("TF_CONFIG", json.dumps({"cluster": workers, "task": dict(zip(("type", "index"), task))}))
        assert S.is_chief() is chief
        assert S.cluster_tasks() == 2
    with_chief = {"chief": ["c:1"], **workers}
    for task, chief in ((("chief", 0), True), (("worker", 0), False)):
        clean_env.setenv("TF_CONFIG", json.dumps({"cluster": with_chief, "task": dict(zip(("type", "index"), task))}))
        assert S.is_chief() is chief
        assert S.cluster_tasks() == 3


# --- MirroredStrategy on 2 logical CPUs == one device -----------------------------------------------------------------
MIRRORED_SCRIPT = textwrap.dedent("""
    import json
    import keras
    import numpy as np
    import tensorflow as tf

    LR = 0.05
    # Seeded initial weights: with some random inits instance norm of a near-constant channel amplifies the float
    # summation-order noise (~1e-7) to ~1e-3 within 3 steps (seen once in CI); a fixed init keeps the check exact.
    keras.utils.set_random_seed(0)
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from tfgan_i2i.config import preset
    from tfgan_i2i.models import build_model
    from tfgan_i2i.training.strategy import global_batch_size, make_strategy

    mirrored = make_strategy("mirrored")
    # instance norm and no dropout: no per-replica batch statistics or random masks, so the math is the same
    config = preset("pix2pix", image_size=32, load_size=32, ngf=8, ndf=8, batch_size=2, nz=0, norm="instance",
                    d_norm="instance", use_dropout=False)
    # Plain SGD: Adam is invariant to the gradient's scale, so it would hide a wrong average (e.g. a sum over
    # replicas); SGD's update is proportional to it.
    sgd = lambda m: {name: keras.optimizers.SGD(LR) for name in m.nets}
    with mirrored.scope():
        two = build_model(config)
        two.compile(sgd(two))
    one = build_model(config)
    one.compile(sgd(one))
    for name, net in one.nets.items():  # initialisers are not seeded: start both from the same weights
        net.set_weights(two.nets[name].get_weights())
    start = [w.copy() for w in one.G.get_weights()]
    rng = np.random.default_rng(0)
    A, B = (rng.uniform(-1, 1, (12, 32, 32, 3)).astype("float32") for _ in range(2))
    batch = global_batch_size(config.batch_size, mirrored)
    data = tf.data.Dataset.from_tensor_slices((A, B)).batch(batch)
    logs = {}
    for label, model in (("one", one), ("two", two)):
        logs[label] = model.fit(data, epochs=1, steps_per_epoch=3, verbose=0).history
    weights = lambda m: [w for net in m.nets.values() for w in net.get_weights()]
    diff = max(float(np.abs(a - b).max()) for a, b in zip(weights(one), weights(two)))
    moved = max(float(np.abs(a - b).max()) for a, b in zip(start, one.G.get_weights()))

    # batch norm (the preset's): each replica updates its own copy of the moving statistics from its local batch;
    # SyncMovingStatistics (which train() runs every epoch) replaces them by their mean
    from tfgan_i2i.training.strategy import SyncMovingStatistics
    with mirrored.scope():
        bn = build_model(preset("pix2pix", image_size=32, load_size=32, ngf=8, ndf=8, batch_size=2, nz=0))
        bn.compile()
    bn.fit(data, epochs=1, steps_per_epoch=1, verbose=0)
    stat = [v for v in bn.D.non_trainable_variables if "moving_mean" in v.path][0]
    copies = lambda: [np.asarray(x) for x in mirrored.experimental_local_results(stat.value)]
    before = copies()
    sync = SyncMovingStatistics(mirrored)
    sync.set_model(bn)
    sync.sync()
    after = copies()

    # latent codes: every replica draws its own z from the model's (mirrored) seed stream
    with mirrored.scope():
        bicycle = build_model(preset("bicyclegan", image_size=32, load_size=32, ngf=8, ndf=8, nef=8, batch_size=2))
    z = mirrored.experimental_local_results(tf.function(lambda: mirrored.run(lambda: bicycle.random_z(2)))())
    print("RESULT", json.dumps({"replicas": mirrored.num_replicas_in_sync, "batch": batch, "diff": diff,
                                "moved": moved, "logs": logs,
                                "bn_before": float(np.abs(before[0] - before[1]).max()),
                                "bn_after": float(np.abs(after[0] - after[1]).max()),
                                "bn_mean": float(np.abs(after[0] - (before[0] + before[1]) / 2).max()),
                                "z_gap": float(np.abs(np.asarray(z[0]) - np.asarray(z[1])).min())}))
""")


def test_mirrored_two_logical_cpus_match_one_device_sync_batch_norm_and_draw_own_z(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], env=_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = _result(proc.stdout)
    assert result["replicas"] == 2 and result["batch"] == 4
    assert result["moved"] > 1e-2  # the 3 steps really changed the weights
    assert result["diff"] < MIRRORED_TOLERANCE, result
    for name, values in result["logs"]["one"].items():  # logged losses agree too (mean over replicas)
        assert values == pytest.approx(result["logs"]["two"][name], rel=1e-3, abs=1e-4), name
    assert result["bn_before"] > 1e-5  # replicas' batch-norm statistics drifted apart ...
    assert result["bn_after"] == 0.0 and result["bn_mean"] < 1e-6  # ... and were replaced by their mean
    assert result["z_gap"] > 0  # replicas draw different latent codes (not the same z for different examples)


# --- two workers on 127.0.0.1 -----------------------------------------------------------------------------------------
WORKER_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    import keras
    import numpy as np
    from tfgan_i2i.config import preset
    from tfgan_i2i.data import sample_dir
    from tfgan_i2i.training import train

    index, logdir, out, epochs, pause = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])

    class Pause(keras.callbacks.Callback):  # slows epochs down so the test can kill a worker mid-run
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(pause)

    # the pix2pix preset as it is (batch norm, dropout), only small
    config = preset("pix2pix", image_size=32, load_size=36, ngf=8, ndf=8, batch_size=2)
    model, history = train(config, sample_dir(), logdir, epochs=epochs, steps_per_epoch=2, verbose=2,
                           strategy="auto", sample_k=1, num_fixed=2, callbacks=[Pause()])
    arrays = [w for net in model.nets.values() for w in net.get_weights()]
    arrays += [np.asarray(v) for opt in model.optimizers_by_name.values() for v in opt.variables]
    np.savez(os.path.join(out, f"weights{index}.npz"), *arrays)
    print("RESULT", json.dumps({"epochs": history.epoch, "pid": os.getpid()}), flush=True)
""")


class Cluster:
    """Two worker processes of one TF_CONFIG cluster on 127.0.0.1 (fresh free ports per launch)."""

    def __init__(self, tmp_path, logdir, out):
        self.script = tmp_path / "worker.py"
        self.script.write_text(WORKER_SCRIPT)
        self.tmp_path, self.logdir, self.out = tmp_path, logdir, out
        self.procs, self.launches = [], 0

    def start(self, epochs, pause):
        ports = _free_ports(2)
        self.launches += 1
        self.procs = []
        for index in range(2):
            log = open(self.tmp_path / f"launch{self.launches}_worker{index}.log", "w")
            self.procs.append(subprocess.Popen(
                [sys.executable, str(self.script), str(index), str(self.logdir), str(self.out), str(epochs),
                 str(pause)], env=_env(TF_CONFIG=_tf_config(ports, index)), stdout=log, stderr=subprocess.STDOUT,
                cwd=self.tmp_path))
            log.close()
        return self.procs

    def log(self, index):
        return (self.tmp_path / f"launch{self.launches}_worker{index}.log").read_text()

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        return [p.returncode for p in self.procs]

    def kill_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


def _worker1_tmp(checkpoint_dir):
    """The temporary checkpoint folder worker 1 (not the chief) writes to (see strategy.worker_dir)."""
    digest = hashlib.sha1(os.path.abspath(str(checkpoint_dir)).encode()).hexdigest()[:10]
    return os.path.join(tempfile.gettempdir(), f"tfgan_i2i_worker1_{digest}")


def _result(text):
    return json.loads(text.split("RESULT", 1)[1].splitlines()[0])


def test_two_workers_identical_weights_chief_writes_and_killed_worker_resumes(tmp_path):
    logdir, out = tmp_path / "run", tmp_path / "out"
    out.mkdir()
    ckpt = logdir / "checkpoints"
    epochs = 4
    cluster = Cluster(tmp_path, logdir, out)
    try:
        # launch 1: train until the chief has checkpointed 2 epochs, then SIGKILL worker 1
        chief, worker = cluster.start(epochs, pause=1.0)
        deadline = time.monotonic() + 150
        while read_checkpoint_epoch(str(ckpt)) < 2:
            assert time.monotonic() < deadline, "no checkpoint after 150 s:\n" + cluster.log(0)[-3000:]
            assert chief.poll() is None and worker.poll() is None, cluster.log(0)[-3000:] + cluster.log(1)[-3000:]
            time.sleep(0.2)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        # the chief's next collective fails ("tasks are unhealthy (stopped sending heartbeats)"): the whole cluster
        # has to be restarted, as with any MultiWorkerMirroredStrategy job
        try:
            chief.wait(timeout=90)
        except subprocess.TimeoutExpired:
            chief.kill()
            chief.wait(timeout=30)
        assert "RESULT" not in cluster.log(0), "the chief finished although its peer was killed"
        resume_from = read_checkpoint_epoch(str(ckpt))
        assert 2 <= resume_from < epochs
        chief_pids = {chief.pid}

        # launch 2: the same command on both workers resumes from the chief's last checkpoint and finishes
        cluster.start(epochs, pause=0.0)
        codes = cluster.wait(timeout=200)
        assert codes == [0, 0], cluster.log(0)[-3000:] + "\n-----\n" + cluster.log(1)[-3000:]
        chief_pids.add(cluster.procs[0].pid)
    finally:
        cluster.kill_all()
        shutil.rmtree(_worker1_tmp(ckpt), ignore_errors=True)  # left behind only if the last launch failed

    for index in range(2):
        text = cluster.log(index)
        assert f"resuming from epoch {resume_from} of {epochs}" in text
        assert "2 replica(s), 2 worker(s)" in text  # strategy="auto" picked MultiWorkerMirroredStrategy
        assert _result(text)["epochs"] == list(range(resume_from, epochs))
    assert read_checkpoint_epoch(str(ckpt)) == epochs

    # identical weights on both workers: networks (incl. batch-norm moving statistics) and optimizer states
    w0, w1 = np.load(out / "weights0.npz"), np.load(out / "weights1.npz")
    assert len(w0.files) == len(w1.files) > 50
    for key in w0.files:
        np.testing.assert_array_equal(w0[key], w1[key], err_msg=key)

    # only the chief wrote: every event file carries a chief's pid, the sample grids are there, and the
    # non-chief's temporary checkpoint folder is gone
    events = [f for _, _, files in os.walk(logdir) for f in files if f.startswith("events.out.tfevents")]
    assert events and all(int(f.split(".")[-3]) in chief_pids for f in events), (events, chief_pids)
    assert (logdir / "samples" / f"epoch_{epochs:04d}.png").is_file()
    assert sorted(p.name for p in ckpt.iterdir() if p.suffix == ".index")[-1] == f"ckpt-{epochs}.index"
    assert not os.path.exists(_worker1_tmp(ckpt))
