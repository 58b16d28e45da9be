"""Two unaligned image domains (A, B) as a tf.data pipeline, for CycleGAN / UNIT / AVB-GTN.

Layouts, detected under `root`:

* the CycleGAN layout: `root/trainA/`, `root/trainB/` (and `testA/`, `testB/`), any number of images per domain;
* any paired folder the paired pipeline accepts (`root/train/*.jpg` side by side, or `train/A/` + `train/B/`),
  used as two unaligned domains: the A halves and the B halves are shuffled independently, so pairs never
  travel together (e.g. ../shared/data/facades as photo <-> label).

File discovery, validation and decoding are the paired pipeline's; resize, random crop and flip options are the
same, applied to each domain on its own.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .images import DataError, _check_channels, _note_conversion, conversion_kind, list_images, open_image
from .paired import (PARALLEL, SIDE_BY_SIDE, PairedFiles, _augment_seeds, _check_epoch_args, _epoch_stream,
                     _find_unchecked, _image_store, _index_stream, _to_float, _validate, file_decoder)

FOLDERS = "folders"  # the CycleGAN layout: splitA/, splitB/


@dataclass(frozen=True)
class UnpairedFiles:
    """The files of one split of an unpaired dataset. For paired layouts `a` and `b` are the same pairs."""

    layout: str        # FOLDERS | SIDE_BY_SIDE | PARALLEL
    folder: str        # split folder (paired layouts) or dataset root (FOLDERS)
    a: tuple[str, ...]
    b: tuple[str, ...]
    # Files the pipeline decodes with PIL to match read_image (EXIF-rotated, CMYK); see PairedFiles.pil_decoded.
    pil_decoded: frozenset[str] = frozenset()

    @property
    def aligned(self) -> bool:
        """Whether a[i] and b[i] are a true pair (a paired folder), so translations can be scored against them."""
        return self.layout != FOLDERS


def _layout_help(root: str, split: str) -> str:
    return (
        f"Expected the CycleGAN layout {os.path.join(root, split + 'A')}{os.sep} and "
        f"{os.path.join(root, split + 'B')}{os.sep} (one folder of images per domain), or a paired folder "
        f"{os.path.join(root, split)}{os.sep} (A|B side-by-side images, or A/ and B/ subfolders)."
    )


def find_unpaired(root: str, split: str = "train", validate: str = "full") -> UnpairedFiles:
    """Find (and check, like find_pairs) the A and B image files of one split; see the module doc for layouts."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise DataError(f"Dataset folder not found: {root!r}; check the path.")
    dir_a, dir_b = os.path.join(root, split + "A"), os.path.join(root, split + "B")
    if os.path.isdir(dir_a) or os.path.isdir(dir_b):
        for d in (dir_a, dir_b):
            if not os.path.isdir(d):
                raise DataError(f"Found one domain folder but not {d!r}: unpaired data needs both. "
                                + _layout_help(root, split))
        files = UnpairedFiles(FOLDERS, root, tuple(list_images(dir_a)), tuple(list_images(dir_b)))
        checked = _validate(PairedFiles(root, PARALLEL, files.a, files.b), validate)[2]
        return dataclasses.replace(files, pil_decoded=checked.pil_decoded)
    try:
        pairs = _find_unchecked(root, split)
    except DataError as e:
        raise DataError(f"{e} " + _layout_help(root, split)) from None
    pairs = _validate(pairs, validate)[2]
    b = pairs.a if pairs.layout == SIDE_BY_SIDE else pairs.b
    return UnpairedFiles(pairs.layout, pairs.folder, pairs.a, b, pairs.pil_decoded)


def _domain_decoder(layout: str, half: int | None, pil_decoded=frozenset()):
    """path -> uint8 image of one domain (`half` 0/1 picks the left/right half of side-by-side files)."""
    decode_file = file_decoder(pil_decoded)

    def decode(path):
        img = decode_file(path)
        if layout == SIDE_BY_SIDE:
            w = tf.shape(img)[1] // 2
            img = img[:, :w] if half == 0 else img[:, w:2 * w]
        return img

    return decode


def _image_preparer(load_size, crop_size, flip, channels):
    """(uint8 image, (4,) seeds) -> float32 (crop, crop, channels) in [-1, 1]: resize, random crop, random flip."""

    def prepare(img, seeds):
        img = tf.image.resize(_to_float(img, channels), [load_size, load_size], method="bilinear", antialias=True)
        img = tf.clip_by_value(img, -1.0, 1.0)
        if load_size > crop_size:
            img = tf.image.stateless_random_crop(img, [crop_size, crop_size, channels], seeds[:2])
        if flip:
            img = tf.image.stateless_random_flip_left_right(img, seeds[2:])
        return tf.ensure_shape(img, [crop_size, crop_size, channels])

    return prepare


def _prepare_images(ds, decode, *, seed, load_size, crop_size, flip, shuffle, channels, buffer=1000, repeat=True):
    """Shuffle/repeat a dataset of items (file paths if `decode` is given, else uint8 images) and preprocess each:
    resize to load_size, random crop_size crop, random flip; float32 (crop, crop, channels) in [-1, 1]."""
    auto = tf.data.AUTOTUNE
    if shuffle:
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if decode is not None:
        ds = ds.map(decode, num_parallel_calls=auto)
    seeds = tf.data.Dataset.random(seed=None if seed is None else seed + 7, rerandomize_each_iteration=True).batch(4)
    prepare = _image_preparer(load_size, crop_size, flip, channels)
    return tf.data.Dataset.zip((ds, seeds)).map(prepare, num_parallel_calls=auto)


def _domain(files, layout, half, *, load_size, crop_size, flip, shuffle, repeat, cache, seed, channels,
            pil_decoded=frozenset()):
    """One domain's dataset of float32 (crop, crop, channels) images in [-1, 1]."""
    decode = _domain_decoder(layout, half, pil_decoded)
    ds = tf.data.Dataset.from_tensor_slices(list(files))
    if cache:
        # decoded native-size uint8 images are cached; crops and flips stay random per epoch
        ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE).cache(
            "" if cache is True else f"{os.fspath(cache)}.{half}")
        decode = None
    return _prepare_images(ds, decode, seed=seed, load_size=load_size, crop_size=crop_size, flip=flip,
                           shuffle=shuffle, channels=channels, buffer=len(files), repeat=repeat)


def _note_modes(files: UnpairedFiles, validate: str, input_nc: int, output_nc: int) -> None:
    if validate == "none":
        return
    for paths, channels in ((files.a[:1], input_nc), (files.b[:1], output_nc)):
        for p in paths:
            with open_image(p) as im:
                kind = conversion_kind(im.mode, channels)
            if kind:
                _note_conversion(kind)


def unpaired_dataset(
    root: str,
    split: str = "train",
    direction: str = "AtoB",
    load_size: int = 286,
    crop_size: int = 256,
    batch_size: int = 1,
    flip: bool = True,
    shuffle: bool = True,
    repeat: bool = False,
    cache: bool | str = False,
    seed: int | None = None,
    input_nc: int = 3,
    output_nc: int = 3,
    drop_remainder: bool = True,
    validate: str = "full",
    epoch: int | None = None,
    steps_per_epoch: int | None = None,
) -> tf.data.Dataset:
    """A tf.data.Dataset of unaligned (A, B) float32 batches in [-1, 1], shape (batch, crop_size, crop_size, nc).

    Each domain is resized to load_size, randomly cropped to crop_size and flipped on its own, and shuffled
    independently (different seeds), so even a paired folder yields unaligned batches. An epoch (repeat=False)
    has max(len(A), len(B)) // batch_size batches; the smaller domain cycles. direction="BtoA" swaps the domains.

    `epoch` (an int) gives the endless, stateless stream of epochs from `epoch` on, as `paired_dataset` does: each
    domain is a stream of passes whose orders, crops and flips depend only on (seed, domain, position), and epoch e
    starts at example position e * max(len(A), len(B)) (steps_per_epoch None: one epoch of batches per such
    stretch) or e * steps_per_epoch * batch_size (an int: continuous), so a resumed run sees the same batches.
    """
    if direction not in ("AtoB", "BtoA"):
        raise ValueError(f"direction={direction!r} must be 'AtoB' or 'BtoA'")
    if not (isinstance(crop_size, int) and isinstance(load_size, int) and 1 <= crop_size <= load_size):
        raise ValueError(f"need integers 1 <= crop_size <= load_size, got crop_size={crop_size}, load_size={load_size}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size={batch_size} must be an integer >= 1")
    _check_channels(input_nc)
    _check_channels(output_nc)
    if epoch is not None:
        _check_epoch_args(epoch, steps_per_epoch, cache)
    files = find_unpaired(root, split, validate)
    sides = [(files.a, 0), (files.b, 1)]
    if direction == "BtoA":
        sides.reverse()
    n = max(len(files.a), len(files.b))
    endless = repeat if epoch is None else steps_per_epoch is not None
    if drop_remainder and not endless and n < batch_size:
        raise DataError(f"{files.folder!r} has only {n} image(s) per domain, fewer than batch_size={batch_size}; "
                        "lower batch_size or pass drop_remainder=False.")
    _note_modes(files, validate, input_nc, output_nc)
    if epoch is not None:
        return _unpaired_epochs(files, sides, n, load_size=load_size, crop_size=crop_size, batch_size=batch_size,
                                flip=flip, shuffle=shuffle, cache=bool(cache), seed=0 if seed is None else int(seed),
                                channels=(input_nc, output_nc), drop_remainder=drop_remainder, epoch=int(epoch),
                                steps_per_epoch=steps_per_epoch)
    base = 0 if seed is None else seed
    domains = [
        _domain(paths, files.layout, half, load_size=load_size, crop_size=crop_size, flip=flip, shuffle=shuffle,
                repeat=True, cache=cache, seed=None if seed is None else base + 1000 * (i + 1),
                channels=(input_nc, output_nc)[i], pil_decoded=files.pil_decoded)
        for i, (paths, half) in enumerate(sides)
    ]
    if not shuffle and files.aligned:
        # without shuffling a paired folder would stay aligned; offset B by half the set so pairs are split up
        domains[1] = domains[1].skip(max(1, len(sides[1][0]) // 2))
    ds = tf.data.Dataset.zip(tuple(domains))
    if not repeat:
        ds = ds.take(n)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _domain_loader(paths, layout: str, half: int, cache: bool, pil_decoded=frozenset()):
    """index -> uint8 image of one domain: from an in-memory store of the decoded images, or decoded from its file."""
    decode = _domain_decoder(layout, half, pil_decoded)
    if cache:
        return _image_store(tf.data.Dataset.from_tensor_slices(list(paths))
                            .map(decode, num_parallel_calls=tf.data.AUTOTUNE))
    table = tf.constant(list(paths))
    return lambda j: decode(tf.gather(table, j))


def _unpaired_epochs(files: UnpairedFiles, sides, n: int, *, load_size, crop_size, batch_size, flip, shuffle, cache,
                     seed: int, channels, drop_remainder, epoch, steps_per_epoch) -> tf.data.Dataset:
    """The stateless epoch stream of two domains (see `unpaired_dataset`, `epoch`); domain i is stream 1 + i."""
    domains = []
    for i, (paths, half) in enumerate(sides):
        # without shuffling a paired folder would stay aligned; B starts half the set later so pairs are split up
        offset = max(1, len(paths) // 2) if i == 1 and not shuffle and files.aligned else 0
        domains.append(dict(size=len(paths), offset=offset, stream=1 + i,
                            load=_domain_loader(paths, files.layout, half, cache, files.pil_decoded),
                            prepare=_image_preparer(load_size, crop_size, flip, channels[i])))

    def domain_examples(start, size, offset, stream, load, prepare):
        ids = _index_stream(size, start + offset, seed, shuffle, stream)
        return ids.map(lambda j, position: prepare(load(j), _augment_seeds(seed, stream, position)),
                       num_parallel_calls=tf.data.AUTOTUNE)

    def examples(start):
        return tf.data.Dataset.zip(tuple(domain_examples(start, **d) for d in domains))

    return _epoch_stream(examples, n, batch_size, epoch, steps_per_epoch, drop_remainder)


def unpaired_arrays(root: str, split: str = "test", direction: str = "AtoB", size: int = 256, input_nc: int = 3,
                    output_nc: int = 3, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first `limit` images of each domain (natural order, resized to size x size, no crop/flip) as float32
    arrays (A, B) in [-1, 1]; for a paired folder A[i] and B[i] are a true pair. For fixed grids and evaluation."""
    files = find_unpaired(root, split, "full")
    out = []
    sides = [(files.a, 0, input_nc), (files.b, 1, output_nc)]
    if direction == "BtoA":
        sides = [(files.b, 1, input_nc), (files.a, 0, output_nc)]
    for paths, half, channels in sides:
        paths = paths[:limit] if limit else paths
        ds = _domain(paths, files.layout, half, load_size=size, crop_size=size, flip=False, shuffle=False,
                     repeat=False, cache=False, seed=None, channels=channels, pil_decoded=files.pil_decoded)
        out.append(np.stack(list(ds.as_numpy_iterator())))
    return out[0], out[1]


__all__ = ["UnpairedFiles", "find_unpaired", "unpaired_dataset", "unpaired_arrays", "FOLDERS"]
