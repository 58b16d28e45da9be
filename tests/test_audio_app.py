"""The violin <-> piano app (`tfgan-i2i-audio`): train a tiny model on real renderings, resume, translate real
wav and mp3 files end to end, export a float32 SavedModel and translate from it, and clear errors."""
import glob
import math
import os

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf
from tensorflow.core.util import event_pb2

from apps.audio_translation import cli
from apps.audio_translation.callbacks import loudest_clip
from apps.audio_translation.model import AudioModelError, audio_config, discriminator_depth, load_translator
from tfgan_i2i.audio import SpectrogramConfig, read_audio
from tfgan_i2i.config import Config
from tfgan_i2i.training.callbacks import read_checkpoint_epoch
from shared_data import MIDI, VSCO2, needs_midi, needs_vsco2


# 64-sample frames -> 32 bins -> 32x32 images (29 ms chunks); 8-channel nets with one residual block; eager steps
# (compiling AVB-GTN's train step takes most of a minute on a busy CPU, two eager steps a few seconds)
TINY = ["--frame-length", "64", "--frame-step", "16", "--ngf", "8", "--ndf", "8", "--ntf", "8", "--n-res", "1",
        "--steps-per-epoch", "2", "--monitor-seconds", "0.5", "--quiet", "--run-eagerly"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny AVB-GTN ("if" images) trained for one epoch of 2 steps on the rendered pairs: its logdir."""
    if not os.path.isdir(MIDI):
        pytest.skip(f"rendered violin/piano pairs not found at {MIDI}")
    logdir = str(tmp_path_factory.mktemp("audio_app") / "run")
    status = cli.main(["train", "--violin", os.path.join(MIDI, "violin"), "--piano", os.path.join(MIDI, "piano"),
                       "--representation", "if", "--epochs", "1", "--logdir", logdir, *TINY])
    assert status == 0
    return logdir


def _summaries(folder):
    """{tag: [(step, plugin, tensor)]} of every summary in the event files under `folder`."""
    found = {}
    for path in glob.glob(os.path.join(folder, "events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(path):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                found.setdefault(value.tag, []).append(
                    (event.step, value.metadata.plugin_data.plugin_name, tf.make_ndarray(value.tensor)))
    return found


def _translate(tmp_path, source, to, checkpoint, name):
    """Run `translate` and return the written wave (and its sample rate)."""
    out = str(tmp_path / name)
    assert cli.main(["translate", source, "--to", to, "--checkpoint", checkpoint, "--out", out, "--batch-size", "64",
                     "--quiet"]) == 0
    wave, rate = sf.read(out, dtype="float32")
    return wave, rate


# ---------------------------------------------------------------- no data needed

@pytest.mark.parametrize("command", [[], ["train"], ["translate"], ["export"]])
def test_help_for_every_subcommand(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: tfgan-i2i-audio {' '.join(command)}".strip() in capsys.readouterr().out


def test_audio_config_is_self_describing_and_square():
    spec = SpectrogramConfig(frame_length=256, frame_step=64, representation="phase")
    config = audio_config(spec)
    assert (config.model, config.latent_regularizer) == ("avb-gtn", "avb")
    assert (config.image_size, config.input_nc, config.output_nc, config.ngf, config.ndf) == (128, 2, 2, 32, 32)
    assert config.extra["audio"]["chunk_frames"] == 128 and config.extra["audio"]["representation"] == "phase"
    # the settings survive the JSON round trip every checkpoint and export goes through
    assert Config.from_dict(config.to_dict()).extra == config.extra
    magnitude = audio_config(SpectrogramConfig(frame_length=64, frame_step=16, representation="magnitude"), "unit")
    assert (magnitude.image_size, magnitude.input_nc, magnitude.latent_regularizer) == (32, 1, "kl")
    with pytest.raises(AudioModelError, match="power of two >= 32"):
        audio_config(SpectrogramConfig(frame_length=96, frame_step=32))


@pytest.mark.parametrize("size", [32, 64, 128, 256, 512])
def test_discriminator_fits_the_image(size):
    num_d, layers = discriminator_depth(size)
    assert (size >> (num_d - 1)) >= 2 ** layers  # every layer of the smallest scale sees >= 2 pixels
    if size >= 64:
        assert (num_d, layers) == (3, 4)  # the UNIT preset's D wherever it fits


def test_loudest_clip_skips_leading_silence():
    wave = np.zeros(16000, np.float32)
    wave[9000:11000] = 0.5
    clip = loudest_clip(wave, 2000)
    assert clip.shape == (2000,) and np.mean(clip != 0) > 0.85
    assert loudest_clip(wave[:100], 2000).shape == (100,)  # shorter than the clip: all of it


# ---------------------------------------------------------------- real files

@needs_midi
def test_train_writes_checkpoint_config_and_audio_summaries(trained):
    assert os.path.isfile(os.path.join(trained, "checkpoints", "ckpt-1.index"))
    config = Config.load(os.path.join(trained, "checkpoints", "config.json"))
    audio = config.extra["audio"]
    assert (audio["representation"], audio["frame_length"], audio["chunk_frames"]) == ("if", 64, 32)
    assert (config.model, config.image_size, config.input_nc, config.output_nc) == ("avb-gtn", 32, 2, 2)
    summaries = _summaries(os.path.join(trained, "audio"))
    for tag in ("violin_to_piano", "piano_to_violin"):
        for kind in ("input", "translated", "reconstructed"):
            (step, plugin, tensor), = summaries[f"{tag}/{kind}"]
            assert (step, plugin) == (0, "audio")
            audio_data, rate = tf.audio.decode_wav(tensor[0, 0])
            assert int(rate) == 16000 and audio_data.shape == (8000, 1)  # the 0.5 s held-out clip
        (_, plugin, image), = summaries[f"{tag}/spectrograms"]
        assert plugin == "images" and int(image[1]) == 32  # height = 32 frequency bins
    # the loss curves go to Keras' own TensorBoard folder
    assert glob.glob(os.path.join(trained, "train", "events.out.tfevents.*"))


@needs_midi
def test_resume_continues_at_the_next_epoch(trained, capsys):
    args = ["train", "--data", MIDI, "--logdir", trained, *TINY]
    assert cli.main([*args, "--epochs", "2"]) == 0
    assert "resuming from epoch 1 of 2" in capsys.readouterr().out
    assert read_checkpoint_epoch(os.path.join(trained, "checkpoints")) == 2
    # raw phase makes images of the same shape as IF, but it is another signal: refused, not silently resumed
    assert cli.main([*args, "--epochs", "3", "--representation", "phase"]) == 2
    err = capsys.readouterr().err
    assert "other spectrogram settings" in err and "representation" in err and len(err.strip().splitlines()) == 1
    assert read_checkpoint_epoch(os.path.join(trained, "checkpoints")) == 2


@needs_midi
def test_translate_real_wav_end_to_end(trained, tmp_path):
    source = os.path.join(MIDI, "violin", "twinkle.wav")
    wave, rate = _translate(tmp_path, source, "piano", trained, "twinkle_piano.wav")
    assert rate == 16000 and wave.shape == read_audio(source).shape  # the stereo input mixed to mono, same length
    assert np.all(np.isfinite(wave)) and np.sqrt(np.mean(wave ** 2)) > 1e-3


@needs_vsco2
def test_translate_mp3(trained, tmp_path):
    source = os.path.join(VSCO2, "piano", "C7.mp3")  # 44.1 kHz stereo mp3
    wave, rate = _translate(tmp_path, source, "violin", trained, "c7_violin.wav")
    assert rate == 16000 and wave.shape == (math.ceil(sf.info(source).frames * 160 / 441),)
    assert np.all(np.isfinite(wave)) and np.sqrt(np.mean(wave ** 2)) > 1e-3


@needs_midi
def test_export_then_translate_from_the_savedmodel_alone(trained, tmp_path):
    export = str(tmp_path / "savedmodels" / "tiny")
    assert cli.main(["export", "--checkpoint", trained, "--out", export]) == 0
    assert os.path.isfile(os.path.join(export, "1", "saved_model.pb"))
    assert Config.load(os.path.join(export, "config.json")).extra["audio"]["representation"] == "if"
    loaded = tf.saved_model.load(os.path.join(export, "1"))
    for name in ("violin_to_piano", "piano_to_violin", "serving_default"):
        spec, = loaded.signatures[name].structured_input_signature[1].values()
        assert spec.dtype == tf.float32 and spec.shape.as_list() == [None, 32, 32, 2]
    assert load_translator(export).sample_rate == 16000

    source = os.path.join(MIDI, "piano", "long_tones.wav")
    from_checkpoint, _ = _translate(tmp_path, source, "violin", trained, "ckpt.wav")
    from_export, rate = _translate(tmp_path, source, "violin", export, "export.wav")
    assert rate == 16000 and from_export.shape == from_checkpoint.shape
    assert np.abs(from_export - from_checkpoint).max() <= 2 / 32768  # at most a 16-bit rounding step apart


@needs_midi
def test_clear_errors(trained, tmp_path, capsys, monkeypatch):
    def run(*args):
        status = cli.main(list(args))
        err = capsys.readouterr().err.strip()
        assert status == 2 and len(err.splitlines()) == 1, err
        return err

    bad = tmp_path / "notes.wav"
    bad.write_text("this is not audio")
    assert "notes.wav" in run("translate", str(bad), "--to", "piano", "--checkpoint", trained,
                              "--out", str(tmp_path / "o.wav"))
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    assert "empty.mp3" in run("translate", str(empty), "--to", "piano", "--checkpoint", trained,
                              "--out", str(tmp_path / "o.wav"))
    source = os.path.join(MIDI, "violin", "twinkle.wav")
    assert "--to piano or --to violin" in run("translate", source, "--to", "guitar", "--checkpoint", trained)
    missing = str(tmp_path / "no_such_run")
    assert missing in run("translate", source, "--to", "piano", "--checkpoint", missing)
    monkeypatch.setattr(cli, "default_model_dir", lambda: missing)
    assert "no --checkpoint given" in run("translate", source, "--to", "piano")
    assert not os.path.exists(tmp_path / "o.wav")


def test_translate_without_checkpoint_uses_the_shipped_model(tmp_path):
    # savedmodels/violin_piano_pix2pix ships with the repository: translate works with no --checkpoint, on any file
    from tfgan_i2i.audio import write_audio

    t = np.arange(int(1.3 * 22050)) / 22050
    source = write_audio(str(tmp_path / "a440.wav"), 0.3 * np.sin(2 * math.pi * 440 * t), 22050)  # another rate
    out = str(tmp_path / "out.wav")
    assert cli.main(["translate", source, "--to", "piano", "--out", out, "--quiet"]) == 0
    wave, rate = sf.read(out, dtype="float32")
    assert rate == 16000 and abs(len(wave) - round(1.3 * 16000)) <= 1  # the input's length at the model's rate
    assert np.isfinite(wave).all() and np.abs(wave).max() > 1e-3


def test_epochs_decay_flag_turns_on_linear_decay():
    """The audio presets keep UNIT's constant lr; --epochs-decay N asks for N epochs of linear decay."""
    parser = cli.build_parser()
    assert cli.config_from_args(parser.parse_args(["train", "--violin", "v", "--piano", "p"])).lr_policy == "constant"
    decayed = cli.config_from_args(parser.parse_args(["train", "--violin", "v", "--piano", "p", "--epochs-decay", "5"]))
    assert (decayed.lr_policy, decayed.epochs_decay) == ("linear", 5)
