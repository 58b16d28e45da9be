"""Train a violin <-> piano model with `model.fit` on spectrogram crops, resuming where it stopped: unpaired crops
for AVB-GTN / UNIT, the same crop of time-aligned recordings for the paired pix2pix / BicycleGAN."""
from __future__ import annotations

import logging
import os

import keras

from tfgan_i2i.config import Config, ConfigError
from tfgan_i2i.audio import typical_level
from tfgan_i2i.data.audio import audio_domain_files, paired_audio_dataset, read_mono, unpaired_audio_dataset
from tfgan_i2i.models import build_model
from tfgan_i2i.training.callbacks import (CONFIG_FILE, CheckpointCallback, CheckpointError, LRSchedule,
                                          check_compatible, restore_latest)
from tfgan_i2i.training.train import _set_aside

from .callbacks import AudioSamples, loudest_clip
from .model import (AUDIO_KEY, DOMAINS, LEVELS_KEY, audio_settings, chunk_frames, is_paired, source_of,
                    spectrogram_config, with_levels)

logger = logging.getLogger("tfgan_i2i.data")


def domain_files(violin: str | None = None, piano: str | None = None,
                 data: str | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(violin files, piano files): each from its own folder, or from `data`'s violin/ + piano/ (or IRMAS vio/ + pia/).

    An explicit --violin / --piano folder wins over --data for that instrument.
    """
    found = []
    for instrument, folder in zip(DOMAINS, (violin, piano)):
        if folder is not None:
            found.append(audio_domain_files(folder))
        elif data is not None:
            found.append(audio_domain_files(data, instrument))
        else:
            raise ConfigError(f"no {instrument} recordings given: pass --{instrument} DIR or --data ROOT (with "
                              f"{instrument}/ or the IRMAS {'vio' if instrument == 'violin' else 'pia'}/ folder)")
    return found[0], found[1]


def hold_out_last(files) -> tuple[tuple[str, ...], str]:
    """(training files, monitoring file): the last file is kept out of training when there are two or more."""
    files = tuple(files)
    return (files[:-1] if len(files) > 1 else files), files[-1]


def pair_files(violin_files, piano_files) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(violin files, piano files) matched by file name (violin/twinkle.wav <-> piano/twinkle.flac), in name order.

    Raises ConfigError naming the files that have no partner: paired training needs every recording on both sides.
    """
    sides = []
    for instrument, files in zip(DOMAINS, (violin_files, piano_files)):
        stems = {}
        for path in files:
            stem = os.path.splitext(os.path.basename(path))[0]
            if stem in stems:
                raise ConfigError(f"--paired-data: two {instrument} recordings are named {stem!r} ({stems[stem]} and "
                                  f"{path}), so pairing by name is ambiguous; rename one")
            stems[stem] = path
        sides.append(stems)
    alone = [f"{sides[i][stem]} (no {DOMAINS[1 - i]} file named {stem})"
             for i in (0, 1) for stem in sorted(set(sides[i]) - set(sides[1 - i]))]
    if alone:
        more = f" and {len(alone) - 3} more" if len(alone) > 3 else ""
        raise ConfigError(f"--paired-data pairs recordings by file name, but {'; '.join(alone[:3])}{more}; add the "
                          "partner, remove the file, or train without --paired-data")
    common = [stem for stem in sides[0] if stem in sides[1]]  # already in the folders' natural order
    return tuple(sides[0][s] for s in common), tuple(sides[1][s] for s in common)


def domain_levels(violin_files, piano_files, sample_rate: int) -> dict[str, float]:
    """{"violin": dB, "piano": dB}: each instrument's typical level, the median RMS (dBFS) of its training files."""
    return {name: typical_level(read_mono(path, sample_rate)[0] for path in files)
            for name, files in zip(DOMAINS, (violin_files, piano_files))}


def check_audio_compatible(config: Config, directory: str) -> None:
    """Raise CheckpointError if `directory` holds a run with other spectrogram settings than `config`.

    `check_compatible` compares only the network shapes, and raw phase and instantaneous frequency both make
    2-channel images: resuming one as the other would silently train on a different signal.
    """
    path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isfile(path):
        return
    saved = Config.load(path).extra.get(AUDIO_KEY) or {}
    now = {k: v for k, v in audio_settings(config).items() if k != LEVELS_KEY}  # levels follow the files, not the run
    diffs = [f"{k}: saved {saved.get(k)!r}, now {v!r}" for k, v in now.items() if saved.get(k) != v]
    if diffs:
        raise CheckpointError(f"{path} was trained with other spectrogram settings ({'; '.join(diffs)}), so its "
                              "checkpoints cannot be resumed with these options. Use the same options, choose a new "
                              "--logdir, or pass --no-resume to start over there.")


def monitor_clips(violin_file: str, piano_file: str, config: Config, seconds: float) -> dict:
    """{"violin": wave, "piano": wave}: the loudest `seconds` of each monitoring file at the model's rate.

    The files are read like the training files (`read_mono`: mixed down to mono, float peaks scaled), with a note.
    """
    spec = spectrogram_config(config)
    length = max(spec.frame_length, int(round(seconds * spec.sample_rate)))
    clips = {}
    for name, path in zip(DOMAINS, (violin_file, piano_file)):
        wave, notes = read_mono(path, spec.sample_rate)
        for note in notes.values():
            logger.warning("tfgan_i2i.data: %s", note)
        clips[name] = loudest_clip(wave, length)
    return clips


def _dataset(config: Config, violin_files, piano_files, repeat: bool, seed: int):
    """The training batches: unaligned (violin, piano) crops, or aligned (source, target) crops for a paired model."""
    spec, frames = spectrogram_config(config), chunk_frames(config)
    options = dict(crop_frames=frames, batch_size=config.batch_size, repeat=repeat, seed=seed)
    if not is_paired(config):
        return unpaired_audio_dataset(violin_files, piano_files, spec, **options)
    files = dict(zip(DOMAINS, (violin_files, piano_files)))
    target = config.extra[AUDIO_KEY]["domains"]["B"]
    return paired_audio_dataset(files[source_of(target)], files[target], spec, **options)


def train_audio(config: Config, violin_files, piano_files, logdir: str, epochs: int | None = None,
                steps_per_epoch: int | None = None, resume: bool = True, verbose: int = 1,
                monitor: dict | None = None, callbacks=(), run_eagerly: bool = False):
    """Train `config`'s audio model on violin / piano crops; log and checkpoint to `logdir`.

    An unpaired model (AVB-GTN, UNIT) gets unaligned crops of the two lists; a paired one (pix2pix, BicycleGAN)
    the same crop of violin_files[i] and piano_files[i], which must be time-aligned (see `pair_files`), from its
    source instrument to its target. Each instrument's typical level is recorded in the config for
    `translate(level="target")`.

    Writes `logdir/config.json`, a checkpoint per epoch in `logdir/checkpoints` (resumed from, unless resume=False
    moves them aside), Keras' TensorBoard scalars in `logdir/train` and, for `monitor` clips ({"violin": wave,
    "piano": wave}), translated audio and spectrograms in `logdir/audio`. `epochs` is the total (default
    config.epochs + config.epochs_decay); the learning rate follows the config's lr_policy (`LRSchedule`: the
    avb-gtn and unit presets keep it constant, lr_T apart). `steps_per_epoch` None makes an epoch one crop per
    file of the larger domain.
    `run_eagerly` skips compiling the train step into a graph: a quicker start for a few debugging steps, much
    slower per step after that.
    Returns (model, history), history None when the checkpoints already hold every epoch.
    """
    config = config.validate()
    spec, frames = spectrogram_config(config), chunk_frames(config)
    config = with_levels(config, domain_levels(violin_files, piano_files, spec.sample_rate))
    logdir = os.fspath(logdir)
    checkpoint_dir = os.path.join(logdir, "checkpoints")
    os.makedirs(logdir, exist_ok=True)
    if resume:  # before anything is overwritten or built
        check_compatible(config, checkpoint_dir)
        check_audio_compatible(config, checkpoint_dir)
    else:
        _set_aside(checkpoint_dir, verbose)
    config.save(os.path.join(logdir, CONFIG_FILE))

    model = build_model(config)
    model.compile(run_eagerly=run_eagerly)
    initial_epoch = restore_latest(model, checkpoint_dir) if resume else 0
    total = epochs if epochs is not None else config.epochs + config.epochs_decay
    if initial_epoch >= total:
        if verbose:
            print(f"{checkpoint_dir} already holds {initial_epoch} epoch(s) of {total}: nothing left to train")
        return model, None
    if initial_epoch and verbose:
        print(f"resuming from epoch {initial_epoch} of {total} ({checkpoint_dir})")

    dataset = _dataset(config, violin_files, piano_files, repeat=steps_per_epoch is not None,
                       seed=config.seed + initial_epoch)  # a resumed run gets fresh crops
    # LRSchedule first so `lr` is in the logs TensorBoard writes; the checkpoint before the (slower) audio render.
    all_callbacks = [LRSchedule(), CheckpointCallback(checkpoint_dir)]
    if monitor:
        all_callbacks.append(AudioSamples(monitor, spec, frames, logdir))
    all_callbacks += [keras.callbacks.TensorBoard(logdir, update_freq="epoch", write_graph=False, profile_batch=0),
                      *callbacks]
    # shuffle=False: the dataset shuffles itself; fit's flag only warns for datasets
    history = model.fit(dataset, epochs=total, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                        callbacks=all_callbacks, verbose=verbose, shuffle=False)
    return model, history


__all__ = ["check_audio_compatible", "domain_files", "domain_levels", "hold_out_last", "monitor_clips", "pair_files",
           "train_audio"]
