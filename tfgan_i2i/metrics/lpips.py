"""LPIPS, the learned perceptual distance (Zhang et al., 2018), in Keras, and the papers' diversity protocols.

d(x0, x1) = sum_l mean_{h,w} sum_c w_{l,c} (n0_{l,hwc} - n1_{l,hwc})^2, where n_l are the backbone's layer-l features
divided by their channel-wise L2 norm (+1e-10) and w_l >= 0 the learned linear heads. Backbones: AlexNet (relu1-5)
or VGG16 (relu1_2, 2_2, 3_3, 4_3, 5_3) as in torchvision. Version 0.1 first maps the [-1, 1] input through the
scaling layer (x - shift) / scale; version 0.0 feeds it as is. The heads differ per version: always report which.

Weights are one project .npz file (backbone kernels + heads + net + version) made by `convert_lpips` /
`tfgan-i2i convert-lpips` from the official heads (shipped in the `lpips` PyPI package) and torchvision's ImageNet
backbone .pth. No weights are ever downloaded; `LPIPS(random_weights=True)` exists for structure tests only.
"""
from __future__ import annotations

import io
import os
import zipfile

import numpy as np

CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}
VERSIONS = ("0.0", "0.1")
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
# torchvision `features.N` indices of the convolutions, in order
TORCH_CONV_INDEX = {"alex": (0, 3, 6, 8, 10), "vgg": (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)}
BACKBONE_FILES = {"alex": "alexnet-owt-7be5be79.pth", "vgg": "vgg16-397923af.pth"}
# (filters, kernel, stride, padding) per conv; "M" = max-pool (AlexNet 3x3/2, VGG 2x2/2); "T" = a feature tap
_ARCH = {
    "alex": [(64, 11, 4, 2), "T", "M", (192, 5, 1, 2), "T", "M", (384, 3, 1, 1), "T", (256, 3, 1, 1), "T",
             (256, 3, 1, 1), "T"],
    "vgg": [(64, 3, 1, 1), (64, 3, 1, 1), "T", "M", (128, 3, 1, 1), (128, 3, 1, 1), "T", "M", (256, 3, 1, 1),
            (256, 3, 1, 1), (256, 3, 1, 1), "T", "M", (512, 3, 1, 1), (512, 3, 1, 1), (512, 3, 1, 1), "T", "M",
            (512, 3, 1, 1), (512, 3, 1, 1), (512, 3, 1, 1), "T"],
}


class LPIPSWeightsError(FileNotFoundError):
    """LPIPS weights are missing or do not fit; the message names the file and how to make it."""


def _missing_message(what: str) -> str:
    return (f"{what}. LPIPS needs a converted weights file: run `pip download lpips --no-deps` (its wheel ships the "
            "linear heads) and get torchvision's ImageNet backbone file (alexnet-owt-7be5be79.pth or "
            "vgg16-397923af.pth, from a machine with internet), then `tfgan-i2i convert-lpips --heads lpips-*.whl "
            "--backbone alexnet-owt-7be5be79.pth --net alex --version 0.1 --out lpips_alex_v0.1.npz` and pass "
            "--lpips-weights lpips_alex_v0.1.npz")


def build_backbone(net: str = "alex", name: str | None = None):
    """The AlexNet/VGG16 feature stack as a keras.Model: image (None, None, 3) -> the 5 tapped ReLU outputs."""
    import keras
    from keras import layers

    if net not in _ARCH:
        raise ValueError(f"LPIPS net={net!r} is not one of {', '.join(_ARCH)}")
    x = inputs = keras.Input((None, None, 3), name="image")
    taps, i = [], 0
    for item in _ARCH[net]:
        if item == "T":
            taps.append(x)
        elif item == "M":
            x = layers.MaxPooling2D(3 if net == "alex" else 2, 2, padding="valid")(x)
        else:
            filters, kernel, stride, pad = item
            x = layers.ZeroPadding2D(pad)(x)
            x = layers.Conv2D(filters, kernel, strides=stride, activation="relu", name=f"conv{i}")(x)
            i += 1
    return keras.Model(inputs, taps, name=name or f"lpips_{net}")


def _read_npz(path: str) -> dict:
    if not os.path.isfile(path):
        raise LPIPSWeightsError(_missing_message(f"--lpips-weights {path} does not exist"))
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise LPIPSWeightsError(f"{path} is not an LPIPS weights .npz file ({e}); make one with "
                                "`tfgan-i2i convert-lpips`") from None


class LPIPS:
    """LPIPS distance between image batches in [-1, 1]: `lpips(x0, x1) -> (N,)` (see the module docstring)."""

    def __init__(self, weights: str | None = None, net: str | None = None, version: str | None = None, *,
                 random_weights: bool = False, seed: int = 0):
        import keras

        data = None
        if weights is not None:
            data = _read_npz(weights)
            file_net, file_version = str(data["net"]), str(data["version"])
            for option, asked, found in (("net", net, file_net), ("version", version, file_version)):
                if asked is not None and asked != found:
                    raise LPIPSWeightsError(f"{weights} holds LPIPS {option} {found!r}, not the requested {asked!r}; "
                                            f"convert the heads of {option} {asked!r} or drop the option")
            net, version = file_net, file_version
        elif not random_weights:
            raise LPIPSWeightsError(_missing_message("no LPIPS weights given"))
        net, version = net or "alex", version or "0.1"
        if net not in CHANNELS:
            raise ValueError(f"LPIPS net={net!r} is not one of {', '.join(CHANNELS)}")
        if version not in VERSIONS:
            raise ValueError(f"LPIPS version={version!r} is not one of {', '.join(VERSIONS)}")
        self.net, self.version, self.random_weights = net, version, weights is None
        if random_weights:
            keras.utils.set_random_seed(seed)
        self.backbone = build_backbone(net)
        if data is not None:
            self._load(data, weights)
        else:
            rng = np.random.default_rng(seed)
            self.heads = [rng.uniform(0.0, 2.0 / c, c).astype("float32") for c in CHANNELS[net]]
        self._fn = None

    def _load(self, data: dict, path: str) -> None:
        convs = [l for l in self.backbone.layers if l.name.startswith("conv")]
        for i, layer in enumerate(convs):
            kernel, bias = data.get(f"backbone/conv{i}/kernel"), data.get(f"backbone/conv{i}/bias")
            if kernel is None or kernel.shape != tuple(layer.kernel.shape):
                raise LPIPSWeightsError(f"{path}: backbone/conv{i}/kernel is missing or has shape "
                                        f"{None if kernel is None else kernel.shape}, expected "
                                        f"{tuple(layer.kernel.shape)}; re-run `tfgan-i2i convert-lpips`")
            layer.set_weights([kernel, bias])
        self.heads = []
        for i, c in enumerate(CHANNELS[self.net]):
            head = data.get(f"lin{i}")
            if head is None or head.shape != (c,):
                raise LPIPSWeightsError(f"{path}: linear head lin{i} is missing or not of shape ({c},)")
            self.heads.append(np.clip(head.astype("float32"), 0.0, None))

    @property
    def label(self) -> str:
        """What the numbers are, e.g. 'LPIPS alex v0.1' (or '... RANDOM WEIGHTS')."""
        return f"LPIPS {self.net} v{self.version}" + (" (RANDOM WEIGHTS, not LPIPS)" if self.random_weights else "")

    def _distance(self, x0, x1):
        import tensorflow as tf

        if self.version == "0.1":
            shift, scale = tf.constant(SHIFT), tf.constant(SCALE)
            x0, x1 = (x0 - shift) / scale, (x1 - shift) / scale
        n = tf.shape(x0)[0]
        feats = self.backbone(tf.concat([x0, x1], 0), training=False)
        total = 0.0
        for f, w in zip(feats, self.heads):
            f = f / (tf.sqrt(tf.reduce_sum(tf.square(f), -1, keepdims=True)) + 1e-10)
            diff = tf.square(f[:n] - f[n:])
            total += tf.reduce_mean(tf.reduce_sum(diff * w, -1), axis=[1, 2])
        return total

    def __call__(self, x0, x1, batch_size: int = 32) -> np.ndarray:
        """(N,) LPIPS distances between image batches x0, x1 of shape (N, H, W, 1 or 3) in [-1, 1]."""
        import tensorflow as tf

        x0, x1 = np.asarray(x0, np.float32), np.asarray(x1, np.float32)
        if x0.shape != x1.shape or x0.ndim != 4 or x0.shape[-1] not in (1, 3):
            raise ValueError(f"LPIPS needs two (N, H, W, 1 or 3) batches of one shape, got {x0.shape} and {x1.shape}")
        if x0.shape[-1] == 1:  # gray -> RGB before tracing, so one traced function serves every batch
            x0, x1 = np.repeat(x0, 3, -1), np.repeat(x1, 3, -1)
        if self._fn is None:
            self._fn = tf.function(self._distance, reduce_retracing=True)
        out = [np.asarray(self._fn(x0[i:i + batch_size], x1[i:i + batch_size]))
               for i in range(0, len(x0), batch_size)]
        return np.concatenate(out).astype(np.float64) if out else np.zeros(0)


def pair_indices(protocol: str, k: int, rng=None, n_pairs: int = 50) -> list[tuple[int, int]]:
    """Sample pairs within one input's k samples: 'bicyclegan' = the k-1 consecutive pairs, 'msgan' = n_pairs random."""
    if k < 2:
        raise ValueError(f"diversity needs k >= 2 samples per input, got {k}")
    if protocol == "bicyclegan":
        return [(j, j + 1) for j in range(k - 1)]
    if protocol == "msgan":
        rng = rng if rng is not None else np.random.default_rng(0)
        pairs = []
        while len(pairs) < n_pairs:
            i, j = rng.choice(k, 2, replace=False)
            pairs.append((int(i), int(j)))
        return pairs
    raise ValueError(f"protocol={protocol!r} is not one of bicyclegan, msgan")


# protocol -> (samples per input, inputs, pairs per input)
PROTOCOLS = {"bicyclegan": dict(k=20, inputs=100, pairs=19), "msgan": dict(k=50, inputs=None, pairs=50)}


def lpips_diversity(samples, metric: LPIPS, protocol: str = "bicyclegan", seed: int = 0) -> dict:
    """Mean/std LPIPS between samples of the same input over the protocol's pairs (samples: (N, k, H, W, C))."""
    samples = np.asarray(samples, np.float32)
    rng = np.random.default_rng(seed)
    d = []
    for s in samples:
        pairs = pair_indices(protocol, len(s), rng, PROTOCOLS.get(protocol, {}).get("pairs", 50))
        a, b = zip(*pairs)
        d.append(metric(s[list(a)], s[list(b)]))
    d = np.concatenate(d)
    return {"lpips_diversity": float(d.mean()), "lpips_diversity_std": float(d.std()), "pairs": int(len(d)),
            "metric": metric.label, "protocol": protocol}


# --- conversion from the official files --------------------------------------------------------------------------
def _read_heads(source: str, net: str, version: str) -> dict:
    """The official head state dict from a .pth file, the lpips wheel (.whl) or an lpips package folder."""
    from .torch_files import load_state_dict

    member = f"weights/v{version}/{net}.pth"
    if os.path.isdir(source):
        for candidate in (os.path.join(source, member), os.path.join(source, "lpips", member)):
            if os.path.isfile(candidate):
                return load_state_dict(candidate)
        raise LPIPSWeightsError(f"{source} holds no {member} (nor lpips/{member}); pass the lpips package folder, "
                                "its wheel, or the .pth file itself")
    if not os.path.isfile(source):
        raise LPIPSWeightsError(f"--heads {source} does not exist; `pip download lpips --no-deps` gets the wheel "
                                "that ships the heads")
    if zipfile.is_zipfile(source) and source.endswith(".whl"):
        with zipfile.ZipFile(source) as z:
            names = [n for n in z.namelist() if n.endswith(member)]
            if not names:
                raise LPIPSWeightsError(f"{source} holds no {member}")
            return load_state_dict(io.BytesIO(z.read(names[0])).getvalue())
    return load_state_dict(source)


def convert_lpips(heads: str, backbone: str, out: str, net: str = "alex", version: str = "0.1") -> str:
    """Write the project's LPIPS .npz from the official linear heads and torchvision's backbone .pth (no torch needed).

    heads: an lpips weights .pth (weights/v{version}/{net}.pth), the lpips wheel or the installed lpips folder.
    backbone: torchvision's ImageNet state dict (alexnet-owt-7be5be79.pth / vgg16-397923af.pth).
    """
    from .torch_files import load_state_dict

    if net not in CHANNELS or version not in VERSIONS:
        raise ValueError(f"net must be one of {', '.join(CHANNELS)} and version one of {', '.join(VERSIONS)}")
    if backbone is None or not os.path.isfile(backbone):
        raise LPIPSWeightsError(
            f"backbone file {backbone} does not exist: LPIPS {net} needs torchvision's ImageNet weights "
            f"{BACKBONE_FILES[net]} (not downloadable here); copy it from a machine with internet and pass --backbone")
    head_sd = _read_heads(heads, net, version)
    values = {"net": np.array(net), "version": np.array(version)}
    for i, c in enumerate(CHANNELS[net]):
        key = next((k for k in (f"lin{i}.model.1.weight", f"lin{i}.model.0.weight", f"lin{i}.weight")
                    if k in head_sd), None)
        if key is None or head_sd[key].size != c:
            raise LPIPSWeightsError(f"{heads}: no linear head lin{i} with {c} channels for net {net!r} "
                                    f"(keys: {', '.join(sorted(head_sd))})")
        values[f"lin{i}"] = head_sd[key].reshape(c).astype("float32")
    sd = load_state_dict(backbone)
    for i, idx in enumerate(TORCH_CONV_INDEX[net]):
        w, b = sd.get(f"features.{idx}.weight"), sd.get(f"features.{idx}.bias")
        if w is None or b is None:
            raise LPIPSWeightsError(f"{backbone} has no features.{idx}.weight/bias: is it torchvision's {net} "
                                    f"({BACKBONE_FILES[net]})?")
        values[f"backbone/conv{i}/kernel"] = np.transpose(w, (2, 3, 1, 0)).astype("float32")  # OIHW -> HWIO
        values[f"backbone/conv{i}/bias"] = b.astype("float32")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp.npz"
    np.savez(tmp, **values)
    os.replace(tmp, out)
    LPIPS(out)  # check the file loads
    return out


def save_random_weights(path: str, net: str = "alex", version: str = "0.1", seed: int = 0) -> str:
    """Write a random-weights .npz in the project format (for tests of file loading; NOT LPIPS)."""
    m = LPIPS(net=net, version=version, random_weights=True, seed=seed)
    values = {"net": np.array(net), "version": np.array(version)}
    convs = [l for l in m.backbone.layers if l.name.startswith("conv")]
    for i, layer in enumerate(convs):
        values[f"backbone/conv{i}/kernel"], values[f"backbone/conv{i}/bias"] = layer.get_weights()
    for i, h in enumerate(m.heads):
        values[f"lin{i}"] = h
    np.savez(path, **values)
    return path


__all__ = ["LPIPS", "LPIPSWeightsError", "build_backbone", "convert_lpips", "lpips_diversity", "pair_indices",
           "PROTOCOLS", "save_random_weights"]
