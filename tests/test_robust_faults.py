"""Faults a long run must survive: SIGKILL in and around checkpoint writes, a full disk or read-only logdir, and
model files that would run code when loaded."""
import errno
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tfgan_i2i.cli import main
from tfgan_i2i.config import preset
from tfgan_i2i.data import sample_dir

# The smallest real run: pix2pix (one latent-free G and one D) at 32 px with 4 base channels.
TINY = dict(image_size=32, load_size=32, ngf=4, ndf=4, nef=4, epochs_decay=0)
TINY_FLAGS = ["--model", "pix2pix", "--size", "32", "--load-size", "32", "--ngf", "4", "--ndf", "4", "--nef", "4",
              "--epochs-decay", "0", "--steps-per-epoch", "1", "--samples", "1", "--num-fixed", "1", "--quiet"]


def _env() -> dict:
    """The environment of a child training process: this checkout importable, TensorFlow's C++ logs off."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
            "TF_CPP_MIN_LOG_LEVEL": "3"}


# --- SIGKILL in and around checkpoint writes ---------------------------------------------------------------------
# One warm process imports TensorFlow once (the slow part) and forks a fresh training process per run: each fork
# has not touched the TensorFlow runtime yet, so it is what a new `python` would be after its imports. The test
# kills the training processes themselves with SIGKILL. They run train()'s steps eagerly: a graph trace of the
# first step costs 15-45 s on two busy cores, and the checkpoint code under test is the same either way.
ZYGOTE = r"""
import os, sys
import keras
import tensorflow as tf
from tfgan_i2i.config import Config
from tfgan_i2i.training import train


class Report(keras.callbacks.Callback):
    # Say 'saved N' once epoch N is checkpointed (this runs after train's CheckpointCallback).
    def on_epoch_end(self, epoch, logs=None):
        print(f"saved {epoch + 1}", flush=True)


config, data, logdir = Config.load(sys.argv[1]), sys.argv[2], sys.argv[3]
print("ready", flush=True)
for line in sys.stdin:  # one line per training run: LOG_FILE EPOCHS (0: the config's)
    log, epochs = line.split()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        tf.config.run_functions_eagerly(True)
        code = 0
        try:
            train(config, data, logdir, epochs=int(epochs) or None, steps_per_epoch=1, sample_k=1, num_fixed=1,
                  verbose=2, callbacks=[Report()])
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    print(f"pid {pid}", flush=True)
    _, status = os.waitpid(pid, 0)
    print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)
"""

KILLS = 10  # each costs one process's model build and 1-2 epochs (~5-15 s on 2 busy cores)
# A save shows as several changes (config.json's temporary file, the data's temporary folder, the data and index
# files, the old checkpoint's deletion, the state file): small k kill inside the first save after a resume, larger
# ones after it or in the next one.
CHANGES_TO_WAIT = (1, 1, 2, 2, 3, 3, 4, 5, 6, 8)
# Kills at a change count land wherever the save happens to be after the delay; on a fast machine a whole save can
# fit in one poll, so these runs instead wait for a save's data folder to appear and kill at once (inside the write).
KILLS_IN_DATA_WRITE = (2, 6)
FINAL_EPOCHS = 3  # the last, uninterrupted run trains this many epochs past the newest checkpoint


def _recorded_epoch(checkpoint_dir: str) -> int:
    """The epoch of the checkpoint tf's state file names (0 if none), checking its files exist."""
    state = os.path.join(checkpoint_dir, "checkpoint")
    if not os.path.isfile(state):
        return 0
    with open(state, encoding="utf-8") as f:
        match = re.search(r'^model_checkpoint_path: "(?:.*/)?ckpt-(\d+)"', f.read(), re.M)
    assert match, f"unreadable state file {state}"
    epoch = int(match.group(1))
    for suffix in (".index", ".data-00000-of-00001"):
        assert os.path.isfile(os.path.join(checkpoint_dir, f"ckpt-{epoch}{suffix}")), "state names a missing file"
    return epoch


def _snapshot(checkpoint_dir: str):
    """What a watcher can see change in the checkpoints folder: its names and the state file's mtime."""
    try:
        names = frozenset(os.listdir(checkpoint_dir))
        mtime = os.stat(os.path.join(checkpoint_dir, "checkpoint")).st_mtime_ns if "checkpoint" in names else 0
    except FileNotFoundError:
        return frozenset(), 0
    return names, mtime


def _phase(checkpoint_dir: str, recorded: int) -> str:
    """Where a save was when the kill landed, judged from the files left behind."""
    names = set(os.listdir(checkpoint_dir)) if os.path.isdir(checkpoint_dir) else set()
    if any(n.endswith("_temp") for n in names):
        return "writing data"
    if any(".tmp" in n for n in names):
        return "writing state/config"
    newest = max([int(m.group(1)) for n in names if (m := re.match(r"ckpt-(\d+)\.index$", n))], default=0)
    if newest > recorded:
        return "data written, state not yet"
    return "between saves"


class Zygote:
    """The warm parent process: `run(log, epochs)` forks one training process and returns its pid."""

    def __init__(self, tmp_path, config_path, logdir):
        self.proc = subprocess.Popen([sys.executable, "-c", ZYGOTE, str(config_path), sample_dir(), str(logdir)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(),
                                     cwd=str(tmp_path))
        assert self._line() == "ready"

    def _line(self) -> str:
        line = self.proc.stdout.readline()
        assert line, f"the zygote died (exit {self.proc.poll()})"
        return line.strip()

    def run(self, log, epochs: int = 0) -> int:
        self.proc.stdin.write(f"{log} {epochs}\n")
        self.proc.stdin.flush()
        return int(self._line().split()[1])

    def exit_code(self) -> int:
        return int(self._line().split()[1])

    def close(self):
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _read_log(path) -> tuple[int, list[int], str]:
    """(epoch the run resumed from, epochs it reported saved, the whole log) of one training process."""
    text = open(path, encoding="utf-8", errors="replace").read()
    resumed = re.search(r"resuming from epoch (\d+) of", text)
    saved = [int(n) for n in re.findall(r"^saved (\d+)$", text, re.M)]
    return (int(resumed.group(1)) if resumed else 0), saved, text


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _kill_at_change(pid: int, checkpoint_dir: str, changes_to_wait: int, delay: float, timeout: float = 180.0):
    """SIGKILL `pid` `delay` seconds after the `changes_to_wait`-th change to the checkpoints folder."""
    deadline = time.monotonic() + timeout
    seen, changes = _snapshot(checkpoint_dir), 0
    while changes < changes_to_wait:
        time.sleep(0.001)
        now = _snapshot(checkpoint_dir)
        if now != seen:
            seen, changes = now, changes + 1
        elif not _alive(pid):
            return
        assert time.monotonic() < deadline, f"no save seen within {timeout} s"
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)


def _kill_in_data_write(pid: int, checkpoint_dir: str, timeout: float = 180.0):
    """SIGKILL `pid` as soon as a save of its own is writing data: a `ckpt-N_temp` folder appears after none was
    there (a killed run's leftover one is deleted when the next run starts, so it must be gone first)."""
    deadline = time.monotonic() + timeout
    writing = lambda: any(n.endswith("_temp") for n in _snapshot(checkpoint_dir)[0])  # noqa: E731
    while writing():  # a leftover from an earlier kill, until this run's start deletes it
        time.sleep(0.001)
        assert time.monotonic() < deadline, f"the leftover partial save was not deleted within {timeout} s"
    while not writing():
        time.sleep(0.001)
        if not _alive(pid):
            return
        assert time.monotonic() < deadline, f"no save seen within {timeout} s"
    os.kill(pid, signal.SIGKILL)


def test_sigkill_in_and_around_checkpoint_writes_never_loses_a_saved_epoch(tmp_path):
    """Kill a real tiny training run KILLS times at seeded points in and around its checkpoint writes.

    Each kill lands `delay` (seeded, 0-20 ms) after the k-th (seeded, CHANGES_TO_WAIT) visible change to the
    checkpoints folder (watched every millisecond), except the KILLS_IN_DATA_WRITE runs, killed as soon as a save's
    data folder appears.
    Every restart must resume from the checkpoint tf's state file names, which must be at least the newest epoch
    the killed run reported saved (no finished work lost); no restart may read a partial file (it would fail, not
    be killed); the last, uninterrupted run must finish all its epochs.
    """
    config_path = tmp_path / "tiny.json"
    preset("pix2pix", **TINY, epochs=1000).save(str(config_path))  # kill runs never finish; constant lr
    logdir = tmp_path / "run"
    checkpoints = str(logdir / "checkpoints")
    rng = random.Random(14)
    zygote = Zygote(tmp_path, config_path, logdir)
    newest_saved, phases, resumed_epochs, lost = 0, [], [], 0
    try:
        for i in range(KILLS):
            recorded = _recorded_epoch(checkpoints)
            assert recorded >= newest_saved, f"run {i}: the state file went back from epoch {newest_saved}"
            log = tmp_path / f"run{i}.log"
            pid = zygote.run(log)
            changes, delay = rng.choice(CHANGES_TO_WAIT), rng.uniform(0.0, 0.02)
            if i in KILLS_IN_DATA_WRITE:
                _kill_in_data_write(pid, checkpoints)
            else:
                _kill_at_change(pid, checkpoints, changes, delay)
            code = zygote.exit_code()
            resumed, saved, text = _read_log(log)
            assert code == -signal.SIGKILL, f"run {i} ended by itself (exit {code}) before the kill:\n{text[-3000:]}"
            assert "Traceback" not in text, f"run {i} hit an error:\n{text[-3000:]}"
            assert resumed == recorded, f"run {i} resumed from epoch {resumed}, the newest checkpoint was {recorded}"
            lost += resumed < newest_saved
            resumed_epochs.append(resumed)
            phases.append(_phase(checkpoints, _recorded_epoch(checkpoints)))
            newest_saved = max([newest_saved, *saved])
        recorded = _recorded_epoch(checkpoints)
        assert recorded >= newest_saved
        lost += recorded < newest_saved
        target = recorded + FINAL_EPOCHS
        zygote.run(tmp_path / "final.log", target)
        code = zygote.exit_code()
        resumed, saved, text = _read_log(tmp_path / "final.log")
    finally:
        zygote.close()
    assert code == 0 and "Traceback" not in text, text[-3000:]
    assert resumed == recorded and saved == list(range(recorded + 1, target + 1)), text[-3000:]
    assert _recorded_epoch(checkpoints) == target
    assert not [n for n in os.listdir(checkpoints) if n.endswith("_temp")]  # partial saves are cleaned up
    assert lost == 0
    assert len(set(phases)) >= 2, f"the kills all landed in one phase: {phases}"
    summary = {"kills": KILLS, "restarts": KILLS, "resumed_epochs": [*resumed_epochs, resumed],
               "final_epochs": target, "runs_that_lost_work": lost,
               "kill_phases": {p: phases.count(p) for p in sorted(set(phases))}}
    print("kill test:", json.dumps(summary))


# --- disk full / read-only logdir ---------------------------------------------------------------------------------
def _can_chmod_protect(path) -> bool:
    """Whether chmod stops this process writing (not as root, which ignores file modes)."""
    probe = path / "probe"
    probe.mkdir()
    probe.chmod(0o555)
    try:
        (probe / "x").write_text("x")
        return False
    except PermissionError:
        return True
    finally:
        probe.chmod(0o755)


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_full_disk_or_read_only_checkpoints_keep_the_previous_checkpoint(tmp_path, capsys, monkeypatch):
    """A checkpoint write that fails ends `train` with one line (exit 2); the previous checkpoint still loads."""
    import tensorflow as tf

    from tfgan_i2i.training import load_for_inference, read_checkpoint_epoch

    logdir = tmp_path / "run"
    argv = ["train", *TINY_FLAGS, "--logdir", str(logdir)]
    assert main([*argv, "--epochs", "1"]) == 0
    checkpoints = logdir / "checkpoints"
    assert read_checkpoint_epoch(str(checkpoints)) == 1
    capsys.readouterr()

    real = _can_chmod_protect(tmp_path)
    if real:
        checkpoints.chmod(0o555)
    else:  # root ignores modes: a disk that fills up half way through the data file instead
        def full_disk(self, checkpoint_number=None, **kwargs):
            with open(os.path.join(self.directory, f"ckpt-{checkpoint_number}.data-00000-of-00001"), "wb") as f:
                f.write(b"\0" * 100)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.directory)

        monkeypatch.setattr(tf.train.CheckpointManager, "save", full_disk)
    try:
        assert main([*argv, "--epochs", "2"]) == 2
    finally:
        checkpoints.chmod(0o755)
        monkeypatch.undo()
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("tfgan-i2i train: error: cannot write to") and str(checkpoints) in line
    assert "ckpt-1 is intact" in line and ("disk space" in line if not real else "writable" in line)
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith("ckpt-1")
    assert read_checkpoint_epoch(str(checkpoints)) == 1
    assert load_for_inference(str(logdir)).config.image_size == 32


def test_read_only_logdir_is_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    """A logdir that cannot be written is reported at once, naming it, with exit status 2."""
    from tfgan_i2i import config as config_module

    logdir = tmp_path / "ro"
    logdir.mkdir()
    if _can_chmod_protect(tmp_path):
        logdir.chmod(0o555)
    else:
        def read_only(self, path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)

        monkeypatch.setattr(config_module.Config, "save", read_only)
    try:
        assert main(["train", *TINY_FLAGS, "--epochs", "1", "--logdir", str(logdir)]) == 2
    finally:
        logdir.chmod(0o755)
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"tfgan-i2i train: error: cannot write to {logdir}") and "--logdir" in line
    assert not (logdir / "checkpoints").exists()


# --- loading never runs code from a file --------------------------------------------------------------------------
@pytest.fixture
def lambda_keras_file(tmp_path):
    """A .keras file whose Lambda layer would write a marker file if its code ever ran."""
    import keras

    marker = str(tmp_path / "code-ran")
    inputs = keras.Input((4, 4, 3))
    outputs = keras.layers.Lambda(lambda x: x * 2 + (open(marker, "w").close() or 0))(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    if os.path.exists(marker):
        os.remove(marker)  # building the model above ran it once, in this test
    return path, marker


def _image(path):
    from PIL import Image

    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(path)
    return str(path)


def test_keras_file_with_a_lambda_layer_is_refused(lambda_keras_file, tmp_path, capsys):
    from tfgan_i2i.training.callbacks import CheckpointError, load_keras_model

    path, marker = lambda_keras_file
    with pytest.raises(CheckpointError, match="cannot be loaded safely"):
        load_keras_model(str(path))
    assert main(["translate", "--checkpoint", str(path), "--input", _image(tmp_path / "a.png"),
                 "--out", str(tmp_path / "out")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(path) in line and "Lambda" in line
    assert not os.path.exists(marker)


def test_pickle_disguised_as_a_keras_file_is_refused_without_unpickling(tmp_path, capsys):
    import pickle

    marker = tmp_path / "code-ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "model.keras"
    path.write_bytes(pickle.dumps(Payload()))
    assert main(["translate", "--checkpoint", str(path), "--input", _image(tmp_path / "a.png"),
                 "--out", str(tmp_path / "out")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert str(path) in line and "not a Keras .keras file" in line
    assert not marker.exists()


def test_a_tfgan_keras_file_translates(tmp_path):
    """The safe loader still loads what the package itself saves."""
    from tfgan_i2i.models import build_model

    model = build_model(preset("pix2pix", **TINY))
    model.compile()
    model.save(tmp_path / "m.keras")
    assert main(["translate", "--checkpoint", str(tmp_path / "m.keras"), "--input", _image(tmp_path / "a.png"),
                 "--out", str(tmp_path / "out"), "--samples", "1"]) == 0
    assert (tmp_path / "out" / "a_sample0.png").is_file()


def test_config_json_is_data_only(tmp_path, capsys):
    """config.json is parsed with json (and .yaml with yaml.safe_load): code or object tags in it never run."""
    marker = tmp_path / "code-ran"
    run = tmp_path / "run" / "checkpoints"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": f"__import__('os').mkdir('{marker}')"}))
    (tmp_path / "bad.yaml").write_text(f"model: !!python/object/apply:os.mkdir ['{marker}']\n")
    assert main(["train", "--config", str(tmp_path / "bad.yaml"), "--logdir", str(tmp_path / "x")]) == 2
    assert "could not be parsed" in _one_error_line(capsys.readouterr().err)
    assert main(["translate", "--checkpoint", str(tmp_path / "run"), "--input", _image(tmp_path / "a.png"),
                 "--out", str(tmp_path / "out")]) == 2
    _one_error_line(capsys.readouterr().err)
    assert not marker.exists()
