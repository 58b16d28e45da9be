"""Training callbacks: the papers' linear learning-rate decay, a fixed sample grid, and atomic checkpoint/resume.

All three work with any `TranslationGAN` (one optimizer per network in `model.optimizers_by_name`) and plain
`model.fit(..., callbacks=[...])`.
"""
from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from ..config import CONFIG_FILE, Config, ConfigError
from ..data.images import image_grid, write_image


# Config options that decide which variables exist and their shapes: a checkpoint only fits a model that
# agrees on all of them. Everything else (loss weights, lr, epochs, batch size, data options) may change on resume.
# Options with a size-dependent default are compared by their resolved value (`<name>_resolved`); names a Config
# does not have are skipped, so the list may name options of models added later.
ARCHITECTURE_OPTIONS = (
    "model", "objective", "image_size", "input_nc", "output_nc", "nz", "where_add", "netG", "ngf", "g_blocks", "norm",
    "upsample", "netE", "nef", "e_blocks", "ndf", "d_layers", "num_D", "d_norm", "conditional_D", "spectral_norm",
    "n_downsample", "n_res", "n_shared", "ntf", "avb_noise_nc",
)


def _architecture_value(config: Config, name: str):
    """The effective value of an architecture option (its `_resolved` form when the Config has one)."""
    return getattr(config, f"{name}_resolved", getattr(config, name, None))


class CheckpointError(ValueError):
    """A checkpoint directory cannot be used with this model; the message names it and the fix."""


# --- learning rate -----------------------------------------------------------------------------------------------
class LinearDecay(keras.callbacks.Callback):
    """The pix2pix/BicycleGAN schedule: base lr for `epochs` epochs, then linear decay towards 0 over `epochs_decay`.

    lr(epoch) = base_lr * (1 - max(0, epoch + 1 - epochs) / (epochs_decay + 1)), epoch counted from 0, applied to
    every optimizer in `model.optimizers_by_name` at the start of each epoch (so it is right after a resume too).
    `base_lr` defaults to `model.config.lr`. The epoch's value is added to the logs as `lr` (TensorBoard shows it).
    """

    def __init__(self, epochs: int, epochs_decay: int, base_lr: float | None = None):
        super().__init__()
        if epochs < 0 or epochs_decay < 0:
            raise ValueError(f"LinearDecay needs epochs >= 0 and epochs_decay >= 0, got {epochs} and {epochs_decay}")
        self.epochs, self.epochs_decay, self.base_lr = int(epochs), int(epochs_decay), base_lr

    def factor(self, epoch: int) -> float:
        """The multiplier of the base learning rate in (0-based) `epoch`."""
        return 1.0 - max(0, epoch + 1 - self.epochs) / float(self.epochs_decay + 1)

    def lr_at(self, epoch: int) -> float:
        """The learning rate of (0-based) `epoch`."""
        base = self.base_lr if self.base_lr is not None else self.model.config.lr
        return float(base) * self.factor(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        lr = self.lr_at(epoch)
        for optimizer in self.model.optimizers_by_name.values():
            optimizer.learning_rate = lr

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = self.lr_at(epoch)


# --- sample grid -------------------------------------------------------------------------------------------------
def _as_rgb(images: np.ndarray) -> np.ndarray:
    """Gray (1-channel) tiles repeated to 3 channels, so mixed-channel rows tile together."""
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


class SampleGrid(keras.callbacks.Callback):
    """Render the same grid of samples every `every` epochs: one row per fixed input, [A | B (if given) | k samples].

    The k latent codes come from `seed`, so they stay fixed across epochs and progress is visible. Models without a
    latent code (nz == 0) are deterministic, so they get one sample column instead of k identical ones.
    Unpaired models (CycleGAN, UNIT, AVB-GTN) get cycle rows instead: [A, A->B, A->B->A] per fixed A image, then
    [B, B->A, B->A->B] per fixed B image.
    The grid goes to TensorBoard (`tf.summary.image("samples")` under `logdir/samples`, step = the 0-based epoch,
    as Keras' scalars) and to `out_dir/epoch_NNNN.png` (NNNN = epochs completed) plus `out_dir/latest.png`.
    """

    def __init__(self, images_A, logdir: str | None = None, out_dir: str | None = None, k: int = 4, seed: int = 0,
                 every: int = 1, images_B=None):
        super().__init__()
        self.images_A = np.asarray(images_A, dtype=np.float32)
        self.images_B = None if images_B is None else np.asarray(images_B, dtype=np.float32)
        if self.images_A.ndim != 4:
            raise ValueError(f"SampleGrid needs a batch of images (N, H, W, C), got shape {self.images_A.shape}")
        if self.images_B is not None and len(self.images_B) != len(self.images_A):
            raise ValueError(f"SampleGrid got {len(self.images_A)} A images but {len(self.images_B)} B images")
        if k < 1 or every < 1:
            raise ValueError(f"SampleGrid needs k >= 1 and every >= 1, got k={k}, every={every}")
        self.logdir, self.out_dir, self.k, self.seed, self.every = logdir, out_dir, int(k), int(seed), int(every)
        self._writer = None

    def render(self) -> np.ndarray:
        """The grid as a uint8 (rows*H, cols*W, 3) image, from the current weights."""
        if getattr(self.model, "unpaired", False):
            # unpaired models: rows [A, A->B, A->B->A] for the fixed A images, then [B, B->A, B->A->B]
            rows = self.model.cycle_rows(self.images_A, self.images_B)
            return image_grid([[_as_rgb(np.asarray(t)) for t in row] for row in rows])
        k = self.k if self.model.config.nz > 0 else 1
        samples = keras.ops.convert_to_numpy(self.model.sample(self.images_A, k, self.seed))
        rows = []
        for i, a in enumerate(self.images_A):
            row = [_as_rgb(a)]
            if self.images_B is not None:
                row.append(_as_rgb(self.images_B[i]))
            row += [_as_rgb(s) for s in samples[i]]
            rows.append(row)
        return image_grid(rows)

    def write(self, epoch: int) -> np.ndarray:
        """Render the grid after (0-based) `epoch` and write it to TensorBoard and/or PNG; returns it."""
        grid = self.render()
        if self.out_dir:
            os.makedirs(self.out_dir, exist_ok=True)
            write_image(os.path.join(self.out_dir, f"epoch_{epoch + 1:04d}.png"), grid)  # uint8 is written as is
            # latest.png via a temporary name, so a viewer never sees a half-written file
            tmp = os.path.join(self.out_dir, f".latest-{os.getpid()}.png")
            write_image(tmp, grid)
            os.replace(tmp, os.path.join(self.out_dir, "latest.png"))
        if self.logdir:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.logdir, "samples"))
            with self._writer.as_default():
                tf.summary.image("samples", grid[None], step=epoch)
            self._writer.flush()
        return grid

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.write(epoch)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


# --- checkpoints -------------------------------------------------------------------------------------------------
def _trackables(model, epoch: tf.Variable | None = None, optimizers: bool = True) -> dict:
    """What a checkpoint holds: every network, and for training also every optimizer, the seed state and the epoch."""
    objects = dict(model.nets)
    if optimizers:
        objects.update({f"opt_{name}": opt for name, opt in model.optimizers_by_name.items()})
        objects["seed"] = model.seed_generator.state
        objects["epoch"] = epoch
    return objects


def _read_saved_config(directory: str) -> Config | None:
    """The Config stored in `directory/config.json`, or None if there is none."""
    path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isfile(path):
        return None
    try:
        return Config.load(path)
    except ConfigError as e:
        raise CheckpointError(
            f"{path} is not a valid tfgan_i2i config ({e}); choose a new --logdir or pass --no-resume"
        ) from None


def check_compatible(config: Config, directory: str) -> None:
    """Raise CheckpointError if `directory` holds checkpoints of a model with a different architecture than `config`."""
    saved = _read_saved_config(directory)
    if saved is None:
        return
    values = {name: (_architecture_value(saved, name), _architecture_value(config, name))
              for name in ARCHITECTURE_OPTIONS}
    diffs = [f"{name}: saved {old!r}, now {new!r}" for name, (old, new) in values.items() if old != new]
    if diffs:
        raise CheckpointError(
            f"{os.path.join(directory, CONFIG_FILE)} belongs to a different model ({'; '.join(diffs)}), so its "
            "checkpoints cannot be resumed with this config. Choose a new --logdir, or pass --no-resume "
            "(resume=False) to start over there."
        )


class CheckpointCallback(keras.callbacks.Callback):
    """Save all networks, every optimizer (with its iteration count), the epoch and the seed state every `every` epochs.

    Uses tf.train.CheckpointManager in `directory` (files `ckpt-<epoch>`, keeping the newest `max_to_keep`): it writes
    the data files first and then atomically replaces its state file, so a kill mid-save leaves the previous checkpoint
    usable (hence max_to_keep >= 2). `directory/config.json` (written atomically before the first checkpoint) lets `restore_latest` and
    `load_for_inference` rebuild the model. The last epoch is also saved when training ends between two saves.
    """

    def __init__(self, directory: str, every: int = 1, max_to_keep: int | None = 3):
        super().__init__()
        if every < 1:
            raise ValueError(f"CheckpointCallback needs every >= 1, got {every}")
        # The manager deletes the oldest checkpoint before it updates its state file; keeping at least two means
        # the checkpoint the old state file names survives a kill between those two steps.
        if max_to_keep is not None and max_to_keep < 2:
            raise ValueError(f"CheckpointCallback needs max_to_keep >= 2 (or None to keep all), got {max_to_keep}")
        self.directory, self.every, self.max_to_keep = os.fspath(directory), int(every), max_to_keep
        self._manager = None
        self._epoch = None
        self._completed = self._saved = None

    def _ensure_manager(self):
        """Create the checkpoint and its manager on first use (the model must be compiled by then)."""
        if self._manager is None:
            if not self.model.optimizers_by_name:
                raise RuntimeError("CheckpointCallback needs a compiled model: call model.compile() before fit")
            os.makedirs(self.directory, exist_ok=True)
            self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            checkpoint = tf.train.Checkpoint(**_trackables(self.model, self._epoch))
            self._manager = tf.train.CheckpointManager(checkpoint, self.directory, max_to_keep=self.max_to_keep)
        return self._manager

    def save(self, epochs_done: int) -> str:
        """Write a checkpoint after `epochs_done` completed epochs; returns its path prefix."""
        manager = self._ensure_manager()
        self.model.config.save(os.path.join(self.directory, CONFIG_FILE))
        self._epoch.assign(epochs_done)
        path = manager.save(checkpoint_number=epochs_done)
        self._saved = epochs_done
        return path

    def on_train_begin(self, logs=None):
        self._ensure_manager()
        self._completed = self._saved = None

    def on_epoch_end(self, epoch, logs=None):
        self._completed = epoch + 1
        if self._completed % self.every == 0:
            self.save(self._completed)

    def on_train_end(self, logs=None):
        if self._completed is not None and self._completed != self._saved:
            self.save(self._completed)


def restore_latest(model, directory: str) -> int:
    """Restore the newest checkpoint in `directory` into a compiled model; returns the epoch to resume from (0 if none).

    Pass the result to `fit(initial_epoch=...)`. Raises CheckpointError if the directory belongs to another model.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        return 0
    check_compatible(model.config, directory)
    latest = tf.train.latest_checkpoint(directory)
    if latest is None:
        return 0
    if not model.optimizers_by_name:
        raise RuntimeError("restore_latest needs a compiled model: call model.compile() first")
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    try:
        tf.train.Checkpoint(**_trackables(model, epoch)).restore(latest).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise CheckpointError(
            f"checkpoint {latest} does not fit this model ({str(e).splitlines()[0][:300]}). Choose a new --logdir, "
            "or pass --no-resume (resume=False) to start over there."
        ) from None
    return int(epoch.numpy())


def find_checkpoint_dir(path: str) -> str:
    """The folder holding config.json and checkpoints: `path` itself or its `checkpoints` subfolder (a train logdir)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise CheckpointError(
            f"checkpoint directory {path} does not exist; train a model first (tfgan-i2i train --logdir {path}) "
            "or pass the --logdir of a finished run"
        )
    for candidate in (path, os.path.join(path, "checkpoints")):
        if os.path.isfile(os.path.join(candidate, CONFIG_FILE)) and tf.train.latest_checkpoint(candidate):
            return candidate
    candidates = (path, os.path.join(path, "checkpoints"))
    has_config = any(os.path.isfile(os.path.join(c, CONFIG_FILE)) for c in candidates)
    missing = "checkpoint (ckpt-* files)" if has_config else CONFIG_FILE
    raise CheckpointError(
        f"{path} holds no {missing} (looked in {path} and {os.path.join(path, 'checkpoints')}); "
        f"run `tfgan-i2i train --logdir {path}` first and let it finish at least one epoch"
    )


def load_for_inference(checkpoint_dir: str):
    """Rebuild the model of a checkpoint directory (or train logdir) from its config.json and load its weights only."""
    from ..models import build_model  # here, not at import time: models import losses/networks, not training

    directory = find_checkpoint_dir(checkpoint_dir)
    config = _read_saved_config(directory)
    model = build_model(config)
    latest = tf.train.latest_checkpoint(directory)
    try:
        status = tf.train.Checkpoint(**_trackables(model, optimizers=False)).restore(latest).expect_partial()
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise CheckpointError(
            f"checkpoint {latest} does not match {os.path.join(directory, CONFIG_FILE)} "
            f"({str(e).splitlines()[0][:300]}); was config.json edited? Restore it or retrain."
        ) from None
    return model


def read_checkpoint_epoch(directory: str) -> int:
    """Epochs completed by the newest checkpoint in `directory` (0 if none), without building a model."""
    latest = tf.train.latest_checkpoint(os.fspath(directory)) if os.path.isdir(directory) else None
    if latest is None:
        return 0
    return int(tf.train.load_variable(latest, "epoch/.ATTRIBUTES/VARIABLE_VALUE"))


__all__ = ["LinearDecay", "SampleGrid", "CheckpointCallback", "CheckpointError", "restore_latest", "check_compatible",
           "load_for_inference", "find_checkpoint_dir", "read_checkpoint_epoch", "ARCHITECTURE_OPTIONS"]
