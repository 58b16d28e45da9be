"""LPIPS: structure with random weights, symmetry, identity, weight files and the version switch, torch parity."""
import os

import numpy as np
import pytest

from tfgan_i2i.metrics import lpips as LP
from tfgan_i2i.metrics.torch_files import load_state_dict


@pytest.fixture(scope="module")
def alex():
    return LP.LPIPS(net="alex", version="0.1", random_weights=True, seed=1)


@pytest.fixture
def images(rng):
    return rng.uniform(-1, 1, (3, 64, 64, 3)).astype("float32"), rng.uniform(-1, 1, (3, 64, 64, 3)).astype("float32")


def test_backbone_taps_and_param_counts():
    for net, params in (("alex", 2_469_696), ("vgg", 14_714_688)):  # torchvision's `features` parameter counts
        model = LP.build_backbone(net)
        assert model.count_params() == params
        assert [t.shape[-1] for t in model.outputs] == list(LP.CHANNELS[net])
    shapes = [tuple(o.shape[1:3]) for o in LP.build_backbone("alex")(np.zeros((1, 64, 64, 3), "float32"))]
    assert shapes == [(15, 15), (7, 7), (3, 3), (3, 3), (3, 3)]


def test_symmetric_zero_on_identical_and_shapes(alex, images):
    x, y = images
    d = alex(x, y)
    assert d.shape == (3,) and np.all(d > 0)
    np.testing.assert_allclose(d, alex(y, x), rtol=1e-5)
    np.testing.assert_allclose(alex(x, x), 0.0, atol=1e-7)
    assert alex(x[:, :, :, :1], y[:, :, :, :1]).shape == (3,)
    assert "RANDOM" in alex.label


def test_no_weights_is_an_error():
    with pytest.raises(LP.LPIPSWeightsError, match="convert-lpips"):
        LP.LPIPS()
    with pytest.raises(LP.LPIPSWeightsError, match="does not exist"):
        LP.LPIPS("/nonexistent/lpips.npz")


def test_weight_file_round_trip_and_version_switch(tmp_path, alex, images):
    x, y = images
    v1 = LP.save_random_weights(str(tmp_path / "w01.npz"), "alex", "0.1", seed=1)
    loaded = LP.LPIPS(v1)
    assert (loaded.net, loaded.version, loaded.random_weights) == ("alex", "0.1", False)
    np.testing.assert_allclose(loaded(x, y), alex(x, y), rtol=1e-5)
    with pytest.raises(LP.LPIPSWeightsError, match="version '0.1'"):
        LP.LPIPS(v1, version="0.0")
    # same numbers in a v0.0 file: only the input scaling layer differs
    data = dict(np.load(v1))
    data["version"] = np.array("0.0")
    v0 = str(tmp_path / "w00.npz")
    np.savez(v0, **data)
    old = LP.LPIPS(v0)
    assert old.version == "0.0" and old.label == "LPIPS alex v0.0"
    assert not np.allclose(old(x, y), loaded(x, y), rtol=1e-3)
    scale, shift = np.array(LP.SCALE, "float32"), np.array(LP.SHIFT, "float32")
    np.testing.assert_allclose(old((x - shift) / scale, (y - shift) / scale), loaded(x, y), rtol=1e-4)


def test_diversity_protocols(alex, rng):
    assert LP.pair_indices("bicyclegan", 20) == [(j, j + 1) for j in range(19)]
    pairs = LP.pair_indices("msgan", 50, np.random.default_rng(0), 50)
    assert len(pairs) == 50 and all(i != j for i, j in pairs)
    samples = rng.uniform(-1, 1, (2, 4, 32, 32, 3)).astype("float32")
    r = LP.lpips_diversity(samples, alex, "bicyclegan")
    assert r["pairs"] == 6 and r["lpips_diversity"] > 0
    same = LP.lpips_diversity(np.repeat(samples[:, :1], 4, axis=1), alex, "msgan")
    assert same["pairs"] == 100 and same["lpips_diversity"] == pytest.approx(0.0, abs=1e-7)


def _torch_alexnet_lpips(torch, sd, heads, x0, x1, version):
    """A direct PyTorch computation of LPIPS (torchvision AlexNet layout), the reference for the parity test."""
    nn = torch.nn

    class Alex(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(),
                nn.MaxPool2d(3, 2), nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1),
                nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))

    net = Alex()
    net.load_state_dict(sd)

    def feats(x):
        x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        if version == "0.1":
            x = (x - torch.tensor(LP.SHIFT).view(1, 3, 1, 1)) / torch.tensor(LP.SCALE).view(1, 3, 1, 1)
        out = []
        for i, layer in enumerate(net.features):
            x = layer(x)
            if i in (1, 4, 7, 9, 11):
                out.append(x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
        return out

    with torch.no_grad():
        total = 0
        for f0, f1, w in zip(feats(x0), feats(x1), heads):
            total = total + ((f0 - f1) ** 2 * w.view(1, -1, 1, 1)).sum(1).mean((1, 2))
    return total.numpy()


@pytest.mark.parametrize("legacy", [False, True])
def test_converted_backbone_matches_pytorch(tmp_path, images, legacy):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    convs = [(64, 3, 11), (192, 64, 5), (384, 192, 3), (256, 384, 3), (256, 256, 3)]
    sd = {}
    for idx, (o, i, k) in zip(LP.TORCH_CONV_INDEX["alex"], convs):
        sd[f"features.{idx}.weight"] = torch.randn(o, i, k, k) * (2.0 / (i * k * k)) ** 0.5
        sd[f"features.{idx}.bias"] = torch.randn(o) * 0.1
    heads = [torch.rand(c) for c in LP.CHANNELS["alex"]]
    kw = {"_use_new_zipfile_serialization": False} if legacy else {}
    torch.save(sd, tmp_path / "alexnet.pth", **kw)
    torch.save({f"lin{i}.model.1.weight": h.view(1, -1, 1, 1) for i, h in enumerate(heads)}, tmp_path / "heads.pth",
               **kw)
    read = load_state_dict(str(tmp_path / "alexnet.pth"))
    for key, value in sd.items():
        np.testing.assert_array_equal(read[key], value.numpy())
    x, y = images
    for version in ("0.0", "0.1"):
        out = LP.convert_lpips(str(tmp_path / "heads.pth"), str(tmp_path / "alexnet.pth"),
                               str(tmp_path / f"lpips_{version}.npz"), "alex", version)
        ours = LP.LPIPS(out)(x, y)
        ref = _torch_alexnet_lpips(torch, sd, heads, x, y, version)
        np.testing.assert_allclose(ours, ref, rtol=1e-4)


def test_convert_needs_backbone(tmp_path):
    with pytest.raises(LP.LPIPSWeightsError, match="alexnet-owt-7be5be79.pth"):
        LP.convert_lpips(str(tmp_path / "heads.pth"), str(tmp_path / "missing.pth"), str(tmp_path / "o.npz"))


REAL = os.environ.get("TFGAN_LPIPS_WEIGHTS")


@pytest.mark.skipif(not REAL or not os.path.isfile(REAL), reason="set TFGAN_LPIPS_WEIGHTS to a converted official file")
def test_real_weights_reference_values(images):
    metric = LP.LPIPS(REAL)
    x, _ = images
    assert metric(x, x).max() < 1e-6
    assert 0.0 < metric(x, np.clip(x + 0.3, -1, 1)).mean() < 1.5
