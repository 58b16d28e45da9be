"""The public CycleGAN sets (`cycle_gan/*` in tensorflow-datasets) as unaligned (A, B) batches, failing fast offline.

Sources, tried in this order, so nothing waits on the network when the data is already here:
1. `manual_dir`: a folder holding the extracted set (`<name>/trainA/`, ... or `trainA/` directly) or `<name>.zip`
   as downloaded from the CycleGAN site; read with the package's own unpaired pipeline (no tfds needed);
2. a tfds-prepared copy in `data_dir` (default $TFDS_DATA_DIR or ~/tensorflow_datasets);
3. a download through tfds, only after a 3-second HEAD request to the download URL succeeds, because tfds' own
   retries take minutes to give up without network.
"""
from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
import zipfile

import tensorflow as tf

from .images import DataError
from .unpaired import _prepare_images, unpaired_dataset

CYCLE_GAN_SETS = ("apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo", "cezanne2photo",
                  "ukiyoe2photo", "vangogh2photo", "maps", "facades", "iphone2dslr_flower")
DOWNLOAD_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"
TFDS_VERSION = "3.0.0"


def _default_data_dir() -> str:
    return os.environ.get("TFDS_DATA_DIR") or os.path.join(os.path.expanduser("~"), "tensorflow_datasets")


def _reachable(url: str, timeout: float) -> bool:
    """Whether `url` answers an HTTP HEAD request within `timeout` seconds in all (DNS, connect, TLS, reply).

    A bare TCP connect is not enough: sandboxes and proxies may accept connections to any address.
    """
    result = []

    def probe():
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout) as r:
                result.append(r.status < 500)
        except urllib.error.HTTPError as e:
            result.append(e.code < 500)
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _from_manual_dir(name: str, manual_dir: str) -> str:
    """The folder holding trainA/trainB/testA/testB inside manual_dir, extracting <name>.zip there if needed."""
    manual_dir = os.fspath(manual_dir)
    if not os.path.isdir(manual_dir):
        raise DataError(f"manual_dir {manual_dir!r} does not exist; pass the folder that holds {name}.zip or {name}/.")
    for candidate in (os.path.join(manual_dir, name), manual_dir):
        if os.path.isdir(os.path.join(candidate, "trainA")):
            return candidate
    archive = os.path.join(manual_dir, f"{name}.zip")
    if os.path.isfile(archive):
        try:
            with zipfile.ZipFile(archive) as z:
                z.extractall(manual_dir)
        except zipfile.BadZipFile:
            raise DataError(f"{archive!r} is not a valid zip file (an interrupted download?); download "
                            f"{DOWNLOAD_URL.format(name=name)} again.") from None
        if os.path.isdir(os.path.join(manual_dir, name, "trainA")):
            return os.path.join(manual_dir, name)
    raise DataError(
        f"manual_dir {manual_dir!r} holds neither {name}/trainA/ (the extracted set) nor {name}.zip; download "
        f"{DOWNLOAD_URL.format(name=name)} into it."
    )


def cycle_gan_dataset(name: str = "horse2zebra", split: str = "train", data_dir: str | None = None,
                      manual_dir: str | None = None, load_size: int = 286, crop_size: int = 256, batch_size: int = 1,
                      flip: bool = True, shuffle: bool = True, repeat: bool = False, seed: int | None = None,
                      download: bool = True, probe_timeout: float = 3.0) -> tf.data.Dataset:
    """Unaligned (A, B) float32 batches in [-1, 1] of a public CycleGAN set (see the module doc for the sources).

    `split` is "train" or "test" (tfds splits <split>A and <split>B). Raises DataError within seconds, naming
    manual_dir and the download URL, when the set is not here and the download host cannot be reached.
    """
    if name.startswith("cycle_gan/"):
        name = name.split("/", 1)[1]
    if name not in CYCLE_GAN_SETS:
        raise DataError(f"unknown CycleGAN set {name!r}; choose one of {', '.join(CYCLE_GAN_SETS)}")
    if split not in ("train", "test"):
        raise DataError(f"split={split!r} must be 'train' or 'test'")
    options = dict(load_size=load_size, crop_size=crop_size, batch_size=batch_size, flip=flip, shuffle=shuffle,
                   repeat=repeat, seed=seed)
    if manual_dir is not None:
        return unpaired_dataset(_from_manual_dir(name, manual_dir), split, **options)

    data_dir = os.fspath(data_dir) if data_dir is not None else _default_data_dir()
    prepared = os.path.isfile(os.path.join(data_dir, "cycle_gan", name, TFDS_VERSION, "dataset_info.json"))
    if not prepared:
        url = DOWNLOAD_URL.format(name=name)
        how = (f"Download {url} on a machine with network and pass manual_dir=<folder holding {name}.zip>, or copy "
               f"a tfds-prepared {os.path.join('cycle_gan', name)} into data_dir")
        if not download:
            raise DataError(f"cycle_gan/{name} is not prepared in {data_dir!r} and download=False. {how}.")
        if not _reachable(url, probe_timeout):
            raise DataError(f"cycle_gan/{name} is not prepared in {data_dir!r} and {url} cannot be reached "
                            f"within {probe_timeout:g} s (no network?). {how}.")
    import tensorflow_datasets as tfds

    builder = tfds.builder(f"cycle_gan/{name}", data_dir=data_dir, try_gcs=False)
    if not prepared:
        builder.download_and_prepare()
    domains = []
    for i, side in enumerate("AB"):
        ds = builder.as_dataset(split=f"{split}{side}", shuffle_files=False).map(lambda ex: ex["image"])
        domains.append(_prepare_images(ds, None, seed=None if seed is None else seed + 1000 * (i + 1),
                                       load_size=load_size, crop_size=crop_size, flip=flip, shuffle=shuffle,
                                       channels=3))
    n = max(builder.info.splits[f"{split}A"].num_examples, builder.info.splits[f"{split}B"].num_examples)
    ds = tf.data.Dataset.zip(tuple(domains))
    if not repeat:
        ds = ds.take(n)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


__all__ = ["cycle_gan_dataset", "CYCLE_GAN_SETS"]
