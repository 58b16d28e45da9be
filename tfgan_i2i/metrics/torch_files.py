"""Read PyTorch `.pth` state dicts into numpy arrays without importing torch (legacy and zip formats).

Only plain tensors, storages and (Ordered)dicts are accepted: the unpickler refuses every other class, so reading
a file never runs code from it.
"""
from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16, "LongStorage": np.int64,
    "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class TorchFileError(ValueError):
    """A .pth file could not be read as a plain tensor state dict; the message names the file."""


class _StorageType:
    def __init__(self, name):
        if name not in _STORAGE_DTYPES:
            raise TorchFileError(f"unsupported tensor storage type torch.{name}")
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel, self.array = dtype, key, numel, None


class _LazyTensor:
    """A tensor whose storage bytes come later in a legacy file."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def materialise(self) -> np.ndarray:
        data = self.storage.array
        if not self.size:
            return data[self.offset].copy()
        item = data.dtype.itemsize
        return np.lib.stride_tricks.as_strided(data[self.offset:], self.size, [s * item for s in self.stride]).copy()


def _rebuild_tensor(storage, offset, size, stride, *args, **kwargs):
    return _LazyTensor(storage, offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *args):
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        raise TorchFileError(f"refusing to load {module}.{name}: only plain tensor state dicts are supported")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise TorchFileError(f"unsupported persistent id {pid!r}")
        storage_type, key, _location, numel = pid[1:5]
        if key not in self.storages:
            dtype = storage_type.dtype if isinstance(storage_type, _StorageType) else np.dtype(np.float32)
            self.storages[key] = _Storage(dtype, key, numel)
        return self.storages[key]


def _resolve(obj):
    if isinstance(obj, _LazyTensor):
        return obj.materialise()
    if isinstance(obj, dict):
        return {k: _resolve(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_resolve(v) for v in obj)
    return obj


def _load_zip(z: zipfile.ZipFile):
    pkl = [n for n in z.namelist() if n.endswith("data.pkl")]
    if not pkl:
        raise TorchFileError("zip file holds no data.pkl")
    prefix = pkl[0][: -len("data.pkl")]
    storages: dict = {}
    obj = _Unpickler(io.BytesIO(z.read(pkl[0])), storages).load()
    for key, storage in storages.items():
        storage.array = np.frombuffer(z.read(f"{prefix}data/{key}"), dtype=storage.dtype.newbyteorder("<"))
    return _resolve(obj)


def _load_legacy(f):
    if pickle.load(f) != _LEGACY_MAGIC:
        raise TorchFileError("not a PyTorch file (wrong magic number)")
    pickle.load(f)  # protocol version
    sys_info = pickle.load(f)
    if not sys_info.get("little_endian", True):
        raise TorchFileError("big-endian .pth files are not supported")
    storages: dict = {}
    obj = _Unpickler(f, storages).load()
    for key in pickle.load(f):
        storage = storages[key]
        (numel,) = struct.unpack("<q", f.read(8))
        raw = f.read(numel * storage.dtype.itemsize)
        storage.array = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))
    return _resolve(obj)


def load_state_dict(source) -> dict[str, np.ndarray]:
    """{name: numpy array} of a PyTorch .pth state dict (a path, or bytes), read without torch."""
    name = source if isinstance(source, (str, os.PathLike)) else "<bytes>"
    data = open(source, "rb").read() if isinstance(source, (str, os.PathLike)) else bytes(source)
    try:
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                obj = _load_zip(z)
        else:
            obj = _load_legacy(io.BytesIO(data))
    except TorchFileError as e:
        raise TorchFileError(f"{name}: {e}") from None
    except (pickle.UnpicklingError, EOFError, KeyError, struct.error, ValueError) as e:
        raise TorchFileError(f"{name} is not a readable PyTorch state dict ({type(e).__name__}: {e})") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise TorchFileError(f"{name} holds a {type(obj).__name__}, not a state dict")
    return {k: v for k, v in obj.items() if isinstance(v, np.ndarray)}


__all__ = ["load_state_dict", "TorchFileError"]
