"""Exported models under bad input: every path (saved_model_cli, signatures, Python loader, TFLite, evaluate) says
which input is wrong and the shape it must have, in one line."""
import os
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from tfgan_i2i.export import ExportError, export_savedmodel, load_exported
from tfgan_i2i.models import build_model

SIZE = 32
TINY = dict(image_size=SIZE, load_size=SIZE, ngf=4, ndf=4, nef=4, nz=3)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(REPO, "savedmodels")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny BicycleGAN export (translate, translate_z, sample, encode) with the input checks."""
    model = build_model("bicyclegan", **TINY)
    return export_savedmodel(model, str(tmp_path_factory.mktemp("robust") / "bicyclegan"))


def image(n=1, size=SIZE, channels=3, dtype=np.uint8):
    return np.zeros((n, size, size, channels), dtype)


def test_signatures_name_the_wrong_input_and_its_shape(exported):
    sig = tf.saved_model.load(exported).signatures
    must = r"image must have shape \[batch, 32, 32, 3\] \(got "
    cases = [
        ("translate", dict(image=image(size=64)), must + r"\[1, 64, 64, 3\]\)"),
        ("translate", dict(image=image(channels=1)), must + r"\[1, 32, 32, 1\]\)"),
        ("serving_default", dict(image=image()[0]), must + r"\[32, 32, 3\]\)"),
        ("translate_z", dict(image=image(2), z=np.zeros((2, 5), np.float32)),
         r"z must have shape \[2, 3\] \(got \[2, 5\]\)"),
        ("translate_z", dict(image=image(2), z=np.zeros((1, 3), np.float32)),
         r"z must have shape \[2, 3\] \(got \[1, 3\]\)"),
        ("sample", dict(image=image(), k=np.int32(0), seed=np.int32(1)), r"k must be >= 1 \(got 0\)"),
        ("encode", dict(image=image(channels=4)), must + r"\[1, 32, 32, 4\]\)"),
    ]
    for name, inputs, message in cases:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            sig[name](**{k: tf.constant(v) for k, v in inputs.items()})
    # valid inputs still run, any batch size
    assert sig["translate"](image=tf.constant(image(3)))["image"].shape == (3, SIZE, SIZE, 3)
    assert sig["sample"](image=tf.constant(image(2)), k=tf.constant(2), seed=tf.constant(0))["images"].shape == (
        2, 2, SIZE, SIZE, 3)


def test_saved_model_cli_run_says_which_input_is_wrong(exported, tmp_path):
    cli = shutil.which("saved_model_cli")
    if cli is None:
        pytest.skip("saved_model_cli is not on PATH")
    np.save(tmp_path / "x.npy", image(size=64))
    run = subprocess.run([cli, "run", "--dir", exported, "--tag_set", "serve", "--signature_def", "translate",
                          "--inputs", f"image={tmp_path / 'x.npy'}", "--outdir", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "image must have shape [batch, 32, 32, 3] (got [1, 64, 64, 3])" in run.stderr


def test_loader_raises_one_line_export_error_before_the_graph(exported):
    model = load_exported(exported)
    where = f"of {exported}"

    def fails(call, message):
        with pytest.raises(ExportError) as e:
            call()
        assert str(e.value) == message and "\n" not in str(e.value)

    fails(lambda: model.translate(image(size=64, dtype=np.float32)),
          f"images {where} must have shape [batch, 32, 32, 3] (got [1, 64, 64, 3])")
    fails(lambda: model.translate(image(dtype=np.float32)[0]),
          f"images {where} must have shape [batch, 32, 32, 3] (got [32, 32, 3])")
    fails(lambda: model.translate(image(2, dtype=np.float32), z=np.zeros((2, 8))),
          f"z {where} must have shape [2, 3] (got [2, 8])")
    fails(lambda: model.sample(image(channels=1, dtype=np.float32), k=2),
          f"images {where} must have shape [batch, 32, 32, 3] (got [1, 32, 32, 1])")
    fails(lambda: model.sample(image(dtype=np.float32), k=0), "k (samples per input) must be an integer >= 1 (got 0)")
    fails(lambda: model.encode(image(size=16, dtype=np.float32)),
          f"images {where} must have shape [batch, 32, 32, 3] (got [1, 16, 16, 3])")
    assert model.sample(image(2, dtype=np.float32), k=2).shape == (2, 2, SIZE, SIZE, 3)


@pytest.mark.skipif(not os.path.isdir(os.path.join(SHIPPED, "msgan_facades", "1")), reason="no shipped model")
def test_loader_checks_shipped_exports_from_their_fixed_specs():
    # exported before the checks: fixed input specs, no assertions in the graph; the loader checks for it
    model = load_exported(os.path.join(SHIPPED, "msgan_facades"))
    with pytest.raises(ExportError, match=r"must have shape \[batch, 128, 128, 3\] \(got \[1, 64, 64, 3\]\)"):
        model.translate(image(size=64, dtype=np.float32))
    with pytest.raises(ExportError, match=r"z .* must have shape \[1, 8\] \(got \[1, 2\]\)"):
        model.translate(image(size=128, dtype=np.float32), z=np.zeros((1, 2)))


def test_tflite_wrapper_checks_inputs_against_the_interpreter():
    pytest.importorskip("ai_edge_litert")
    from tfgan_i2i.export import run_tflite

    path = os.path.join(SHIPPED, "msgan_facades", "msgan_facades.tflite-fp16.tflite")
    if not os.path.isfile(path):
        pytest.skip("no shipped .tflite file")
    with pytest.raises(ExportError, match=r"image of .* must have shape \[batch, 128, 128, 3\] and dtype uint8 "
                       r"\(got \[2, 64, 64, 3\] uint8\)"):
        run_tflite(path, image(2, size=64))
    with pytest.raises(ExportError, match=r"dtype uint8 \(got \[1, 128, 128, 3\] float32\)"):
        run_tflite(path, image(size=128, dtype=np.float32))
    with pytest.raises(ExportError, match=r"has no 'sample' signature \(it has: translate\)"):
        run_tflite(path, image(size=128), signature="sample")
    with pytest.raises(ExportError, match=r"takes the inputs image \(given: image, k\)"):
        run_tflite(path, image(size=128), k=np.int32(2))
    assert run_tflite(path, image(size=128)).shape == (1, 128, 128, 3)


def test_audio_export_checks_spectrograms(tmp_path):
    from apps.audio_translation.model import audio_config, export_audio_savedmodel, load_translator
    from tfgan_i2i.audio import SpectrogramConfig

    spec = SpectrogramConfig(frame_length=64, frame_step=16, representation="magnitude")
    config = audio_config(spec, "unit", ngf=4, ndf=4, num_D=1, d_layers=1)
    model = build_model(config)
    path = export_audio_savedmodel(model, str(tmp_path / "audio"))
    channels = config.input_nc
    wrong = np.zeros((1, SIZE, SIZE, channels + 1), np.float32)
    message = (rf"spectrogram must have shape \[batch, 32, 32, {channels}\] "
               rf"\(got \[1, 32, 32, {channels + 1}\]\)")
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        tf.saved_model.load(path).signatures["violin_to_piano"](spectrogram=tf.constant(wrong))
    translator = load_translator(str(tmp_path / "audio"))
    with pytest.raises(ExportError, match=message.replace("spectrogram", "spectrogram of .*")):
        translator.image_fn("piano")(wrong)
    assert translator.image_fn("violin")(wrong[..., :channels]).shape == (1, SIZE, SIZE, channels)


# --- tfgan-i2i evaluate: a missing checkpoint or a missing signature stops with one line, exit 2 ----------------
def _evaluate(capsys, *args):
    from tfgan_i2i.cli import main

    status = main(["evaluate", "--quiet", "--inputs", "2", "--samples", "2", *args])
    err = capsys.readouterr().err
    return status, [line for line in err.splitlines() if line.strip()]


def test_evaluate_missing_checkpoint_is_one_line(tmp_path, capsys):
    status, lines = _evaluate(capsys, "--checkpoint", str(tmp_path / "nothing"))
    assert status == 2 and len(lines) == 1, lines
    assert lines[0].startswith("tfgan-i2i evaluate: error: --checkpoint") and "does not exist" in lines[0]
    (tmp_path / "empty").mkdir()
    status, lines = _evaluate(capsys, "--checkpoint", str(tmp_path / "empty"), "--out", str(tmp_path / "eval"))
    assert status == 2 and len(lines) == 1 and "config.json" in lines[0], lines


def _translate_only_export(folder):
    """A SavedModel with only a `translate` signature (what a model without a latent code exports)."""
    class Identity(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, SIZE, SIZE, 3], tf.uint8, name="image")])
        def translate(self, image):
            return {"image": image}

    module = Identity()
    tf.saved_model.save(module, os.path.join(folder, "1"), signatures={"translate": module.translate})
    return folder


def test_evaluate_export_without_the_needed_signature_is_one_line(tmp_path, capsys):
    export = _translate_only_export(str(tmp_path / "deterministic"))
    status, lines = _evaluate(capsys, "--checkpoint", export, "--metrics", "pixel-diversity",
                              "--out", str(tmp_path / "eval"))
    assert status == 2 and len(lines) == 1, lines
    assert "no `sample` signature" in lines[0] and "pixel-diversity" in lines[0]


def test_evaluate_non_image_export_is_one_line(tmp_path, capsys):
    class Other(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def f(self, x):
            return {"y": x}

    module = Other()
    tf.saved_model.save(module, str(tmp_path / "other" / "1"), signatures={"violin_to_piano": module.f})
    status, lines = _evaluate(capsys, "--checkpoint", str(tmp_path / "other"), "--out", str(tmp_path / "eval"))
    assert status == 2 and len(lines) == 1, lines
    assert "has no `translate` signature (it has: violin_to_piano)" in lines[0]
