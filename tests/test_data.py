"""Tests for tfgan_i2i.data: image file helpers, paired datasets, the bundled sample and the shared facades set."""
import logging
import os
import time

import numpy as np
import pytest
from PIL import Image

from tfgan_i2i.data import (
    DataError,
    find_pairs,
    image_grid,
    list_images,
    paired_arrays,
    paired_dataset,
    read_image,
    sample_dir,
    shared_facades_dir,
    to_uint8,
    write_image,
)
from tfgan_i2i.data import images as images_mod


# ---------------------------------------------------------------- helpers

def _rng_image(rng, h, w, c=3):
    """A random uint8 image with enough structure that crops and flips are distinguishable."""
    return rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)


def _save(path, arr, mode=None):
    """Save a uint8 array with PIL, creating the parent folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    im = Image.fromarray(arr.squeeze(-1) if arr.ndim == 3 and arr.shape[-1] == 1 else arr)
    if mode:
        im = im.convert(mode)
    im.save(path)
    return path


def _f(u8):
    """uint8 -> float in [-1, 1], the library's convention."""
    return u8.astype(np.float32) / 127.5 - 1.0


def _take(ds, n=None):
    """Materialise (A, B) numpy batches from a dataset."""
    it = ds.as_numpy_iterator() if n is None else ds.take(n).as_numpy_iterator()
    return list(it)


def _side_by_side(root, split, lefts, rights, ext=".png"):
    """Write side-by-side A|B files root/split/1..n.ext."""
    for i, (l, r) in enumerate(zip(lefts, rights), start=1):
        _save(os.path.join(root, split, f"{i}{ext}"), np.concatenate([l, r], axis=1))


# ---------------------------------------------------------------- bundled sample

def test_bundled_sample_is_small_real_and_complete():
    root = sample_dir()
    train, test = list_images(os.path.join(root, "train")), list_images(os.path.join(root, "test"))
    assert [os.path.basename(p) for p in train] == [f"{i}.jpg" for i in range(1, 21)]
    assert [os.path.basename(p) for p in test] == [f"{i}.jpg" for i in range(1, 6)]
    total = 0
    for p in train + test:
        with Image.open(p) as im:
            assert im.size == (256, 128) and im.mode == "RGB" and im.format == "JPEG"
        total += os.path.getsize(p)
    assert total < 1_000_000
    # The right half is a label map: few distinct colours compared with the photo on the left.
    arr = np.asarray(Image.open(train[0]))
    assert arr[:, :128].std() > 20
    assert os.path.isfile(os.path.join(os.path.dirname(root), "README.md"))


def test_bundled_dataset_shapes_dtypes_ranges():
    ds = paired_dataset(sample_dir(), "train", load_size=143, crop_size=128, batch_size=4, seed=0)
    assert int(ds.cardinality()) == 5
    for spec in ds.element_spec:
        assert tuple(spec.shape) == (4, 128, 128, 3) and spec.dtype.name == "float32"
    batches = _take(ds)
    assert len(batches) == 5
    for a, b in batches:
        assert a.shape == b.shape == (4, 128, 128, 3)
        assert a.dtype == b.dtype == np.float32
        for x in (a, b):
            assert x.min() >= -1.0 and x.max() <= 1.0
            assert x.max() - x.min() > 1.0  # real content, not a constant image


def test_halves_match_pil_and_btoa_swaps():
    root = sample_dir()
    a, b = paired_arrays(root, "test", size=128)
    assert a.shape == b.shape == (5, 128, 128, 3)
    for i in range(5):
        pil = _f(np.asarray(Image.open(os.path.join(root, "test", f"{i + 1}.jpg"))))
        left, right = pil[:, :128], pil[:, 128:]
        # tf and PIL JPEG decoders differ by a few levels (chroma upsampling), hence the tolerance.
        assert np.abs(a[i] - left).mean() < 0.02 and np.abs(a[i] - left).max() < 0.1
        assert np.abs(b[i] - right).mean() < 0.02 and np.abs(b[i] - right).max() < 0.1
        assert np.abs(a[i] - right).mean() > 0.2  # the halves really are different images
    a2, b2 = paired_arrays(root, "test", direction="BtoA", size=128)
    np.testing.assert_array_equal(a2, b)
    np.testing.assert_array_equal(b2, a)


def test_resize_matches_pil_bilinear():
    root = sample_dir()
    a, b = paired_arrays(root, "test", size=64, limit=2)
    assert a.shape == b.shape == (2, 64, 64, 3)
    for i in range(2):
        with Image.open(os.path.join(root, "test", f"{i + 1}.jpg")) as im:
            halves = [im.crop((x, 0, x + 128, 128)).resize((64, 64), Image.Resampling.BILINEAR) for x in (0, 128)]
        assert np.abs(a[i] - _f(np.asarray(halves[0]))).mean() < 0.03
        assert np.abs(b[i] - _f(np.asarray(halves[1]))).mean() < 0.03


def test_root_may_be_the_split_folder():
    a, b = paired_arrays(os.path.join(sample_dir(), "test"), "test", size=128, limit=3)
    a_ref, b_ref = paired_arrays(sample_dir(), "test", size=128, limit=3)
    np.testing.assert_array_equal(a, a_ref)
    np.testing.assert_array_equal(b, b_ref)


def test_deterministic_eval_and_seeded_training_order():
    kw = dict(load_size=128, crop_size=128, batch_size=5, flip=False, shuffle=False)
    first, second = _take(paired_dataset(sample_dir(), "test", **kw)), _take(paired_dataset(sample_dir(), "test", **kw))
    np.testing.assert_array_equal(first[0][0], second[0][0])
    kw = dict(load_size=150, crop_size=128, batch_size=4, seed=7)
    x, y = _take(paired_dataset(sample_dir(), "train", **kw), 2), _take(paired_dataset(sample_dir(), "train", **kw), 2)
    for (a1, b1), (a2, b2) in zip(x, y):
        np.testing.assert_array_equal(a1, a2)
        np.testing.assert_array_equal(b1, b2)


# ---------------------------------------------------------------- shared crop / flip

def test_same_crop_and_flip_for_a_and_b(tmp_path):
    rng = np.random.default_rng(0)
    lefts = [_rng_image(rng, 40, 40) for _ in range(3)]
    # B = 255 - A: different content, so equality after augmentation proves the SAME crop and flip were applied.
    _side_by_side(str(tmp_path), "train", lefts, [255 - l for l in lefts])
    ds = paired_dataset(str(tmp_path), "train", load_size=40, crop_size=32, batch_size=3, seed=3, repeat=True)
    seen = set()
    for a, b in _take(ds, 6):
        assert a.shape == (3, 32, 32, 3)
        np.testing.assert_allclose(b, -a, atol=1e-5)
        for crop in a:
            # Each crop must be a 32x32 window of some source image, possibly mirrored.
            u8 = to_uint8(crop)
            found = None
            for k, src in enumerate(lefts):
                for flipped, img in ((False, src), (True, src[:, ::-1])):
                    for y in range(9):
                        for x in range(9):
                            if np.array_equal(img[y : y + 32, x : x + 32], u8):
                                found = (k, flipped, y, x)
            assert found is not None
            seen.add(found)
    assert len(seen) > 3  # crops and flips vary
    assert {f[1] for f in seen} == {False, True}


def test_no_crop_when_load_equals_crop(tmp_path):
    rng = np.random.default_rng(1)
    img = _rng_image(rng, 16, 16)
    _side_by_side(str(tmp_path), "train", [img], [img])
    (a, b), = _take(paired_dataset(str(tmp_path), "train", load_size=16, crop_size=16, flip=False))
    np.testing.assert_allclose(a[0], _f(img), atol=1e-6)


# ---------------------------------------------------------------- parallel layout

def test_parallel_layout_pairs_by_stem(tmp_path):
    names = ["1", "2", "10", "x"]
    for k, name in enumerate(names):
        val = 20 * (k + 1)
        _save(str(tmp_path / "train" / "A" / f"{name}.png"), np.full((24, 24, 3), val, np.uint8))
        # B has another extension and a different size on purpose: pairing is by stem, both are resized.
        _save(str(tmp_path / "train" / "B" / f"{name}.bmp"), np.full((30, 30, 3), 255 - val, np.uint8))
    pairs = find_pairs(str(tmp_path), "train")
    assert pairs.layout == "parallel" and len(pairs) == 4
    assert [os.path.basename(p) for p in pairs.a] == ["1.png", "2.png", "10.png", "x.png"]
    assert [os.path.basename(p) for p in pairs.b] == ["1.bmp", "2.bmp", "10.bmp", "x.bmp"]
    ds = paired_dataset(str(tmp_path), "train", load_size=20, crop_size=16, batch_size=4, seed=0)
    (a, b), = _take(ds)
    assert a.shape == b.shape == (4, 16, 16, 3)
    np.testing.assert_allclose(b, -a, atol=1e-5)
    a2, b2 = paired_arrays(str(tmp_path), "train", direction="BtoA", size=8)
    np.testing.assert_allclose(a2, -b2, atol=1e-5)
    assert np.allclose(b2[:, 0, 0, 0], _f(np.array([20, 40, 60, 80], np.uint8)))


def test_parallel_mismatched_stems(tmp_path):
    img = np.zeros((8, 8, 3), np.uint8)
    for n in ["1", "2", "3"]:
        _save(str(tmp_path / "train" / "A" / f"{n}.png"), img)
    for n in ["1", "2", "4"] + [f"extra{i}" for i in range(6)]:
        _save(str(tmp_path / "train" / "B" / f"{n}.png"), img)
    with pytest.raises(DataError) as err:
        paired_dataset(str(tmp_path), "train")
    msg = str(err.value)
    assert str(tmp_path / "train") in msg
    assert "in A but not in B: 3" in msg
    assert "4" in msg and "(+2 more)" in msg


def test_parallel_missing_b_folder(tmp_path):
    _save(str(tmp_path / "train" / "A" / "1.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DataError, match="B"):
        paired_dataset(str(tmp_path), "train")


# ---------------------------------------------------------------- user errors name the file

def test_missing_root(tmp_path):
    missing = str(tmp_path / "nope")
    with pytest.raises(DataError) as err:
        paired_dataset(missing)
    assert missing in str(err.value)


def test_empty_split_folder(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError) as err:
        paired_dataset(str(tmp_path), "train")
    msg = str(err.value)
    assert str(tmp_path / "train") in msg and "side-by-side" in msg and "A" in msg


def test_missing_split_names_expected_layout(tmp_path):
    (tmp_path / "test").mkdir()
    with pytest.raises(DataError) as err:
        paired_dataset(str(tmp_path), "train")
    assert str(tmp_path / "train") in str(err.value) and "side-by-side" in str(err.value)


def test_corrupt_file_named_before_training(tmp_path):
    rng = np.random.default_rng(0)
    _side_by_side(str(tmp_path), "train", [_rng_image(rng, 8, 8)] * 3, [_rng_image(rng, 8, 8)] * 3, ext=".jpg")
    bad = tmp_path / "train" / "2.jpg"
    bad.write_bytes(b"this is not a jpeg at all" * 10)
    with pytest.raises(DataError) as err:
        paired_dataset(str(tmp_path), "train")
    assert str(bad) in str(err.value)


def test_truncated_jpeg_named(tmp_path):
    rng = np.random.default_rng(0)
    _side_by_side(str(tmp_path), "train", [_rng_image(rng, 64, 64)], [_rng_image(rng, 64, 64)], ext=".jpg")
    path = tmp_path / "train" / "1.jpg"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as err:
        paired_dataset(str(tmp_path), "train")
    assert str(path) in str(err.value)


def test_odd_width_named(tmp_path):
    _save(str(tmp_path / "train" / "1.png"), np.zeros((8, 16, 3), np.uint8))
    _save(str(tmp_path / "train" / "2.png"), np.zeros((8, 15, 3), np.uint8))
    with pytest.raises(DataError) as err:
        paired_dataset(str(tmp_path), "train")
    assert str(tmp_path / "train" / "2.png") in str(err.value) and "odd" in str(err.value)


def test_undecodable_format_named(tmp_path):
    path = str(tmp_path / "train" / "1.png")
    os.makedirs(os.path.dirname(path))
    Image.fromarray(np.zeros((8, 16, 3), np.uint8)).save(path, format="TIFF")
    with pytest.raises(DataError) as err:
        paired_dataset(str(tmp_path), "train")
    assert path in str(err.value) and "TIFF" in str(err.value)


def test_batch_larger_than_dataset(tmp_path):
    _side_by_side(str(tmp_path), "train", [np.zeros((8, 8, 3), np.uint8)] * 2, [np.zeros((8, 8, 3), np.uint8)] * 2)
    with pytest.raises(DataError, match="batch_size=4"):
        paired_dataset(str(tmp_path), "train", load_size=8, crop_size=8, batch_size=4)
    ds = paired_dataset(str(tmp_path), "train", load_size=8, crop_size=8, batch_size=4, drop_remainder=False)
    assert [a.shape[0] for a, _ in _take(ds)] == [2]


def test_bad_options():
    with pytest.raises(ValueError, match="direction"):
        paired_dataset(sample_dir(), direction="A2B")
    with pytest.raises(ValueError, match="crop_size"):
        paired_dataset(sample_dir(), load_size=100, crop_size=128)
    with pytest.raises(ValueError, match="channels"):
        paired_dataset(sample_dir(), input_nc=2)


# ---------------------------------------------------------------- channel conversion

def test_grayscale_rgba_palette_inputs_convert(tmp_path):
    rng = np.random.default_rng(0)
    rgb = _rng_image(rng, 8, 16)
    _save(str(tmp_path / "gray" / "train" / "1.png"), rgb, mode="L")
    rgba = np.concatenate([rgb, np.full((8, 16, 1), 7, np.uint8)], axis=-1)
    _save(str(tmp_path / "rgba" / "train" / "1.png"), rgba)
    _save(str(tmp_path / "pal" / "train" / "1.png"), rgb, mode="P")
    kw = dict(load_size=8, crop_size=8, flip=False, shuffle=False)

    (a, b), = _take(paired_dataset(str(tmp_path / "gray"), "train", **kw))
    gray = np.asarray(Image.open(tmp_path / "gray" / "train" / "1.png"))
    assert a.shape == (1, 8, 8, 3)
    np.testing.assert_allclose(a[0], np.repeat(_f(gray[:, :8, None]), 3, -1), atol=1e-6)
    np.testing.assert_allclose(b[0], np.repeat(_f(gray[:, 8:, None]), 3, -1), atol=1e-6)

    (a, b), = _take(paired_dataset(str(tmp_path / "rgba"), "train", **kw))
    np.testing.assert_allclose(a[0], _f(rgb[:, :8]), atol=1e-6)  # alpha dropped, colour untouched

    (a, _), = _take(paired_dataset(str(tmp_path / "pal"), "train", **kw))
    pal_rgb = np.asarray(Image.open(tmp_path / "pal" / "train" / "1.png").convert("RGB"))
    np.testing.assert_allclose(a[0], _f(pal_rgb[:, :8]), atol=1e-6)
    np.testing.assert_allclose(read_image(str(tmp_path / "pal" / "train" / "1.png")), _f(pal_rgb), atol=1e-6)


def test_single_channel_outputs(tmp_path):
    rng = np.random.default_rng(0)
    rgb = _rng_image(rng, 8, 16)
    _save(str(tmp_path / "train" / "1.png"), rgb)
    kw = dict(load_size=8, crop_size=8, flip=False, shuffle=False)
    (a, b), = _take(paired_dataset(str(tmp_path), "train", input_nc=1, **kw))
    assert a.shape == (1, 8, 8, 1) and b.shape == (1, 8, 8, 3)
    luma = rgb[:, :8].astype(np.float32) @ np.array([0.2989, 0.5870, 0.1140], np.float32)
    np.testing.assert_allclose(a[0, ..., 0], luma / 127.5 - 1, atol=1e-3)
    np.testing.assert_allclose(read_image(str(tmp_path / "train" / "1.png"), channels=1)[:, :8, 0], a[0, ..., 0],
                               atol=1.0 / 127.5)
    (a, b), = _take(paired_dataset(str(tmp_path), "train", direction="BtoA", output_nc=1, **kw))
    assert a.shape == (1, 8, 8, 3) and b.shape == (1, 8, 8, 1)


def test_read_image_conversions_and_note_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(images_mod, "_noted_conversions", set())
    rng = np.random.default_rng(0)
    rgb = _rng_image(rng, 6, 5)
    g1 = _save(str(tmp_path / "g1.png"), rgb, mode="L")
    g2 = _save(str(tmp_path / "g2.png"), rgb[::-1], mode="L")
    rgba = _save(str(tmp_path / "a.png"), np.concatenate([rgb, np.zeros((6, 5, 1), np.uint8)], -1))
    with caplog.at_level(logging.WARNING, logger="tfgan_i2i.data"):
        x1, x2 = read_image(g1), read_image(g2)
        y = read_image(rgba)
    assert x1.shape == (6, 5, 3) and x1.dtype == np.float32
    assert np.array_equal(x1[..., 0], x1[..., 2])
    np.testing.assert_array_equal(x2, x1[::-1])  # each file read as itself
    np.testing.assert_allclose(y, _f(rgb), atol=1e-6)
    notes = [r.getMessage() for r in caplog.records]
    assert sum("grayscale" in m for m in notes) == 1  # once per kind, though two files needed it
    assert sum("alpha" in m for m in notes) == 1
    assert read_image(g1, channels=1).shape == (6, 5, 1)


def test_read_image_errors(tmp_path):
    with pytest.raises(DataError, match="nope.png"):
        read_image(str(tmp_path / "nope.png"))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(DataError) as err:
        read_image(str(bad))
    assert str(bad) in str(err.value)


# ---------------------------------------------------------------- file helpers

def test_write_read_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    x = _f(_rng_image(rng, 10, 12))
    path = write_image(str(tmp_path / "deep" / "dir" / "x.png"), x)
    assert os.path.isfile(path)
    np.testing.assert_allclose(read_image(path), x, atol=1e-6)
    jpg = write_image(str(tmp_path / "x.jpg"), np.zeros((10, 12, 1), np.float32))
    with Image.open(jpg) as im:
        assert im.format == "JPEG" and im.mode == "L" and im.size == (12, 10)
    with pytest.raises(ValueError, match="png"):
        write_image(str(tmp_path / "x.gif"), x)


def test_to_uint8_mapping():
    out = to_uint8(np.array([-1.0, 0.0, 1.0, -3.0, 3.0, np.nan], np.float32))
    assert out.dtype == np.uint8
    assert out.tolist() == [0, 128, 255, 0, 255, 128]


def test_image_grid_shapes_and_broadcast():
    rgb = np.ones((4, 5, 3), np.float32)
    gray = -np.ones((4, 5, 1), np.float32)
    grid = image_grid([[gray, rgb, rgb], [rgb, gray, rgb]])
    assert grid.shape == (8, 15, 3) and grid.dtype == np.uint8
    assert (grid[:4, :5] == 0).all() and (grid[:4, 5:] == 255).all()
    assert image_grid([[rgb, rgb]], padding=2).shape == (4, 12, 3)
    batch = np.zeros((3, 4, 5, 3), np.float32)
    assert image_grid([batch, batch]).shape == (8, 15, 3)  # a batch array works as a row
    with pytest.raises(ValueError, match="same size"):
        image_grid([[rgb, np.zeros((3, 5, 3), np.float32)]])


def test_list_images_natural_sort(tmp_path):
    for name in ["10.jpg", "2.jpg", "1.png", "b.bmp", "a.JPEG", "notes.txt", ".hidden.jpg"]:
        (tmp_path / name).write_bytes(b"")
    names = [os.path.basename(p) for p in list_images(str(tmp_path))]
    assert names == ["1.png", "2.jpg", "10.jpg", "a.JPEG", "b.bmp"]


def test_list_images_missing_and_empty(tmp_path):
    with pytest.raises(DataError) as err:
        list_images(str(tmp_path / "missing"))
    assert str(tmp_path / "missing") in str(err.value)
    with pytest.raises(DataError) as err:
        list_images(str(tmp_path))
    assert str(tmp_path) in str(err.value) and ".jpg" in str(err.value)


def test_cache_gives_same_pixels(tmp_path):
    kw = dict(load_size=128, crop_size=128, batch_size=5, flip=False, shuffle=False)
    (a, b), = _take(paired_dataset(sample_dir(), "test", **kw))
    ds = paired_dataset(sample_dir(), "test", cache=True, **kw)
    for _ in range(2):  # second pass reads from the cache
        (ac, bc), = _take(ds)
        np.testing.assert_array_equal(ac, a)
        np.testing.assert_array_equal(bc, b)
    ds = paired_dataset(sample_dir(), "test", load_size=150, crop_size=128, batch_size=5, cache=True, seed=1)
    (e1, _), = _take(ds)
    (e2, _), = _take(ds)
    assert not np.array_equal(e1, e2)  # crops are redrawn per epoch, not cached


# ---------------------------------------------------------------- the full shared facades set

FACADES = shared_facades_dir()


@pytest.mark.skipif(FACADES is None, reason="shared facades not found at <repo>/../shared/data/facades "
                    "(only present in the project's dev/CI checkouts)")
def test_shared_facades_train_pipeline():
    pairs = find_pairs(FACADES, "train", validate="header")
    assert len(pairs) == 400 and pairs.layout == "side_by_side"
    assert os.path.basename(pairs.a[1]) == "2.jpg"
    start = time.perf_counter()
    ds = paired_dataset(FACADES, "train", direction="BtoA", load_size=286, crop_size=256, batch_size=4, seed=0)
    assert time.perf_counter() - start < 20  # the up-front check of 400 files stays cheap
    assert int(ds.cardinality()) == 100
    for a, b in _take(ds, 2):
        assert a.shape == b.shape == (4, 256, 256, 3) and a.dtype == np.float32
        assert -1.0 <= a.min() and a.max() <= 1.0 and -1.0 <= b.min() and b.max() <= 1.0
