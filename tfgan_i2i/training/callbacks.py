"""Training callbacks: the presets' learning-rate schedules, a fixed sample grid, and atomic checkpoint/resume.

All three work with any `TranslationGAN` (one optimizer per network in `model.optimizers_by_name`) and plain
`model.fit(..., callbacks=[...])`. A checkpoint holds everything a run's future depends on (weights, optimizer
slots and step counts, EMA weights, seed streams, image pools, the epoch), so with a stateless data stream
(`paired_dataset(..., epoch=...)`, as `train` uses) a resumed run continues exactly as if it had not stopped.
"""
from __future__ import annotations

import errno
import glob
import os
import shutil
import warnings
import zipfile

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
LR_POLICIES = ("linear", "constant", "step")


class LRSchedule(keras.callbacks.Callback):
    """The learning-rate schedule of a config's `lr_policy`, applied to every optimizer of the model.

    Each optimizer `name` in `model.optimizers_by_name` starts from its own base lr, `config.lr_of(name)` (so lr_D
    and lr_T give the discriminators and the AVB adversary theirs), or `base_lr` for all of them when given, and
    is multiplied by the policy's factor:
      linear   (pix2pix, BicycleGAN, CycleGAN): 1 for `epochs` epochs, then linear towards 0 over `epochs_decay`:
               1 - max(0, epoch + 1 - epochs) / (epochs_decay + 1), epoch counted from 0, set at each epoch start;
      constant (UNIT, AVB-GTN, DCGAN): 1;
      step     (UNIT master's StepLR, stepped per iteration): gamma ** (iterations // step), where iterations is the
               optimizer's own update count before the step, set before every batch.
    Every option left None is read from `model.config` (lr_policy, epochs, epochs_decay, lr_step, lr_gamma) when
    training starts, so `LRSchedule()` follows the model's preset. Values depend only on the epoch and the
    restored iteration counts, so they are right after a resume too. At epoch end the logs get `lr` (the
    generator's: optimizer G, else the first one) and `lr_<name>` for each optimizer whose base lr differs from it,
    which TensorBoard shows.
    """

    def __init__(self, policy: str | None = None, epochs: int | None = None, epochs_decay: int | None = None,
                 step: int | None = None, gamma: float | None = None, base_lr: float | None = None):
        super().__init__()
        if policy is not None and policy not in LR_POLICIES:
            raise ValueError(f"LRSchedule policy={policy!r} is not one of {', '.join(LR_POLICIES)}")
        for label, value in (("epochs", epochs), ("epochs_decay", epochs_decay)):
            if value is not None and value < 0:
                raise ValueError(f"LRSchedule needs {label} >= 0, got {value}")
        for label, value in (("step", step), ("gamma", gamma), ("base_lr", base_lr)):
            if value is not None and not value > 0:
                raise ValueError(f"LRSchedule needs {label} > 0, got {value}")
        self._options = {"policy": policy, "epochs": epochs, "epochs_decay": epochs_decay, "step": step,
                         "gamma": gamma}
        self.base_lr = base_lr
        self._epoch = 0
        self._current: dict[str, float] = {}

    _CONFIG_FIELDS = {"policy": "lr_policy", "epochs": "epochs", "epochs_decay": "epochs_decay", "step": "lr_step",
                      "gamma": "lr_gamma"}

    def _option(self, name: str):
        """An option as given, else the model config's value."""
        value = self._options[name]
        return getattr(self.model.config, self._CONFIG_FIELDS[name]) if value is None else value

    @property
    def policy(self) -> str:
        """The policy in use: linear | constant | step."""
        return self._option("policy")

    def factor(self, epoch: int, iteration: int = 0) -> float:
        """The multiplier of the base lr in (0-based) `epoch`, before an optimizer's update number `iteration`."""
        policy = self.policy
        if policy == "constant":
            return 1.0
        if policy == "step":
            return float(self._option("gamma")) ** (int(iteration) // int(self._option("step")))
        epochs, decay = int(self._option("epochs")), int(self._option("epochs_decay"))
        return 1.0 - max(0, epoch + 1 - epochs) / float(decay + 1)

    def base_of(self, name: str | None = None) -> float:
        """The base lr of optimizer `name`: `base_lr` when given, else config.lr_of(name) (config.lr for None)."""
        if self.base_lr is not None:
            return float(self.base_lr)
        config = self.model.config
        return float(config.lr if name is None else config.lr_of(name))

    def lr_at(self, epoch: int, name: str | None = None, iteration: int = 0) -> float:
        """The learning rate of optimizer `name` (None: the base config.lr) in `epoch` at update `iteration`."""
        return self.base_of(name) * self.factor(epoch, iteration)

    def _main(self) -> str:
        """The optimizer whose lr is logged as `lr`."""
        names = list(self.model.optimizers_by_name)
        return "G" if "G" in names else names[0]

    def _apply(self):
        for name, optimizer in self.model.optimizers_by_name.items():
            iteration = int(keras.ops.convert_to_numpy(optimizer.iterations)) if self.policy == "step" else 0
            lr = self.lr_at(self._epoch, name, iteration)
            if self._current.get(name) != lr:
                optimizer.learning_rate = lr
                self._current[name] = lr

    def on_train_begin(self, logs=None):
        self._current = {}  # the optimizers may hold a restored or user-set value: set ours on the first batch

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = int(epoch)
        self._apply()

    def on_train_batch_begin(self, batch, logs=None):
        if self.policy == "step":
            self._apply()

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self._current:
            return
        main = self._main()
        logs["lr"] = self._current[main]
        for name in self.model.optimizers_by_name:
            if name != main and self.base_of(name) != self.base_of(main):
                logs[f"lr_{name}"] = self._current[name]


class LinearDecay(LRSchedule):
    """The pix2pix/BicycleGAN schedule: base lr for `epochs` epochs, then linear decay towards 0 over `epochs_decay`.

    LRSchedule with policy "linear" whatever the config says (kept for existing code; `LRSchedule()` follows the
    preset). lr(epoch) = base * (1 - max(0, epoch + 1 - epochs) / (epochs_decay + 1)), epoch counted from 0, applied
    at the start of each epoch; base is `base_lr` for every optimizer when given, else config.lr_of(name).
    """

    def __init__(self, epochs: int, epochs_decay: int, base_lr: float | None = None):
        if epochs < 0 or epochs_decay < 0:
            raise ValueError(f"LinearDecay needs epochs >= 0 and epochs_decay >= 0, got {epochs} and {epochs_decay}")
        super().__init__("linear", int(epochs), int(epochs_decay), base_lr=base_lr)
        self.epochs, self.epochs_decay = int(epochs), int(epochs_decay)


# --- sample grid -------------------------------------------------------------------------------------------------
def _as_rgb(images: np.ndarray) -> np.ndarray:
    """Gray (1-channel) tiles repeated to 3 channels, so mixed-channel rows tile together."""
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


class SampleGrid(keras.callbacks.Callback):
    """Render the same grid of samples every `every` epochs: one row per fixed input, [A | B (if given) | k samples].

    The k latent codes come from `seed`, so they stay fixed across epochs and progress is visible. Models without a
    latent code (nz == 0) are deterministic, so they get one sample column instead of k identical ones.
    Unpaired models (CycleGAN, UNIT, AVB-GTN) get cycle rows instead: [A, A->B, A->B->A] per fixed A image, then
    [B, B->A, B->A->B] per fixed B image. Multimodal unpaired models (DRIT, with `sample_rows`) get per fixed A
    image [A | k samples A->B | a reference B | A->B with its attribute], then the same per fixed B image.
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
        """The grid as a uint8 (rows*H, cols*W, 3) image, from the current weights.

        Every seed stream of the model (its own, the image pools', the layers') is put back afterwards, so random
        draws while rendering (fresh codes, test_mode "train" dropout) leave training exactly as without a grid.
        """
        states = _seed_state_variables(self.model)
        saved = [keras.ops.convert_to_numpy(v) for v in states]
        try:
            return self._render()
        finally:
            for variable, value in zip(states, saved):
                variable.assign(value)

    def _render(self) -> np.ndarray:
        if hasattr(self.model, "sample_rows"):
            # multimodal unpaired models (DRIT): [input | k samples | reference | reference transfer] per fixed image
            rows = self.model.sample_rows(self.images_A, self.images_B, self.k, self.seed)
            return image_grid([[_as_rgb(np.asarray(t)) for t in row] for row in rows])
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
def _group(variables) -> tf.train.Checkpoint:
    """A list of variables as one checkpoint node (children v0, v1, ... in list order)."""
    return tf.train.Checkpoint(**{f"v{i}": v for i, v in enumerate(variables)})


def _seed_generators(obj) -> list:
    """The keras SeedGenerators held as attributes of `obj` (e.g. an ImagePool's), which tf tracking skips."""
    return [v for v in vars(obj).values() if isinstance(v, keras.random.SeedGenerator)]


def _layer_seed_states(model) -> list:
    """The seed-generator states of the networks' layers (Dropout, noise layers), each once, in network order.

    A Keras 3 layer's SeedGenerator is not a tf trackable, so tf.train.Checkpoint of a network holds its weights
    and batch-norm statistics but not these (measured: a Dropout network's checkpoint has no seed entry).
    """
    seen, states = set(), []
    for net in model.nets.values():
        for v in net.non_trainable_variables:
            if "seed_generator" in v.path and id(v) not in seen:
                seen.add(id(v))
                states.append(v)
    return states


def _ema_variables(model) -> list:
    """The EMA copies of the generators' weights (config.ema_decay > 0), [] without an EMA."""
    return list(getattr(model, "_ema_list", None) or [])


# Besides networks and optimizers, the entries every tfgan_i2i checkpoint has had; the others (image pools, the
# pools' and layers' seeds, EMA) came with exact resume, so an older checkpoint lacks them (see `_restore`).
_CORE = ("seed", "epoch")


def _trackables(model, epoch: tf.Variable | None = None, optimizers: bool = True) -> dict:
    """What a checkpoint holds: every network and the EMA weights; for training also every optimizer, the epoch and
    everything an exact resume needs (`model.training_state()`: seed stream, CycleGAN image pools; the pools' and
    the layers' seed-generator states)."""
    objects = dict(model.nets)
    ema = _ema_variables(model)
    if ema:
        objects["ema"] = _group(ema)
    if optimizers:
        objects.update({f"opt_{name}": opt for name, opt in model.optimizers_by_name.items()})
        state = model.training_state() if hasattr(model, "training_state") else {"seed": model.seed_generator.state}
        for key, value in state.items():
            if value is None:
                continue
            if isinstance(value, keras.random.SeedGenerator):
                value = value.state
            objects[key] = value
            generators = [] if isinstance(value, (tf.Variable, keras.Variable)) else _seed_generators(value)
            if generators:
                objects[f"{key}_seeds"] = _group([g.state for g in generators])
        layer_seeds = _layer_seed_states(model)
        if layer_seeds:
            objects["layer_seeds"] = _group(layer_seeds)
        objects["epoch"] = epoch
    return objects


def _seed_state_variables(model) -> list:
    """Every seed-generator state variable of a model: its seed stream, its modules' (image pools) and its layers'."""
    out, seen = [], set()

    def add(v):
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)

    state = model.training_state() if hasattr(model, "training_state") else {"seed": model.seed_generator}
    for key, value in state.items():
        if isinstance(value, keras.random.SeedGenerator):
            add(value.state)
        elif isinstance(value, (tf.Variable, keras.Variable)):
            if "seed" in key:
                add(value)
        elif value is not None:
            for generator in _seed_generators(value):
                add(generator.state)
    for v in _layer_seed_states(model):
        add(v)
    return out


def _copy_weights_to_ema(model) -> None:
    """Start the EMA from the current (restored) weights, for a checkpoint that has none."""
    for name in getattr(model, "ema_targets", ()):
        for v in model.nets[name].trainable_variables:
            ema = getattr(model, "ema_weights", {}).get(id(v))
            if ema is not None:
                ema.assign(v)


def _restore(objects: dict, path: str, required, inference: bool = False) -> list:
    """Restore `objects` from checkpoint `path`; returns the optional entries the checkpoint could not fill.

    The entries named in `required` must all fit (else the error propagates); an optional one that is missing or
    does not fit (a checkpoint written before it existed, or a changed pool_size) keeps its current value.
    """
    def attempt(subset, partial):
        status = tf.train.Checkpoint(**subset).restore(path)
        if partial:  # no log of the checkpoint values this subset leaves unused
            status = status.expect_partial()
        status.assert_existing_objects_matched()

    try:
        attempt(objects, inference)
        return []
    except (AssertionError, ValueError, tf.errors.OpError):
        pass  # find out which part does not fit, one entry at a time
    attempt({k: v for k, v in objects.items() if k in required}, True)
    missing = []
    for key, value in objects.items():
        if key in required:
            continue
        try:
            attempt({key: value}, True)
        except (AssertionError, ValueError, tf.errors.OpError):
            missing.append(key)
    return missing


def _after_partial_restore(model, missing: list, path: str) -> None:
    """Reset what a checkpoint could not fill (EMA from the weights, empty image pools) and say so."""
    if not missing:
        return
    if "ema" in missing:
        _copy_weights_to_ema(model)
    for key in missing:
        reset = getattr(getattr(model, key, None), "reset", None)
        if callable(reset):
            reset()
    warnings.warn(
        f"checkpoint {path} holds no usable {', '.join(missing)} (written by an older tfgan_i2i or with other "
        "options); continuing with them fresh (EMA = restored weights, empty image pools, seeds as built), so this "
        "run does not continue exactly where the checkpoint's run stopped", stacklevel=3)


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


def write_failure(directory: str, error: Exception, kept: str | None = None) -> str:
    """The one-line message for a failed write into a run's folder: where, why, the fix, and what is kept."""
    reason = getattr(error, "strerror", None) or getattr(error, "message", None) or str(error)
    reason = " ".join(str(reason).split())[:300]
    full = getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "space" in reason.lower()
    fix = "free some disk space" if full else "make it writable or choose another --logdir"
    kept = f"; the previous checkpoint {kept} is intact, so re-running resumes from it" if kept else ""
    return f"cannot write to {directory} ({reason}); {fix}{kept}"


def kept_checkpoint(directory: str) -> str | None:
    """The checkpoint the state file in `directory` names (what a resume would use), None if none or unreadable."""
    try:
        return tf.train.latest_checkpoint(directory) if os.path.isdir(directory) else None
    except (OSError, tf.errors.OpError):
        return None


def _remove_partial_saves(directory: str) -> None:
    """Delete the `ckpt-N_temp` folders a killed save leaves behind; the state file never names them."""
    for path in glob.glob(os.path.join(glob.escape(directory), "ckpt-*_temp")):
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)


class CheckpointCallback(keras.callbacks.Callback):
    """Save all networks, every optimizer (with its iteration count), the epoch, the EMA weights, the seed streams
    (the model's, the image pools' and the layers') and the image pools every `every` epochs.

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
            _remove_partial_saves(self.directory)
            self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            checkpoint = tf.train.Checkpoint(**_trackables(self.model, self._epoch))
            self._manager = tf.train.CheckpointManager(checkpoint, self.directory, max_to_keep=self.max_to_keep)
        return self._manager

    def save(self, epochs_done: int) -> str:
        """Write a checkpoint after `epochs_done` completed epochs; returns its path prefix.

        A write that fails (disk full, read-only or vanished folder) raises CheckpointError naming the folder; the
        state file still names the previous checkpoint, which stays usable.
        """
        manager = self._ensure_manager()
        try:
            self.model.config.save(os.path.join(self.directory, CONFIG_FILE))
            self._epoch.assign(epochs_done)
            path = manager.save(checkpoint_number=epochs_done)
        except (OSError, tf.errors.OpError) as e:
            raise CheckpointError(write_failure(self.directory, e, kept_checkpoint(self.directory))) from e
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
    objects = _trackables(model, epoch)
    required = [*model.nets, *(f"opt_{name}" for name in model.optimizers_by_name), *_CORE]
    try:
        missing = _restore(objects, latest, required)
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise CheckpointError(
            f"checkpoint {latest} does not fit this model ({str(e).splitlines()[0][:300]}). Choose a new --logdir, "
            "or pass --no-resume (resume=False) to start over there."
        ) from None
    _after_partial_restore(model, missing, latest)
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
    """Rebuild the model of a checkpoint directory (or train logdir) from its config.json and load its weights only.

    The networks' weights and, when config.ema_decay > 0, their EMA copies (which inference uses); no optimizer.
    """
    from ..models import build_model  # here, not at import time: models import losses/networks, not training

    directory = find_checkpoint_dir(checkpoint_dir)
    config = _read_saved_config(directory)
    model = build_model(config)
    latest = tf.train.latest_checkpoint(directory)
    try:
        missing = _restore(_trackables(model, optimizers=False), latest, list(model.nets), inference=True)
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise CheckpointError(
            f"checkpoint {latest} does not match {os.path.join(directory, CONFIG_FILE)} "
            f"({str(e).splitlines()[0][:300]}); was config.json edited? Restore it or retrain."
        ) from None
    _after_partial_restore(model, missing, latest)
    return model


def is_keras_file(path: str) -> bool:
    """Whether `path` names a Keras `.keras` model file (rather than a checkpoint or SavedModel folder)."""
    return os.fspath(path).endswith(".keras") and not os.path.isdir(path)


def load_keras_model(path: str):
    """A model saved with `model.save("NAME.keras")`, loaded without running any code the file carries.

    Uses keras.saving.load_model(..., safe_mode=True, compile=False): Keras then refuses Lambda layers (whose Python
    bytecode would run on load) and builds only registered classes from the file's JSON. A file that is not a
    Keras zip (e.g. a pickle) is refused before Keras reads it. Every refusal is a CheckpointError naming the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"model file {path} does not exist; pass a file written by model.save('NAME.keras')")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"{path} is not a Keras .keras file (a zip archive written by model.save); refusing "
                              "to read it (pickles and other formats can run code)")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as e:
        reason = " ".join(str(e).split())[:300]
        raise CheckpointError(f"{path} cannot be loaded safely ({reason}); only files holding tfgan_i2i models "
                              "without Lambda layers or custom code are accepted") from None
    if not (hasattr(model, "config") and hasattr(model, "sample")):
        raise CheckpointError(f"{path} holds a {type(model).__name__}, not a tfgan_i2i model; pass a file written "
                              "by a tfgan_i2i model's save('NAME.keras')")
    return model


def read_checkpoint_epoch(directory: str) -> int:
    """Epochs completed by the newest checkpoint in `directory` (0 if none), without building a model."""
    latest = tf.train.latest_checkpoint(os.fspath(directory)) if os.path.isdir(directory) else None
    if latest is None:
        return 0
    return int(tf.train.load_variable(latest, "epoch/.ATTRIBUTES/VARIABLE_VALUE"))


__all__ = ["LRSchedule", "LR_POLICIES", "LinearDecay", "SampleGrid", "CheckpointCallback", "CheckpointError",
           "restore_latest", "check_compatible", "load_for_inference", "load_keras_model", "is_keras_file",
           "find_checkpoint_dir", "read_checkpoint_epoch", "ARCHITECTURE_OPTIONS", "write_failure", "kept_checkpoint"]
