"""Instrument domains of audio files as tf.data pipelines of spectrogram images, for the unpaired audio models
(and time-aligned pairs of recordings for the paired ones, `paired_audio_dataset`).

Folder layouts, found under `root` for an instrument such as "violin":

* generic: `root/violin/` (any depth below it);
* IRMAS training data: `root/vio/` (the IRMAS three-letter class folders: cel cla flu gac gel org pia sax tru vio voi);
* or pass instrument=None to use every audio file below `root` itself (a folder that is one domain).

Files are decoded once (mono, at config.sample_rate, by `read_mono`) and kept in memory (training sets are small:
IRMAS violin is 580 files of 3 s, ~110 MB of float32). Each example is a random crop of
config.crop_length(crop_frames) samples of one file, turned into a float32 (crop_frames, config.bins,
config.channels) image in [-1, 1] by `to_image`.

Awkward recordings: 8-bit, 24-bit and float files are read exactly (libsndfile scales every PCM width to [-1, 1]);
more than two channels are mixed down to mono with a note; float files that go beyond [-1, 1] are scaled down to a
peak of 1 with a note; NaN or infinite samples are refused by name (they mean a broken export, and no repair would
give back the lost signal); digital silence (every sample 0) is skipped in training with a warning, as it has no
instrument to learn.
"""
from __future__ import annotations

import logging
import os

import numpy as np
import soundfile as sf
import tensorflow as tf

from ..audio.io import AUDIO_EXTENSIONS, AudioError, read_audio
from ..audio.stft import SpectrogramConfig, to_image
from .images import natural_sorted

logger = logging.getLogger("tfgan_i2i.data")

# IRMAS class folder codes (Bosch et al. 2012), so `instrument="violin"` also finds `vio/`.
IRMAS_CODES = {
    "cello": "cel", "clarinet": "cla", "flute": "flu", "acoustic_guitar": "gac", "electric_guitar": "gel",
    "organ": "org", "piano": "pia", "saxophone": "sax", "trumpet": "tru", "violin": "vio", "voice": "voi",
}


def list_audio(folder: str) -> list[str]:
    """Every wav/flac/ogg/mp3 file at any depth below `folder` (hidden files and folders skipped), natural order."""
    found = []
    for parent, dirs, names in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # e.g. .ipynb_checkpoints, macOS ._ forks
        found += [os.path.join(parent, n) for n in names
                  if not n.startswith(".") and n.lower().endswith(AUDIO_EXTENSIONS)]
    return natural_sorted(found)


def audio_domain_files(root: str, instrument: str | None = None) -> tuple[str, ...]:
    """The audio files of one instrument domain under `root` (see the module doc for the layouts)."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise AudioError(f"Audio folder not found: {root!r}; check the path.")
    if instrument is None:
        folders = [root]
    else:
        names = [instrument] + ([IRMAS_CODES[instrument]] if instrument in IRMAS_CODES else [])
        folders = [os.path.join(root, n) for n in names if os.path.isdir(os.path.join(root, n))]
        if not folders:
            raise AudioError(
                f"No {instrument!r} folder in {root!r}: expected {' or '.join(os.path.join(root, n) for n in names)}"
                f"{os.sep} holding {'/'.join(AUDIO_EXTENSIONS)} files (the generic layout"
                f"{', or the IRMAS training layout' if len(names) > 1 else ''}), or pass the domain folder itself."
            )
    files = [f for folder in folders for f in list_audio(folder)]
    if not files:
        raise AudioError(f"No audio files below {' or '.join(repr(f) for f in folders)}: expected "
                         f"{'/'.join(AUDIO_EXTENSIONS)} files (subfolders are searched).")
    return tuple(files)


def is_silent(wave) -> bool:
    """Whether a wave is digital silence: every sample exactly 0."""
    return not np.any(wave)


def read_mono(path, sample_rate: int = 16000) -> tuple[np.ndarray, dict[str, str]]:
    """Read a recording as a mono float32 wave (n,) at `sample_rate`, with notes on what was changed.

    Returns (wave, notes): notes maps a kind ("mixed", "scaled") to a sentence naming the file. More than two
    channels are mixed down to their mean; a float file with samples beyond [-1, 1] is scaled down to a peak of 1
    (PCM files cannot exceed it). Missing, unreadable, empty and NaN/Inf files raise AudioError (`read_audio`).
    """
    path = os.fspath(path)
    wave = read_audio(path, sample_rate=sample_rate, mono=True)
    info = sf.info(path)  # the header only: read_audio has already proved the file readable
    notes = {}
    if info.channels > 2:
        notes["mixed"] = f"{path!r} has {info.channels} channels: mixed down to mono (the mean of all channels)"
    peak = float(np.max(np.abs(wave)))
    if peak > 1.0 and info.subtype in ("FLOAT", "DOUBLE"):
        wave = wave / np.float32(peak)
        notes["scaled"] = (f"{path!r} has float samples beyond [-1, 1] (peak {peak:.3g}): scaled down to a peak of 1 "
                           "so loud passages are not clipped")
    return wave, notes


def load_waves(files, sample_rate: int = 16000, min_samples: int = 1) -> list[np.ndarray]:
    """Decode files to mono float32 waves at sample_rate (see `read_mono`); files shorter than min_samples and
    silent files are skipped with a warning (one bad file should not stop a training run), and an AudioError is
    raised if none is left."""
    files = list(files)
    if not files:
        raise AudioError("No audio files given: pass the files of a domain, e.g. from audio_domain_files(root, "
                         "'violin').")
    waves, short, silent, notes = [], [], [], {}
    for path in files:
        wave, file_notes = read_mono(path, sample_rate)
        for kind, text in file_notes.items():
            notes.setdefault(kind, []).append(text)
        if wave.shape[0] < min_samples:
            short.append(path)
        elif is_silent(wave):
            silent.append(path)
        else:
            waves.append(wave)
    for texts in notes.values():  # one line per kind of conversion, however many files needed it
        more = f" (and {len(texts) - 1} more file(s) like it)" if len(texts) > 1 else ""
        logger.warning("tfgan_i2i.data: %s%s", texts[0], more)
    if short:
        logger.warning("tfgan_i2i.data: skipped %d audio file(s) shorter than %d samples (%.2f s), e.g. %r",
                       len(short), min_samples, min_samples / sample_rate, short[0])
    if silent:
        logger.warning("tfgan_i2i.data: skipped %d silent audio file(s) (digital silence: every sample is 0), e.g. %r",
                       len(silent), silent[0])
    if not waves:
        problems = []
        if short:
            problems.append(f"{len(short)} shorter than one crop of {min_samples} samples "
                            f"({min_samples / sample_rate:.2f} s), e.g. {short[0]!r}")
        if silent:
            problems.append(f"{len(silent)} digital silence (every sample 0), e.g. {silent[0]!r}")
        raise AudioError(f"No usable audio among {len(files)} file(s): {'; '.join(problems)}. Use longer, non-silent "
                         "recordings" + (" or lower crop_frames." if short else "."))
    return waves


def _crops(waves: list[np.ndarray], config: SpectrogramConfig, crop_frames: int, seed: int | None,
           shuffle: bool, partners: list[np.ndarray] | None = None) -> tf.data.Dataset:
    """An endless dataset of spectrogram images of random crops, one file at a time in (re)shuffled order.

    With `partners` (waves of the same lengths, time-aligned with `waves`), each example is the pair of images of
    the same crop of both: (image of waves[i], image of partners[i]).
    """
    size = config.crop_length(crop_frames)
    lengths = np.array([w.shape[0] for w in waves], np.int64)
    flat = tf.constant(np.concatenate(waves))  # one buffer: crops are slices at per-file offsets
    flat_partner = None if partners is None else tf.constant(np.concatenate(partners))
    offsets = tf.constant(np.concatenate([[0], np.cumsum(lengths)[:-1]]), tf.int64)
    lengths = tf.constant(lengths)
    index = tf.data.Dataset.range(len(waves))
    if shuffle:
        index = index.shuffle(len(waves), seed=seed, reshuffle_each_iteration=True)
    seeds = tf.data.Dataset.random(seed=None if seed is None else seed + 7, rerandomize_each_iteration=True)

    def image(buffer, start):
        wave = tf.slice(buffer, [start], [size])
        return tf.ensure_shape(to_image(wave, config), [crop_frames, config.bins, config.channels])

    def crop(i, pair_seed):
        shift = tf.random.stateless_uniform([], pair_seed, minval=0, maxval=lengths[i] - size + 1, dtype=tf.int64)
        if flat_partner is None:
            return image(flat, offsets[i] + shift)
        return image(flat, offsets[i] + shift), image(flat_partner, offsets[i] + shift)

    return tf.data.Dataset.zip((index.repeat(), seeds.batch(2))).map(crop, num_parallel_calls=tf.data.AUTOTUNE)


def _check(config: SpectrogramConfig, crop_frames: int, batch_size: int) -> int:
    """Validate the shared arguments; returns the crop length in samples."""
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size={batch_size} must be an integer >= 1")
    if not isinstance(crop_frames, int):
        raise ValueError(f"crop_frames={crop_frames} must be an integer")
    return config.crop_length(crop_frames)


def _finish(ds: tf.data.Dataset, epoch: int, batch_size: int, repeat: bool, drop_remainder: bool):
    """Cut an endless example stream to `epoch` examples (unless repeat), batch it and prefetch."""
    if not repeat:
        ds = ds.take(epoch)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def audio_dataset(files, config: SpectrogramConfig = SpectrogramConfig(), crop_frames: int = 128,
                  batch_size: int = 1, seed: int | None = None, shuffle: bool = True, repeat: bool = False,
                  drop_remainder: bool = True) -> tf.data.Dataset:
    """Batches (batch, crop_frames, config.bins, config.channels) float32 in [-1, 1] of random crops of `files`.

    An epoch (repeat=False) is one crop per file, in an order reshuffled every epoch (shuffle=True); crop offsets
    are random either way. A seed makes the whole stream repeatable.
    """
    size = _check(config, crop_frames, batch_size)
    waves = load_waves(files, config.sample_rate, size)
    ds = _crops(waves, config, crop_frames, seed, shuffle)
    return _finish(ds, len(waves), batch_size, repeat, drop_remainder)


def unpaired_audio_dataset(violin_files, piano_files, config: SpectrogramConfig = SpectrogramConfig(),
                           crop_frames: int = 128, batch_size: int = 1, seed: int | None = None,
                           shuffle: bool = True, repeat: bool = False, drop_remainder: bool = True) -> tf.data.Dataset:
    """Unaligned (A, B) batches of spectrogram crops: A from `violin_files`, B from `piano_files` (any two domains).

    Each domain is cropped and shuffled on its own (different seeds), like `unpaired_dataset`, so even the
    time-aligned rendered pairs never travel together. An epoch (repeat=False) is max(len(A), len(B)) examples;
    the smaller domain cycles.
    """
    size = _check(config, crop_frames, batch_size)
    domains, counts = [], []
    for i, files in enumerate((violin_files, piano_files)):
        waves = load_waves(files, config.sample_rate, size)
        counts.append(len(waves))
        domains.append(_crops(waves, config, crop_frames, None if seed is None else seed + 1000 * (i + 1), shuffle))
    return _finish(tf.data.Dataset.zip(tuple(domains)), max(counts), batch_size, repeat, drop_remainder)


def load_pairs(a_files, b_files, sample_rate: int = 16000,
               min_samples: int = 1) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Decode time-aligned recordings a_files[i] <-> b_files[i] to mono waves, each pair cut to its shorter length.

    Pairs where either side is shorter than min_samples or digital silence are skipped with a warning; a pair whose
    lengths differ by more than 10% gets a warning (aligned recordings of the same notes end close together; a
    rendering's release tail makes them differ a little). Raises AudioError when no pair is left.
    """
    a_files, b_files = list(a_files), list(b_files)
    if len(a_files) != len(b_files) or not a_files:
        raise AudioError(f"paired recordings need the same number of files on both sides (one pair each), got "
                         f"{len(a_files)} and {len(b_files)}")
    a_waves, b_waves, skipped = [], [], []
    for a, b in zip(a_files, b_files):
        (wa, notes_a), (wb, notes_b) = read_mono(a, sample_rate), read_mono(b, sample_rate)
        for note in (*notes_a.values(), *notes_b.values()):
            logger.warning("tfgan_i2i.data: %s", note)
        n = min(wa.shape[0], wb.shape[0])
        if max(wa.shape[0], wb.shape[0]) > 1.1 * n:
            logger.warning("tfgan_i2i.data: %r (%.2f s) and %r (%.2f s) differ in length by more than 10%%: are they "
                           "time-aligned? Training uses their first %.2f s", a, wa.shape[0] / sample_rate, b,
                           wb.shape[0] / sample_rate, n / sample_rate)
        if n < min_samples or is_silent(wa[:n]) or is_silent(wb[:n]):
            skipped.append(a)
            continue
        a_waves.append(wa[:n])
        b_waves.append(wb[:n])
    if skipped:
        logger.warning("tfgan_i2i.data: skipped %d pair(s) shorter than %d samples (%.2f s) or silent on one side, "
                       "e.g. %r", len(skipped), min_samples, min_samples / sample_rate, skipped[0])
    if not a_waves:
        raise AudioError(f"No usable pair among {len(a_files)}: every pair is shorter than one crop of {min_samples} "
                         f"samples or silent on one side, e.g. {skipped[0]!r}. Use longer, non-silent recordings.")
    return a_waves, b_waves


def paired_audio_dataset(a_files, b_files, config: SpectrogramConfig = SpectrogramConfig(), crop_frames: int = 128,
                         batch_size: int = 1, seed: int | None = None, shuffle: bool = True, repeat: bool = False,
                         drop_remainder: bool = True) -> tf.data.Dataset:
    """Aligned (A, B) batches for the paired models: the same random crop of time-aligned a_files[i] and b_files[i]
    (e.g. one melody rendered for two instruments), as spectrogram images (batch, crop_frames, bins, channels).

    The (A, B) tuples are what the paired models' `train_step` takes (as from `paired_dataset`). An epoch
    (repeat=False) is one crop per pair; see `load_pairs` for how pairs are read.
    """
    size = _check(config, crop_frames, batch_size)
    a_waves, b_waves = load_pairs(a_files, b_files, config.sample_rate, size)
    ds = _crops(a_waves, config, crop_frames, seed, shuffle, partners=b_waves)
    return _finish(ds, len(a_waves), batch_size, repeat, drop_remainder)


__all__ = ["IRMAS_CODES", "audio_dataset", "audio_domain_files", "is_silent", "list_audio", "load_pairs", "load_waves",
           "paired_audio_dataset", "read_mono", "unpaired_audio_dataset"]
