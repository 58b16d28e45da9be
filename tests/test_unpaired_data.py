"""Unpaired data: CycleGAN layout, a paired folder as two unaligned domains, clear errors, the tfds adapter offline."""
import os
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from tfgan_i2i.data import DataError, sample_dir
from tfgan_i2i.data import tfds_adapter
from tfgan_i2i.data.tfds_adapter import cycle_gan_dataset
from tfgan_i2i.data.unpaired import FOLDERS, find_unpaired, unpaired_arrays, unpaired_dataset


def write_domain(folder, n, value, size=(20, 24), mode="RGB"):
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        arr = np.full((*size, 3), value + i, np.uint8)
        Image.fromarray(arr).convert(mode).save(os.path.join(folder, f"{i}.png"))


@pytest.fixture
def cyclegan_dir(tmp_path):
    write_domain(tmp_path / "trainA", 3, 10)
    write_domain(tmp_path / "trainB", 5, 200)
    write_domain(tmp_path / "testA", 2, 10)
    write_domain(tmp_path / "testB", 2, 200)
    return str(tmp_path)


def test_cyclegan_layout_epoch_is_the_larger_domain(cyclegan_dir):
    files = find_unpaired(cyclegan_dir)
    assert files.layout == FOLDERS and (len(files.a), len(files.b)) == (3, 5) and not files.aligned
    ds = unpaired_dataset(cyclegan_dir, load_size=16, crop_size=8, batch_size=1, seed=0)
    batches = list(ds.as_numpy_iterator())
    assert len(batches) == 5
    a, b = batches[0]
    assert a.shape == b.shape == (1, 8, 8, 3) and a.dtype == np.float32
    a_vals = {int(round((x[0][0, 0, 0] + 1) * 127.5)) for x, _ in batches}
    b_vals = {int(round((y[0][0, 0, 0] + 1) * 127.5)) for _, y in batches}
    assert a_vals <= {10, 11, 12} and b_vals == {200, 201, 202, 203, 204}  # domains stay apart; B seen once each
    # BtoA swaps the domains
    a2, b2 = next(unpaired_dataset(cyclegan_dir, direction="BtoA", load_size=8, crop_size=8).as_numpy_iterator())
    assert a2.min() > 0.5 and b2.max() < -0.8


def test_paired_folder_gives_unaligned_domains():
    root = sample_dir()  # 20 A|B side-by-side pairs
    files = find_unpaired(root)
    assert files.aligned and len(files.a) == 20
    A, B = unpaired_arrays(root, "train", size=32)  # the halves of the same files, aligned
    ds = unpaired_dataset(root, load_size=32, crop_size=32, batch_size=1, flip=False, seed=1)
    matches = 0
    for a, b in ds.as_numpy_iterator():
        i = int(np.argmin(np.abs(A - a[0]).mean(axis=(1, 2, 3))))
        j = int(np.argmin(np.abs(B - b[0]).mean(axis=(1, 2, 3))))
        assert np.abs(A[i] - a[0]).max() < 1e-5 and np.abs(B[j] - b[0]).max() < 1e-5  # real halves
        matches += i == j
    assert matches <= 4  # independent shuffles: a true pair only by chance (expected 1 of 20)
    # without shuffling the B side is offset, so pairs are still split up
    unshuffled = list(unpaired_dataset(root, load_size=32, crop_size=32, flip=False, shuffle=False).take(3))
    assert all(np.abs(a.numpy() - A[k]).max() < 1e-5 and np.abs(b.numpy() - B[k]).max() > 1e-3
               for k, (a, b) in enumerate(unshuffled))


def test_clear_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        unpaired_dataset(str(tmp_path / "nope"))
    write_domain(tmp_path / "trainA", 2, 0)
    with pytest.raises(DataError, match="trainB"):
        unpaired_dataset(str(tmp_path))
    os.makedirs(tmp_path / "trainB")
    with pytest.raises(DataError, match="No images"):
        unpaired_dataset(str(tmp_path))
    write_domain(tmp_path / "trainB", 1, 0)
    (tmp_path / "trainB" / "9.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="9.png"):
        unpaired_dataset(str(tmp_path))
    empty = tmp_path / "empty"
    os.makedirs(empty)
    with pytest.raises(DataError, match="trainA"):  # the message names the expected layouts
        unpaired_dataset(str(empty))


def test_tfds_adapter_fails_fast_without_data_or_network(tmp_path, monkeypatch):
    start = time.monotonic()
    with pytest.raises(DataError, match="manual_dir"):
        cycle_gan_dataset("horse2zebra", data_dir=str(tmp_path), download=False)
    # an unroutable download host: the reachability check gives up after probe_timeout, not after tfds' retries
    monkeypatch.setattr(tfds_adapter, "DOWNLOAD_URL", "https://10.255.255.1/{name}.zip")
    with pytest.raises(DataError, match="cannot be reached"):
        cycle_gan_dataset("horse2zebra", data_dir=str(tmp_path), probe_timeout=2.0)
    assert time.monotonic() - start < 10
    with pytest.raises(DataError, match="unknown CycleGAN set"):
        cycle_gan_dataset("horse2cat", data_dir=str(tmp_path))


def test_tfds_adapter_reads_a_local_manual_dir(tmp_path, cyclegan_dir):
    manual = tmp_path / "manual"
    os.makedirs(manual)
    with zipfile.ZipFile(manual / "horse2zebra.zip", "w") as z:
        for sub in ("trainA", "trainB", "testA", "testB"):
            for name in os.listdir(os.path.join(cyclegan_dir, sub)):
                z.write(os.path.join(cyclegan_dir, sub, name), f"horse2zebra/{sub}/{name}")
    ds = cycle_gan_dataset("cycle_gan/horse2zebra", manual_dir=str(manual), load_size=8, crop_size=8, seed=0)
    batches = list(ds.as_numpy_iterator())
    assert len(batches) == 5 and batches[0][0].shape == (1, 8, 8, 3)
    with pytest.raises(DataError, match="maps.zip"):
        cycle_gan_dataset("maps", manual_dir=str(manual))
