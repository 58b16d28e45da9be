"""`tfgan-i2i train --model cyclegan|unit|avb-gtn` and `translate --direction` end to end on the bundled sample."""
import os

import numpy as np
import pytest
from PIL import Image

from tfgan_i2i import cli
from tfgan_i2i.data import sample_dir

TINY = ["--size", "32", "--load-size", "32", "--ngf", "4", "--ndf", "4", "--epochs", "1", "--epochs-decay", "0",
        "--steps-per-epoch", "2", "--num-fixed", "2", "--quiet", "--strategy", "default"]


@pytest.mark.parametrize("model, extra", [
    ("cyclegan", ["--pool-size", "2", "--lambda-cycle", "5"]),
    ("avb-gtn", []),
])
def test_train_then_translate_both_directions(tmp_path, model, extra):
    logdir = str(tmp_path / "run")
    config = tmp_path / "tiny.json"
    # UNIT's 3-scale, 4-layer D does not fit 32 px: a smaller one via a config file (flags override the preset)
    config.write_text('{"model": "%s", "d_layers": 2, "num_D": 2, "n_res": 2, "ntf": 4, "g_blocks": 1}' % model)
    assert cli.main(["train", "--config", str(config), "--data", sample_dir(), "--logdir", logdir,
                     *TINY, *extra]) == 0
    assert os.path.isfile(os.path.join(logdir, "checkpoints", "config.json"))
    grid = np.asarray(Image.open(os.path.join(logdir, "samples", "latest.png")))
    assert grid.shape == (4 * 32, 3 * 32, 3)  # rows A, A->B, A->B->A for 2 A and 2 B images
    source = os.path.join(sample_dir(), "test", "1.jpg")
    for direction in ("AtoB", "BtoA"):
        out = str(tmp_path / direction)
        assert cli.main(["translate", "--checkpoint", logdir, "--input", source, "--paired", "--out", out,
                         "--direction", direction, "--samples", "2"]) == 0
        k = 2 if model == "avb-gtn" else 1
        assert sorted(os.listdir(out)) == sorted([f"1_sample{j}.png" for j in range(k)] + ["1_strip.png",
                                                                                           "1_cycle.png"])
        assert np.asarray(Image.open(os.path.join(out, "1_cycle.png"))).shape == (32, 96, 3)


def test_paired_model_rejects_btoa_direction(tmp_path, capsys):
    logdir = str(tmp_path / "run")
    assert cli.main(["train", "--model", "pix2pix", "--data", sample_dir(), "--logdir", logdir, *TINY]) == 0
    status = cli.main(["translate", "--checkpoint", logdir, "--input", os.path.join(sample_dir(), "test", "1.jpg"),
                       "--out", str(tmp_path / "o"), "--direction", "BtoA"])
    assert status == 2
    assert "--direction BtoA needs an unpaired model" in capsys.readouterr().err
