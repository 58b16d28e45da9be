"""Config: paper presets, JSON/YAML round trips, and one clear error per bad option."""
import json

import pytest

from tfgan_i2i.config import PRESETS, Config, ConfigError, preset


def test_presets_carry_the_papers_defaults():
    b = preset("bicyclegan")
    assert (b.nz, b.lambda_l1, b.lambda_latent, b.lambda_kl, b.gan_mode, b.lr, b.beta1) == (8, 10.0, 0.5, 0.01, "lsgan", 2e-4, 0.5)
    assert (b.where_add, b.norm, b.num_D, b.init_type) == ("all", "instance", 2, "xavier")
    assert (b.e_blocks_resolved, b.d_layers_resolved) == (5, 3)
    assert (preset("bicyclegan", image_size=128, load_size=143).e_blocks_resolved, preset("bicyclegan", image_size=128, load_size=143).d_layers_resolved) == (4, 2)
    p = preset("pix2pix")
    assert (p.nz, p.lambda_l1, p.gan_mode, p.norm, p.conditional_D, p.num_D, p.batch_size) == (0, 100.0, "vanilla", "batch", True, 1, 1)
    m = preset("msgan")
    assert (m.lambda_ms, m.nz, m.where_add, m.lambda_l1, m.conditional_D) == (1.0, 8, "all", 10.0, True)
    assert (m.use_dropout, m.batch_size, m.ms_warmup) == (False, 1, 0)  # MSGAN's own defaults
    assert {preset(n).objective for n in ("cvae-gan", "clr-gan")} == {"cvae", "clr"}
    assert set(PRESETS) >= {"bicyclegan", "cvae-gan", "clr-gan", "pix2pix", "pix2pix-noise", "msgan"}


def test_json_and_yaml_round_trip(tmp_path):
    c = preset("msgan", image_size=64, load_size=72, lambda_ms=0.5)
    c.save(tmp_path / "c.json")
    assert Config.load(str(tmp_path / "c.json")) == c
    (tmp_path / "c.yaml").write_text("model: msgan\nimage_size: 64\nload_size: 72\nlambda_ms: 0.5\n")
    # a partial file fills the rest from the model's preset
    assert Config.load(str(tmp_path / "c.yaml")) == c


def test_a_new_size_keeps_the_presets_resize_margin(tmp_path):
    # pix2pix/BicycleGAN resize to 286 and crop 256: at 128 px that is 143, not a 128 crop of a 286 image
    assert preset("bicyclegan", image_size=128).load_size == 143
    assert preset("pix2pix", image_size=64).load_size == 72
    assert preset("msgan", image_size=128).load_size == 128  # MSGAN: no crop jitter
    assert preset("bicyclegan", image_size=128, load_size=128).load_size == 128  # an explicit value wins
    (tmp_path / "c.yaml").write_text("model: bicyclegan\nimage_size: 64\n")
    assert Config.load(str(tmp_path / "c.yaml")).load_size == 72


@pytest.mark.parametrize("changes, match", [
    ({"image_size": 48}, "image_size=48 must be a power of two"),
    ({"norm": "layer"}, "norm='layer' is not one of instance, batch, none"),
    ({"objective": "vae"}, "objective='vae'"),
    ({"load_size": 16, "image_size": 32}, "load_size=16 must be >= image_size=32"),
    ({"lamda_l1": 3}, "unknown config option\\(s\\) lamda_l1"),
])
def test_bad_options_raise_one_clear_error(changes, match):
    with pytest.raises(ConfigError, match=match):
        Config.from_dict({**Config().to_dict(), **changes})


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        Config.load(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json could not be parsed"):
        Config.load(str(bad))
    lst = tmp_path / "list.json"
    lst.write_text(json.dumps([1, 2]))
    with pytest.raises(ConfigError, match="mapping"):
        Config.load(str(lst))
    with pytest.raises(ConfigError, match="unknown model 'pix3pix'"):
        preset("pix3pix")


@pytest.mark.parametrize("preset_value, expected", [(None, "1"), ("0", "0")])
def test_import_turns_onednn_on_unless_the_user_chose(preset_value, expected):
    # TensorFlow leaves oneDNN off on non-Intel CPUs; the package turns it on before TF loads, a user's choice wins
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if preset_value is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = preset_value
    code = "import os, tfgan_i2i; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == expected
