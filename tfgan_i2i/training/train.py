"""One call that trains a translation model from a Config and a data folder, resuming exactly where it stopped."""
from __future__ import annotations

import os
import time

import keras

from .. import kernels
from ..config import Config
from ..data import find_pairs, paired_arrays, paired_dataset
from ..data.unpaired import find_unpaired, unpaired_arrays, unpaired_dataset
from ..models import build_model, is_unpaired
from .callbacks import (CONFIG_FILE, CheckpointCallback, CheckpointError, LRSchedule, SampleGrid, check_compatible,
                        kept_checkpoint, restore_latest, write_failure)
from .strategy import (SyncMovingStatistics, cleanup, global_batch_size, is_chief, make_strategy, shard_dataset,
                       strategy_name, worker_dir)

# Decoded pairs of a dataset up to this size are cached in memory (facades: ~160 MB at 256x512); larger ones
# are streamed from disk every epoch, so a big dataset never exhausts RAM.
CACHE_MAX_PAIRS = 1000


def _fixed_split(data_dir: str) -> str:
    """The split the fixed sample-grid inputs come from: test when the dataset has one, else train."""
    has_test = os.path.isdir(os.path.join(data_dir, "test")) or os.path.isdir(os.path.join(data_dir, "testA"))
    return "test" if has_test else "train"


def _record_kernels(config: Config, verbose: int) -> Config:
    """`config` with onednn set to the CPU kernels TensorFlow loaded with (what config.json records).

    The setting is process-wide and fixed when TensorFlow loads, so a config asking for the other one can only be
    warned about here (`tfgan-i2i train` and tfgan_i2i.kernels.select set it in time).
    """
    loaded = kernels.in_effect()
    if config.onednn != "auto" and config.onednn != loaded and verbose:
        print(f"warning: the config asks for onednn={config.onednn}, but TensorFlow was loaded with oneDNN {loaded}; "
              f"set {kernels.ENV}={kernels.flag(config.onednn)} before TensorFlow is imported")
    return config.replace(onednn=loaded)


def _set_aside(checkpoint_dir: str, verbose: int) -> None:
    """Move an earlier run's checkpoints out of the way (never delete finished work) before a fresh start."""
    if os.path.isdir(checkpoint_dir) and os.listdir(checkpoint_dir):
        target = f"{checkpoint_dir}-{time.strftime('%Y%m%d-%H%M%S')}"
        os.replace(checkpoint_dir, target)
        if verbose:
            print(f"resume disabled: earlier checkpoints moved to {target}")


def train(config: Config, data_dir: str, logdir: str, epochs: int | None = None, steps_per_epoch: int | None = None,
          resume: bool = True, sample_k: int = 4, num_fixed: int = 4, verbose: int = 1, callbacks=(), strategy=None):
    """Train `config`'s model on the paired dataset in `data_dir`, logging and checkpointing to `logdir`.

    Writes `logdir/config.json`, TensorBoard scalars (`logdir/train`) and sample grids (`logdir/samples`, also as
    PNG), and a checkpoint per epoch in `logdir/checkpoints`. With `resume` (default) it continues from the newest
    checkpoint there; with resume=False earlier checkpoints are moved aside to `checkpoints-<time>`. `epochs`
    overrides the total epoch count (default config.epochs + config.epochs_decay; the lr schedule stays the
    config's lr_policy, see `LRSchedule`); `steps_per_epoch` makes the dataset repeat and fixes the epoch length
    (default: one pass over the data per epoch). Returns (model, history).

    Resuming is exact: the checkpoint holds every state the run depends on and epoch e's batches depend only on
    (config.seed, e) (`paired_dataset(..., epoch=...)`), so N epochs straight and N/2 epochs, a kill and N/2 more
    end with the same weights (as long as the data folder, config and steps_per_epoch stay the same).

    `strategy`: None/"default", "auto", "mirrored", "multi-worker", "tpu" (see `make_strategy`) or a
    tf.distribute.Strategy. config.batch_size is per replica (global batch = batch_size x replicas). Under
    multi-worker training every worker runs this same call with its TF_CONFIG; only the chief writes `logdir`
    (the others checkpoint to a deleted temporary folder), and all of them resume from `logdir/checkpoints`,
    which must be on storage every worker can read.
    """
    config = _record_kernels(config.validate(), verbose)
    strategy = make_strategy(strategy)  # first: multi-worker and TPU set up the runtime before any other TF work
    chief = is_chief(strategy)
    logdir = os.fspath(logdir)
    checkpoint_dir = os.path.join(logdir, "checkpoints")
    if resume:
        check_compatible(config, checkpoint_dir)  # before anything is overwritten or built
    if chief:
        try:
            os.makedirs(logdir, exist_ok=True)
            if not resume:
                _set_aside(checkpoint_dir, verbose)
            config.save(os.path.join(logdir, CONFIG_FILE))
        except OSError as e:  # a read-only, full or unusable --logdir: say so before the (slow) model build
            raise CheckpointError(write_failure(logdir, e, kept_checkpoint(checkpoint_dir))) from e

    # Reading the fixed inputs first also checks the data folder before the (slower) model build.
    # Unpaired models (CycleGAN, UNIT, AVB-GTN) read two unaligned domains: a CycleGAN trainA/trainB folder or a
    # paired folder whose halves are shuffled apart.
    unpaired = is_unpaired(config)
    fixed = unpaired_arrays if unpaired else paired_arrays
    fixed_A, fixed_B = fixed(data_dir, _fixed_split(data_dir), config.direction, config.image_size,
                             config.input_nc, config.output_nc, limit=num_fixed)

    # Initial weights from config.seed, so a run is repeatable from its config (and a resumed run's straight twin
    # starts from the same weights); this seeds Python's, NumPy's and TensorFlow's global generators too.
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():  # variables and optimizer slots must be created under the strategy
        model = build_model(config)
        model.compile()
    initial_epoch = restore_latest(model, checkpoint_dir) if resume else 0
    total = epochs if epochs is not None else config.epochs + config.epochs_decay
    if initial_epoch >= total:
        if verbose:
            print(f"{checkpoint_dir} already holds {initial_epoch} epoch(s) of {total}: nothing left to train")
        history = keras.callbacks.History()
        history.set_model(model)
        history.epoch, history.history = [], {}
        return model, history
    if initial_epoch and verbose:
        print(f"resuming from epoch {initial_epoch} of {total} ({checkpoint_dir})")
    if verbose and strategy.num_replicas_in_sync > 1:
        print(f"distributed: {strategy_name(strategy)}, global batch "
              f"{global_batch_size(config.batch_size, strategy)}, {'chief' if chief else 'worker (writes nothing)'}")

    if unpaired:
        files = find_unpaired(data_dir, "train", validate="none")
        n_pairs = max(len(files.a), len(files.b))
    else:
        n_pairs = len(find_pairs(data_dir, "train", validate="none"))
    batch = global_batch_size(config.batch_size, strategy)
    # The stateless epoch stream starts at initial_epoch: a resumed run gets the batches the straight run would
    # have (order, crops, flips from (seed, epoch)) without reading the skipped epochs. It is endless, so fit
    # gets the epoch length: one pass (n // batch) unless steps_per_epoch says otherwise.
    dataset = (unpaired_dataset if unpaired else paired_dataset)(
        data_dir, "train", direction=config.direction, load_size=config.load_size, crop_size=config.image_size,
        batch_size=batch, flip=config.flip, shuffle=True, cache=n_pairs <= CACHE_MAX_PAIRS, seed=config.seed,
        input_nc=config.input_nc, output_nc=config.output_nc, epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
    )
    steps = steps_per_epoch if steps_per_epoch is not None else n_pairs // batch
    if strategy.num_replicas_in_sync > 1:
        dataset = shard_dataset(dataset)  # each worker keeps its part of every (identically seeded) global batch
    # Order matters at epoch end: LRSchedule adds `lr` to the logs before TensorBoard writes them, and the
    # checkpoint is written before the (optional) sample rendering (which leaves every seed stream as it was).
    # Every worker saves checkpoints (a collective step); non-chief workers to a temporary folder deleted below.
    save_dir, temporary = worker_dir(checkpoint_dir, strategy)
    all_callbacks = [LRSchedule(), SyncMovingStatistics(strategy), CheckpointCallback(save_dir)]
    if chief:
        all_callbacks += [
            SampleGrid(fixed_A, logdir=logdir, out_dir=os.path.join(logdir, "samples"), k=sample_k, seed=config.seed,
                       images_B=fixed_B),
            keras.callbacks.TensorBoard(logdir, update_freq="epoch", write_graph=False, profile_batch=0),
        ]
    all_callbacks += list(callbacks)
    try:
        # shuffle=False: the dataset shuffles itself; fit's own flag is ignored for datasets and only warns
        history = model.fit(dataset, epochs=total, initial_epoch=initial_epoch, steps_per_epoch=steps,
                            callbacks=all_callbacks, verbose=verbose, shuffle=False)
    finally:
        cleanup(save_dir, temporary)
    return model, history
