"""The `tfgan-i2i` command: train on the bundled sample, translate its test folder, help texts and clear errors."""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgan_i2i.cli import build_parser, config_from_args, main
from tfgan_i2i.data import sample_dir

TINY_FLAGS = ["--size", "32", "--ngf", "8", "--ndf", "8", "--nef", "8", "--batch-size", "2",
              "--epochs", "1", "--epochs-decay", "1", "--steps-per-epoch", "2", "--samples", "2", "--num-fixed", "3"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A logdir trained by `tfgan-i2i train` (bicyclegan, tiny) on the bundled sample (no --data)."""
    logdir = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "--logdir", str(logdir), "--quiet", *TINY_FLAGS]) == 0
    return logdir


def image(path):
    return np.asarray(Image.open(path))


def test_train_writes_config_checkpoints_events_and_samples(trained):
    config = json.loads((trained / "config.json").read_text())
    assert (config["model"], config["image_size"], config["load_size"], config["ngf"]) == ("bicyclegan", 32, 36, 8)
    ckpt = trained / "checkpoints"
    assert (ckpt / "config.json").exists() and (ckpt / "checkpoint").exists()
    assert {"ckpt-1.index", "ckpt-2.index"} <= set(os.listdir(ckpt))
    # 3 fixed test inputs x [A | B | 2 samples] per epoch
    for name in ("epoch_0001.png", "epoch_0002.png", "latest.png"):
        assert image(trained / "samples" / name).shape == (3 * 32, 4 * 32, 3)
    tags = set()
    for sub in ("train", "samples"):
        for f in (f for f in os.listdir(trained / sub) if f.startswith("events.out.tfevents")):
            for event in tf.compat.v1.train.summary_iterator(str(trained / sub / f)):
                tags |= {v.tag for v in event.summary.value}
    assert {"epoch_lr", "epoch_G_L1", "epoch_kl", "epoch_z_L1", "samples"} <= tags


def test_train_is_resumable_and_reports_nothing_left(trained, capsys):
    # both epochs are done: re-running the same command resumes, finds nothing to do and exits 0 without training
    assert main(["train", "--logdir", str(trained), "--quiet", *TINY_FLAGS]) == 0
    assert "nothing left to train" in capsys.readouterr().out


def test_translate_paired_folder_writes_samples_strips_and_encoded(trained, tmp_path):
    out = tmp_path / "out"
    test_dir = os.path.join(sample_dir(), "test")
    assert main(["translate", "--checkpoint", str(trained), "--input", test_dir, "--samples", "3",
                 "--out", str(out), "--paired"]) == 0
    names = sorted(os.path.splitext(f)[0] for f in os.listdir(test_dir))
    assert len(names) == 5
    for name in names:
        samples = [image(out / f"{name}_sample{j}.png") for j in range(3)]
        assert all(s.shape == (32, 32, 3) for s in samples)
        assert not (out / f"{name}_sample3.png").exists()
        assert image(out / f"{name}_strip.png").shape == (32, 4 * 32, 3)
        assert image(out / f"{name}_encoded.png").shape == (32, 32, 3)
        # different latent codes give different outputs (bicyclegan is multimodal)
        assert np.abs(samples[0].astype(int) - samples[1].astype(int)).mean() > 0.1
        assert np.abs(samples[1].astype(int) - samples[2].astype(int)).mean() > 0.1


def test_console_script_translates_a_single_image(trained, tmp_path):
    exe = shutil.which("tfgan-i2i")
    assert exe, "the tfgan-i2i console script is not installed (pip install -e .)"
    src = os.path.join(sample_dir(), "test", "1.jpg")
    result = subprocess.run([exe, "translate", "--checkpoint", str(trained / "checkpoints"), "--input", src,
                             "--samples", "2", "--size", "64", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert image(tmp_path / "1_sample1.png").shape == (64, 64, 3)
    assert image(tmp_path / "1_strip.png").shape == (64, 3 * 64, 3)
    assert not (tmp_path / "1_encoded.png").exists()  # nothing to encode without --paired


@pytest.mark.parametrize("command, options", [
    ("train", ["--model", "--data", "--logdir", "--no-resume", "--config", "--size", "--epochs-decay",
               "--steps-per-epoch", "--lambda-l1", "--lambda-kl", "--gan-mode", "--netG", "--where-add", "--nz"]),
    ("translate", ["--checkpoint", "--input", "--samples", "--out", "--seed", "--size", "--paired"]),
])
def test_help_of_each_subcommand(command, options, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert all(option in text for option in options), [o for o in options if o not in text]


def test_top_level_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "train" in text and "translate" in text


def test_translate_missing_checkpoint_dir(tmp_path, capsys):
    missing = tmp_path / "no-such-run"
    assert main(["translate", "--checkpoint", str(missing), "--input", sample_dir(), "--out", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert str(missing) in err and "train" in err


def test_translate_checkpoint_dir_without_config(tmp_path, capsys):
    assert main(["translate", "--checkpoint", str(tmp_path), "--input", sample_dir(), "--out", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "config.json" in err and "train" in err


def test_translate_missing_or_empty_input(trained, tmp_path, capsys):
    missing = tmp_path / "nope.png"
    assert main(["translate", "--checkpoint", str(trained), "--input", str(missing), "--out", str(tmp_path)]) != 0
    assert str(missing) in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["translate", "--checkpoint", str(trained), "--input", str(empty), "--out", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert str(empty) in err and "No images" in err


def test_train_bad_data_dir_and_bad_options(tmp_path, capsys):
    missing = tmp_path / "no-data"
    assert main(["train", "--data", str(missing), "--logdir", str(tmp_path / "run"), *TINY_FLAGS]) != 0
    assert str(missing) in capsys.readouterr().err
    assert main(["train", "--size", "48", "--logdir", str(tmp_path / "run")]) != 0
    assert "image_size=48" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # argparse rejects unknown choices itself
        main(["train", "--model", "no-such-model"])
    assert exit_.value.code == 2


def test_config_file_with_flag_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("model: pix2pix\nngf: 16\nimage_size: 128\nload_size: 143\nlambda_l1: 50\n")
    parser = build_parser()
    config = config_from_args(parser.parse_args(["train", "--config", str(path), "--ngf", "8", "--size", "64"]))
    assert (config.model, config.nz, config.norm) == ("pix2pix", 0, "batch")  # preset values under the file
    assert (config.ngf, config.lambda_l1, config.image_size) == (8, 50.0, 64)  # flag > file > preset
    assert config.load_size == round(143 * 64 / 128)  # --size alone keeps the file's resize margin
    with pytest.raises(Exception, match="conflicts"):
        config_from_args(parser.parse_args(["train", "--config", str(path), "--model", "bicyclegan"]))


def test_translate_without_checkpoint_uses_the_shipped_model(tmp_path):
    # savedmodels/bicyclegan_facades ships with the repository: translate works out of the box on real labels
    from tfgan_i2i.cli import shipped_model_dir

    assert os.path.isfile(os.path.join(shipped_model_dir(), "1", "saved_model.pb")), "the shipped model is missing"
    label = os.path.join(sample_dir(), "test", "1.jpg")
    out = tmp_path / "out"
    assert main(["translate", "--input", label, "--paired", "--samples", "3", "--out", str(out)]) == 0
    samples = [image(out / f"1_sample{j}.png").astype(float) for j in range(3)]
    assert all(s.shape == (128, 128, 3) for s in samples)
    assert np.abs(samples[0] - samples[1]).mean() > 0.5  # the latent code changes the photo
    assert image(out / "1_strip.png").shape == (128, 4 * 128, 3) and (out / "1_encoded.png").is_file()


def test_shipped_msgan_follows_the_labels_and_the_code():
    # savedmodels/msgan_facades: samples must differ by code AND depend on the label map (the failure it was
    # retrained to fix was one image per code whatever the input)
    from tfgan_i2i.cli import shipped_model_dir
    from tfgan_i2i.data import paired_arrays
    from tfgan_i2i.export import load_exported

    model = load_exported(os.path.join(os.path.dirname(shipped_model_dir()), "msgan_facades"))
    A, _ = paired_arrays(sample_dir(), "test", "BtoA", 128)
    s = np.asarray(model.sample(A[:2], k=2, seed=0))  # (input, code, H, W, C) in [-1, 1]
    by_code = np.abs(s[:, 0] - s[:, 1]).mean()
    by_input = np.abs(s[0] - s[1]).mean()
    assert by_code > 0.1 and by_input > 0.1, (by_code, by_input)
