"""Aligned (A, B) image pairs as tf.data pipelines, with pix2pix preprocessing (resize, shared random crop and flip).

Two folder layouts are detected automatically under `root/split` (or `root` itself when it is the split folder):

* side-by-side (the pix2pix release format): `split/*.jpg`, each file is A and B concatenated horizontally;
* parallel folders: `split/A/*` and `split/B/*`, paired by file stem (`A/12.png` <-> `B/12.jpg`).
"""
from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .images import (
    IMAGE_EXTENSIONS,
    TF_DECODABLE_FORMATS,
    DataError,
    _check_channels,
    _note_conversion,
    _unreadable,
    conversion_kind,
    decode_for_pipeline,
    exif_orientation,
    list_images,
    needs_pil_decoding,
    open_image,
)

SIDE_BY_SIDE = "side_by_side"
PARALLEL = "parallel"
VALIDATE_LEVELS = ("full", "header", "none")


@dataclass(frozen=True)
class PairedFiles:
    """The image files of one split of a paired dataset, in natural order."""

    folder: str
    layout: str  # SIDE_BY_SIDE: `a` holds the A|B files and `b` is None; PARALLEL: a[i] pairs with b[i]
    a: tuple[str, ...]
    b: tuple[str, ...] | None = None
    # Files tf.io.decode_image would read differently from read_image (EXIF-rotated, CMYK), found by validation:
    # the pipeline decodes these with PIL. Empty when validate="none".
    pil_decoded: frozenset[str] = frozenset()

    def __len__(self) -> int:
        """Number of pairs."""
        return len(self.a)

    def take(self, n: int | None) -> "PairedFiles":
        """The first `n` pairs (all of them when n is None)."""
        if n is None:
            return self
        if n < 1:
            raise ValueError(f"limit={n} must be >= 1 (or None for all pairs)")
        return PairedFiles(self.folder, self.layout, self.a[:n], None if self.b is None else self.b[:n],
                           self.pil_decoded)


def _layout_help(folder: str) -> str:
    """The accepted layouts, spelled out for error messages."""
    return (
        f"Expected either side-by-side pairs {os.path.join(folder, '*.jpg')} (each image = A|B side by side, "
        f"left half A, right half B) or parallel folders {os.path.join(folder, 'A')}{os.sep} and "
        f"{os.path.join(folder, 'B')}{os.sep} holding files with matching names."
    )


def _has_images(folder: str) -> bool:
    """Whether `folder` directly holds at least one image file."""
    return any(
        not n.startswith(".") and n.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(os.path.join(folder, n))
        for n in os.listdir(folder)
    )


def _split_folder(root: str, split: str) -> str:
    """Resolve `root/split`, or `root` itself when it already is a split folder."""
    if not os.path.isdir(root):
        raise DataError(f"Dataset folder not found: {root!r}; check the path.")
    candidate = os.path.join(root, split)
    if os.path.isdir(candidate):
        return candidate
    is_split = (os.path.isdir(os.path.join(root, "A")) and os.path.isdir(os.path.join(root, "B"))) or _has_images(root)
    if is_split:
        return root
    raise DataError(
        f"No {split!r} split in {root!r}: {candidate!r} does not exist and {root!r} holds no pairs itself. "
        + _layout_help(candidate)
    )


def _stem_map(folder: str) -> dict[str, str]:
    """Map file stem -> path for the images in one parallel folder; duplicate stems are an error."""
    stems: dict[str, str] = {}
    for path in list_images(folder):
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem in stems:
            raise DataError(
                f"Two images share the name {stem!r} in {folder!r} ({os.path.basename(stems[stem])} and "
                f"{os.path.basename(path)}), so pairing by name is ambiguous; delete or rename one."
            )
        stems[stem] = path
    return stems


def _listing(names: list[str], limit: int = 5) -> str:
    """Up to `limit` names, with a count of the rest."""
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


def _find_unchecked(root: str, split: str) -> PairedFiles:
    """Detect the layout and list the pairs without opening any image."""
    folder = _split_folder(os.fspath(root), split)
    dir_a, dir_b = os.path.join(folder, "A"), os.path.join(folder, "B")
    has_a, has_b = os.path.isdir(dir_a), os.path.isdir(dir_b)
    if has_a != has_b:
        present, missing = (dir_a, dir_b) if has_a else (dir_b, dir_a)
        raise DataError(
            f"Found {present!r} but not {missing!r}: parallel layouts need both A and B folders. " + _layout_help(folder)
        )
    if has_a:
        for sub in (dir_a, dir_b):
            if not _has_images(sub):
                raise DataError(f"No images in {sub!r}. " + _layout_help(folder))
        stems_a, stems_b = _stem_map(dir_a), _stem_map(dir_b)
        only_a = sorted(set(stems_a) - set(stems_b))
        only_b = sorted(set(stems_b) - set(stems_a))
        if only_a or only_b:
            parts = []
            if only_a:
                parts.append(f"in A but not in B: {_listing(only_a)}")
            if only_b:
                parts.append(f"in B but not in A: {_listing(only_b)}")
            raise DataError(
                f"A and B file names do not match in {folder!r} ({'; '.join(parts)}). Each A/<name> needs a "
                "B/<name> with the same name (extensions may differ); add the missing files or remove the extras."
            )
        paths_a = list_images(dir_a)  # natural order, shared by both sides through the stem lookup
        stem_of = {p: os.path.splitext(os.path.basename(p))[0] for p in paths_a}
        return PairedFiles(folder, PARALLEL, tuple(paths_a), tuple(stems_b[stem_of[p]] for p in paths_a))
    if not _has_images(folder):
        raise DataError(f"No images in {folder!r}. " + _layout_help(folder))
    return PairedFiles(folder, SIDE_BY_SIDE, tuple(list_images(folder)))


def _check_file(path: str, level: str, side_by_side: bool) -> tuple[str | None, bool, str | None]:
    """Open one image cheaply; return (PIL mode, needs PIL decoding, error message), the error None if it is fine."""
    try:
        with open_image(path) as im:  # refuses files above MAX_IMAGE_PIXELS from the header alone
            fmt, mode = im.format, im.mode
            # EXIF orientations 5-8 turn the image by 90 degrees: the upright width is the stored height.
            width = im.height if exif_orientation(im) >= 5 else im.width
            if fmt not in TF_DECODABLE_FORMATS:
                return None, False, (
                    f"{path!r} is a {fmt} image, which the tf.data decoder cannot read; convert it to PNG or JPEG."
                )
            if side_by_side and width % 2:
                return None, False, (
                    f"{path!r} is {width} pixels wide, an odd width, so it cannot be split into equal A|B halves. "
                    "Side-by-side files must be A and B of the same size joined horizontally; fix or remove the file."
                )
            use_pil = needs_pil_decoding(im)
            if level == "full":
                if fmt in ("JPEG", "MPO"):
                    # Decoding at 1/8 scale still reads every byte (so truncation is caught) at a fraction of the cost.
                    im.draft(mode, (max(1, im.width // 8), max(1, im.height // 8)))
                im.load()
        return mode, use_pil, None
    except DataError as err:
        if not os.path.exists(path):
            return None, False, f"{path!r} disappeared while the dataset was being checked; check the folder."
        return None, False, str(err)
    except (OSError, SyntaxError, ValueError) as err:  # from im.load(): truncated or corrupt pixel data
        return None, False, str(_unreadable(path, err))


def _validate(pairs: PairedFiles, level: str) -> tuple[set[str], set[str], PairedFiles]:
    """Check every file up front so a bad one fails here, by name, rather than as a tf error mid-epoch.

    Returns the PIL modes seen on the A side and on the B side (for conversion notes), and `pairs` with
    `pil_decoded` set to the files the pipeline must decode with PIL to match read_image.
    """
    if level not in VALIDATE_LEVELS:
        raise ValueError(f"validate={level!r} must be one of {VALIDATE_LEVELS}")
    if level == "none":
        return set(), set(), pairs
    side_by_side = pairs.layout == SIDE_BY_SIDE
    files = list(pairs.a) + ([] if side_by_side else list(pairs.b))
    # Pillow releases the GIL while decoding, so threads give a real speed-up on the full check.
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 2)) as pool:
        results = list(pool.map(lambda f: _check_file(f, level, side_by_side), files))
    errors = [err for _, _, err in results if err]
    if errors:
        more = f" ({len(errors) - 1} more bad file(s) in {pairs.folder!r})" if len(errors) > 1 else ""
        raise DataError(errors[0] + more)
    modes = [mode for mode, _, _ in results]
    pairs = dataclasses.replace(pairs, pil_decoded=frozenset(f for f, (_, pil, _) in zip(files, results) if pil))
    if pairs.pil_decoded:
        _note_conversion("EXIF-rotated and CMYK images are decoded by PIL in the tf.data pipeline (turned upright, "
                         "converted to RGB), as read_image does")
    n = len(pairs.a)
    return (set(modes[:n]), set(modes[:n]), pairs) if side_by_side else (set(modes[:n]), set(modes[n:]), pairs)


def find_pairs(root: str, split: str = "train", validate: str = "full") -> PairedFiles:
    """Find and check the (A, B) files of one split; `validate` is "full" (decode), "header" or "none"."""
    return _validate(_find_unchecked(root, split), validate)[2]


def _to_float(img: tf.Tensor, channels: int) -> tf.Tensor:
    """uint8 HxWxC with any channel count (1, 2, 3, 4) -> float32 HxWx`channels` in [-1, 1]."""
    img = tf.cast(img, tf.float32) / 127.5 - 1.0
    n = tf.shape(img)[-1]
    if channels == 3:
        # 1 (gray) and 2 (gray+alpha) channels repeat the gray; 3 and 4 (RGBA) keep RGB.
        img = tf.cond(n >= 3, lambda: img[..., :3], lambda: tf.tile(img[..., :1], [1, 1, 3]))
    else:
        img = tf.cond(n >= 3, lambda: tf.image.rgb_to_grayscale(img[..., :3]), lambda: img[..., :1])
    return tf.ensure_shape(img, [None, None, channels])


def file_decoder(pil_decoded=frozenset()):
    """A tf function path -> uint8 HxWxC image (any channel count), decoded like read_image.

    tf.io.decode_image for most files; the files in `pil_decoded` (EXIF-rotated or CMYK, see `_validate`) go
    through PIL (`decode_for_pipeline`) instead, since tf.io.decode_image would leave them rotated or recoloured.
    """

    def tf_decode(path):
        return tf.io.decode_image(tf.io.read_file(path), channels=0, expand_animations=False)

    if not pil_decoded:
        return tf_decode
    special = tf.constant(sorted(pil_decoded))

    def pil_decode(path):
        img = tf.numpy_function(decode_for_pipeline, [path], tf.uint8, stateful=False)
        return tf.ensure_shape(img, [None, None, None])

    def decode(path):
        return tf.cond(tf.reduce_any(tf.equal(special, path)), lambda: pil_decode(path), lambda: tf_decode(path))

    return decode


def _decoder(layout: str, swap: bool, pil_decoded=frozenset()):
    """A tf function mapping file path(s) to the uint8 (input, target) images, halves split and direction applied."""
    decode = file_decoder(pil_decoded)
    if layout == SIDE_BY_SIDE:

        def decode_pair(path):
            img = decode(path)
            half = tf.shape(img)[1] // 2
            left, right = img[:, :half], img[:, half : 2 * half]
            return (right, left) if swap else (left, right)

    else:

        def decode_pair(path_a, path_b):
            a, b = decode(path_a), decode(path_b)
            return (b, a) if swap else (a, b)

    return decode_pair


def _preparer(load_size: int, crop_size: int, flip: bool, input_nc: int, output_nc: int):
    """A tf function applying pix2pix preprocessing; the random ops see A and B stacked, so they match exactly."""
    crop = load_size > crop_size

    def resize(img, channels):
        img = _to_float(img, channels)
        # antialias: without it, shrinking large photos to load_size aliases badly; at equal size it is the identity.
        img = tf.image.resize(img, [load_size, load_size], method="bilinear", antialias=True)
        return tf.clip_by_value(img, -1.0, 1.0)

    def prepare(pair, seeds=None):
        a, b = resize(pair[0], input_nc), resize(pair[1], output_nc)
        if crop or flip:
            both = tf.concat([a, b], axis=-1)
            if crop:
                both = tf.image.stateless_random_crop(both, [crop_size, crop_size, input_nc + output_nc], seeds[:2])
            if flip:
                both = tf.image.stateless_random_flip_left_right(both, seeds[2:])
            a, b = both[..., :input_nc], both[..., input_nc:]
        return tf.ensure_shape(a, [crop_size, crop_size, input_nc]), tf.ensure_shape(b, [crop_size, crop_size, output_nc])

    return prepare


def _check_args(direction, load_size, crop_size, batch_size, input_nc, output_nc) -> None:
    """Reject option values that cannot work, before touching any file."""
    if direction not in ("AtoB", "BtoA"):
        raise ValueError(f"direction={direction!r} must be 'AtoB' or 'BtoA'")
    if not (isinstance(crop_size, int) and isinstance(load_size, int) and 1 <= crop_size <= load_size):
        raise ValueError(f"need integers 1 <= crop_size <= load_size, got crop_size={crop_size}, load_size={load_size}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"batch_size={batch_size} must be an integer >= 1")
    _check_channels(input_nc)
    _check_channels(output_nc)


def _note_modes(modes_a: set[str], modes_b: set[str], direction: str, input_nc: int, output_nc: int) -> None:
    """Tell the user (once per kind) about channel conversions the pipeline will apply."""
    if direction == "BtoA":
        modes_a, modes_b = modes_b, modes_a
    for modes, channels in ((modes_a, input_nc), (modes_b, output_nc)):
        for mode in sorted(modes):
            kind = conversion_kind(mode, channels)
            if kind:
                _note_conversion(kind)


def _build(pairs: PairedFiles, *, direction, load_size, crop_size, batch_size, flip, shuffle, repeat, cache, seed,
           input_nc, output_nc, drop_remainder) -> tf.data.Dataset:
    """Assemble the tf.data pipeline for already-validated pairs."""
    auto = tf.data.AUTOTUNE
    decode = _decoder(pairs.layout, swap=direction == "BtoA", pil_decoded=pairs.pil_decoded)
    prepare = _preparer(load_size, crop_size, flip, input_nc, output_nc)
    files = list(pairs.a) if pairs.b is None else (list(pairs.a), list(pairs.b))
    ds = tf.data.Dataset.from_tensor_slices(files)
    if cache:
        # Cache the decoded native-size uint8 pair (4x smaller than float), so crops and flips stay random per epoch.
        ds = ds.map(decode, num_parallel_calls=auto).cache("" if cache is True else os.fspath(cache))
    if shuffle:
        ds = ds.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if not cache:
        ds = ds.map(decode, num_parallel_calls=auto)
    if load_size > crop_size or flip:
        # Seeds come after shuffle/repeat and re-randomise per iteration, so every epoch draws new crops and flips.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(4)
        ds = tf.data.Dataset.zip((ds, seeds)).map(prepare, num_parallel_calls=auto)
    else:
        ds = ds.map(lambda a, b: prepare((a, b)), num_parallel_calls=auto)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=auto)
    return ds.prefetch(auto)


# --- the stateless epoch stream (exact resume) ----------------------------------------------------------------------
_ENDLESS = np.iinfo(np.int64).max  # the end of an endless tf.data range


def _stream_seed(seed: int, *data) -> tf.Tensor:
    """A (2,) int64 stateless seed that depends only on the run `seed` and the integers `data` (stream, pass, ...)."""
    out = tf.stack([tf.constant(seed, tf.int64), tf.constant(0, tf.int64)])
    for d in data:
        out = tf.random.experimental.stateless_fold_in(out, tf.cast(d, tf.int64))
    return out


def _augment_seeds(seed: int, stream: int, position) -> tf.Tensor:
    """The (4,) crop and flip seeds of the example at `position` of a stream (what `_preparer` expects)."""
    return tf.concat([_stream_seed(seed, stream, position, 0), _stream_seed(seed, stream, position, 1)], 0)


def _index_stream(n: int, start, seed: int, shuffle: bool, stream: int) -> tf.data.Dataset:
    """Endless (item index, position) pairs from example position `start` on, as passes over range(n).

    Position q is item order_p[q % n] of pass p = q // n, where order_p is a permutation (the identity without
    `shuffle`) drawn statelessly from (seed, stream, p). So any position can be reached by skipping item indices
    only: nothing before `start` is read or decoded.
    """
    start = tf.cast(start, tf.int64)

    def one_pass(p):
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=_stream_seed(seed, stream, p))
        return tf.data.Dataset.from_tensor_slices(order)

    items = tf.data.Dataset.range(start // n, _ENDLESS).flat_map(one_pass).skip(start % n)
    return tf.data.Dataset.zip((items, tf.data.Dataset.range(start, _ENDLESS)))


def _image_store(dataset: tf.data.Dataset):
    """Decode every element of a dataset of uint8 image tuples once; returns a random-access lookup i -> tuple.

    The images (any sizes) are kept as one flat uint8 buffer per tuple slot with offsets and shapes, so a
    stateless order can read image i directly (tf.data's own cache only replays in file order).
    """
    columns = None
    for element in dataset.as_numpy_iterator():
        element = element if isinstance(element, tuple) else (element,)
        columns = columns or [[] for _ in element]
        for column, image in zip(columns, element):
            column.append(image)
    stores = []
    for images in columns:
        shapes = np.array([im.shape for im in images], np.int64)
        sizes = shapes.prod(axis=1)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        stores.append((tf.constant(np.concatenate([im.reshape(-1) for im in images])), tf.constant(offsets),
                       tf.constant(shapes)))
        images.clear()

    def lookup(i):
        out = tuple(tf.reshape(tf.slice(flat, [offsets[i]], [tf.reduce_prod(shapes[i])]), shapes[i])
                    for flat, offsets, shapes in stores)
        return out if len(out) > 1 else out[0]

    return lookup


def _check_epoch_args(epoch, steps_per_epoch, cache) -> None:
    """Reject epoch-stream options that cannot work."""
    if not (isinstance(epoch, (int, np.integer)) and epoch >= 0):
        raise ValueError(f"epoch={epoch!r} must be an integer >= 0 (or None for a plain tf.data pipeline)")
    if steps_per_epoch is not None and not (isinstance(steps_per_epoch, (int, np.integer)) and steps_per_epoch >= 1):
        raise ValueError(f"steps_per_epoch={steps_per_epoch!r} must be an integer >= 1 (or None: one pass per epoch)")
    if cache not in (True, False, None):
        raise ValueError(f"cache={cache!r}: with epoch= the decoded images are kept in memory (cache=True) or read "
                         "from disk every epoch (cache=False); a cache file is not supported")


def _epoch_stream(examples, n: int, batch_size: int, epoch: int, steps_per_epoch: int | None,
                  drop_remainder: bool) -> tf.data.Dataset:
    """Batches of the endless example stream `examples(start)`, from the first batch of `epoch` on.

    steps_per_epoch None: epoch e is the n examples at positions [e * n, (e + 1) * n), batched on their own (the
    last partial batch dropped with drop_remainder), so every epoch is exactly one pass. Otherwise epoch e is the
    steps_per_epoch full batches from position e * steps_per_epoch * batch_size on, passes running into each other.
    """
    auto = tf.data.AUTOTUNE
    if steps_per_epoch is None:
        def one_epoch(e):
            return examples(e * n).take(n).batch(batch_size, drop_remainder=drop_remainder, num_parallel_calls=auto)

        ds = tf.data.Dataset.range(epoch, _ENDLESS).flat_map(one_epoch)
    else:
        ds = examples(epoch * steps_per_epoch * batch_size).batch(batch_size, drop_remainder=True,
                                                                  num_parallel_calls=auto)
    return ds.prefetch(auto)


def _build_epochs(pairs: PairedFiles, *, direction, load_size, crop_size, batch_size, flip, shuffle, cache, seed,
                  input_nc, output_nc, drop_remainder, epoch, steps_per_epoch) -> tf.data.Dataset:
    """The stateless epoch stream of already-validated pairs (see `paired_dataset`, `epoch`)."""
    auto = tf.data.AUTOTUNE
    seed = 0 if seed is None else int(seed)
    decode = _decoder(pairs.layout, swap=direction == "BtoA", pil_decoded=pairs.pil_decoded)
    prepare = _preparer(load_size, crop_size, flip, input_nc, output_nc)
    columns = (list(pairs.a),) if pairs.b is None else (list(pairs.a), list(pairs.b))
    if cache:
        load = _image_store(tf.data.Dataset.from_tensor_slices(columns if len(columns) > 1 else columns[0])
                            .map(decode, num_parallel_calls=auto))
    else:
        paths = [tf.constant(c) for c in columns]

        def load(i):
            return decode(*(tf.gather(p, i) for p in paths))

    def examples(start):
        ids = _index_stream(len(pairs), start, seed, shuffle, stream=0)
        return ids.map(lambda i, position: prepare(load(i), _augment_seeds(seed, 0, position)),
                       num_parallel_calls=auto)

    return _epoch_stream(examples, len(pairs), batch_size, epoch, steps_per_epoch, drop_remainder)


def paired_dataset(
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
    """A tf.data.Dataset of (A, B) float32 batches in [-1, 1], shape (batch, crop_size, crop_size, nc).

    Preprocessing follows pix2pix: both images resized to load_size x load_size (bilinear), the same random
    crop_size crop and the same random horizontal flip applied to A and B. For evaluation pass flip=False,
    shuffle=False and load_size == crop_size for a deterministic resize. `cache` is True (in memory) or a file
    path; `validate` is "full" (decode every file once, ~1 ms each), "header" (size and format only) or "none".
    `root` may also be the split folder itself (e.g. ".../facades/train"); `split` is then not used.

    `epoch` (an int) gives the endless, stateless stream of epochs epoch, epoch + 1, ... that exact resume needs:
    epoch e's order, crops and flips depend only on (seed, e), never on how many epochs this process has seen, so
    a run resumed at epoch e gets the same batches as one that trained straight through, and nothing before epoch e
    is read. steps_per_epoch None makes each epoch one pass (len // batch_size batches with drop_remainder);
    an int makes epochs of that many full batches, passes running into each other (as repeat=True does).
    Pass the same steps per epoch to `fit`. `repeat` is not used then; `cache` is True or False.
    """
    _check_args(direction, load_size, crop_size, batch_size, input_nc, output_nc)
    if epoch is not None:
        _check_epoch_args(epoch, steps_per_epoch, cache)
    modes_a, modes_b, pairs = _validate(_find_unchecked(root, split), validate)
    _note_modes(modes_a, modes_b, direction, input_nc, output_nc)
    endless = repeat if epoch is None else steps_per_epoch is not None
    if drop_remainder and not endless and len(pairs) < batch_size:
        raise DataError(
            f"{pairs.folder!r} has {len(pairs)} pair(s), fewer than batch_size={batch_size}, so with "
            "drop_remainder=True there would be no batch at all; lower batch_size or pass drop_remainder=False."
        )
    if epoch is not None:
        return _build_epochs(
            pairs, direction=direction, load_size=load_size, crop_size=crop_size, batch_size=batch_size, flip=flip,
            shuffle=shuffle, cache=bool(cache), seed=seed, input_nc=input_nc, output_nc=output_nc,
            drop_remainder=drop_remainder, epoch=int(epoch), steps_per_epoch=steps_per_epoch,
        )
    return _build(
        pairs, direction=direction, load_size=load_size, crop_size=crop_size, batch_size=batch_size, flip=flip,
        shuffle=shuffle, repeat=repeat, cache=cache, seed=seed, input_nc=input_nc, output_nc=output_nc,
        drop_remainder=drop_remainder,
    )


def paired_arrays(
    root: str,
    split: str = "test",
    direction: str = "AtoB",
    size: int = 256,
    input_nc: int = 3,
    output_nc: int = 3,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The first `limit` pairs (all if None), resized to size x size, as float32 numpy arrays (A, B) in [-1, 1].

    Deterministic (no crop, flip or shuffle) and preprocessed exactly like `paired_dataset`, for fixed
    TensorBoard grids and evaluation.
    """
    _check_args(direction, size, size, 1, input_nc, output_nc)
    modes_a, modes_b, pairs = _validate(_find_unchecked(root, split).take(limit), "full")
    _note_modes(modes_a, modes_b, direction, input_nc, output_nc)
    ds = _build(
        pairs, direction=direction, load_size=size, crop_size=size, batch_size=32, flip=False, shuffle=False,
        repeat=False, cache=False, seed=None, input_nc=input_nc, output_nc=output_nc, drop_remainder=False,
    )
    batches = list(ds.as_numpy_iterator())
    return np.concatenate([a for a, _ in batches]), np.concatenate([b for _, b in batches])
