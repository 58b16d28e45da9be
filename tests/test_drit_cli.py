"""`tfgan-i2i train --model drit-ms` (the compiled step) and `translate --reference` end to end on the bundled sample."""
import json
import os

import numpy as np
from PIL import Image

from tfgan_i2i import cli
from tfgan_i2i.data import sample_dir

# 64 px (DRIT's smallest), tiny widths, one 2-layer D scale, one step (the API tests in test_drit.py cover the rest)
TINY = ["--size", "64", "--load-size", "64", "--ngf", "4", "--ndf", "4", "--nef", "4", "--epochs", "1",
        "--epochs-decay", "0", "--steps-per-epoch", "1", "--num-fixed", "2", "--samples", "2", "--quiet",
        "--strategy", "default"]


def test_train_then_translate_with_a_reference(tmp_path, capsys):
    logdir = str(tmp_path / "run")
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({"model": "drit-ms", "num_D": 1, "d_layers": 2, "n_res": 1, "d_iter": 1}))
    assert cli.main(["train", "--config", str(config), "--data", sample_dir(), "--logdir", logdir, *TINY]) == 0
    grid = np.asarray(Image.open(os.path.join(logdir, "samples", "latest.png")))
    assert grid.shape == (4 * 64, (1 + 2 + 2) * 64, 3)  # per fixed A and B image: input | 2 samples | ref | transfer
    test = os.path.join(sample_dir(), "test")
    out = tmp_path / "out"  # label -> photo, the style of another facade's photo half
    assert cli.main(["translate", "--checkpoint", logdir, "--input", os.path.join(test, "1.jpg"), "--paired",
                     "--reference", os.path.join(test, "2.jpg"), "--direction", "BtoA", "--samples", "3",
                     "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == sorted([f"1_sample{j}.png" for j in range(3)]
                                             + ["1_strip.png", "1_cycle.png", "1_transfer.png"])
    assert np.asarray(Image.open(out / "1_transfer.png")).shape == (64, 64, 3)
    status = cli.main(["translate", "--checkpoint", logdir, "--input", os.path.join(test, "1.jpg"),
                       "--reference", str(tmp_path / "missing.png"), "--out", str(tmp_path / "x")])
    assert status == 2 and "--reference" in capsys.readouterr().err


def test_reference_needs_a_model_with_attribute_encoders(tmp_path, capsys):
    test = os.path.join(sample_dir(), "test")
    status = cli.main(["translate", "--input", os.path.join(test, "1.jpg"), "--reference", os.path.join(test, "2.jpg"),
                       "--out", str(tmp_path / "o")])  # the shipped BicycleGAN export
    assert status == 2 and "--reference needs a model with attribute encoders" in capsys.readouterr().err
