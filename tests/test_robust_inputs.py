"""Issue #14, robust under bad input: awkward image and audio files are converted correctly or refused in one line.

Every file is made in the test: 16-bit, CMYK, transparent-palette, EXIF-rotated and oversized images; 8-bit,
24-bit and float WAVs, many channels, NaN samples and digital silence; plus the audio CLI's one-line errors.
"""
import logging
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from tfgan_i2i.data import DataError, find_pairs, paired_arrays, read_image
from tfgan_i2i.data import images as images_mod
from tfgan_i2i.data.unpaired import unpaired_arrays

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _f(u8):
    """uint8 -> float in [-1, 1], the library's convention."""
    return np.asarray(u8).astype(np.float32) / 127.5 - 1.0


def _blocks(h, w):
    """A uint8 RGB image of flat 8x8 blocks in distinct colours, so JPEG keeps it nearly exact and turns show."""
    ys, xs = np.mgrid[0:h, 0:w] // 8
    return np.stack([40 + 50 * ys, 40 + 50 * xs, 200 - 30 * (ys + xs)], -1).clip(0, 255).astype(np.uint8)


@pytest.fixture(autouse=True)
def _fresh_notes(monkeypatch):
    """Conversion notes are logged once per process; start each test with none noted."""
    monkeypatch.setattr(images_mod, "_noted_conversions", set())


# ---------------------------------------------------------------- images

def test_16_bit_png_keeps_the_high_byte_in_both_readers(tmp_path):
    values = np.array([0, 255, 256, 257 * 100, 40000, 65535, 1000, 513], np.uint16)
    gray16 = np.tile(values, (4, 1))  # 4 x 8: a side-by-side pair of two 4 x 4 halves
    os.makedirs(tmp_path / "train")
    path = str(tmp_path / "train" / "1.png")
    Image.fromarray(gray16).save(path)  # PIL writes uint16 arrays as a 16-bit grayscale PNG
    assert Image.open(path).mode == "I;16"
    expected = _f(gray16 >> 8)  # 65535 -> 255, 25700 -> 100: not clipped at 255, not wrapped
    np.testing.assert_allclose(read_image(path, channels=1)[..., 0], expected, atol=1e-6)
    a, b = paired_arrays(str(tmp_path), "train", size=4, input_nc=1, output_nc=1)
    np.testing.assert_allclose(a[0, ..., 0], expected[:, :4], atol=1e-6)  # tf.io.decode_image agrees
    np.testing.assert_allclose(b[0, ..., 0], expected[:, 4:], atol=1e-6)


def test_cmyk_jpeg_converts_to_rgb_in_both_readers(tmp_path, caplog):
    rgb = _blocks(16, 32)
    os.makedirs(tmp_path / "train")
    path = str(tmp_path / "train" / "1.jpg")
    Image.fromarray(rgb).convert("CMYK").save(path, quality=100, subsampling=0)
    assert Image.open(path).mode == "CMYK"
    with caplog.at_level(logging.WARNING, logger="tfgan_i2i.data"):
        image = read_image(path)
    np.testing.assert_allclose(image, _f(rgb), atol=6 / 127.5)
    assert any("CMYK" in r.getMessage() for r in caplog.records)
    assert find_pairs(str(tmp_path), "train").pil_decoded == {path}  # tf.io.decode_image would shift the colours
    a, b = paired_arrays(str(tmp_path), "train", size=16)
    np.testing.assert_allclose(np.concatenate([a[0], b[0]], 1), image, atol=1e-6)


def test_palette_png_with_transparency_drops_alpha_without_warnings(tmp_path):
    rgb = _blocks(16, 32)
    pal = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    os.makedirs(tmp_path / "train")
    path = str(tmp_path / "train" / "1.png")
    pal.save(path, transparency=0)  # palette entry 0 is transparent
    colours = np.asarray(pal.convert("RGB"))
    assert Image.open(path).info.get("transparency") == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. PIL's "Palette images with Transparency ..." warning
        image = read_image(path)
    np.testing.assert_allclose(image, _f(colours), atol=1e-6)  # transparent pixels keep their palette colour
    a, b = paired_arrays(str(tmp_path), "train", size=16)
    np.testing.assert_allclose(np.concatenate([a[0], b[0]], 1), image, atol=1e-6)


def test_exif_rotated_jpeg_is_turned_upright_in_every_reader(tmp_path, caplog):
    upright = _blocks(16, 32)  # an A|B pair as the camera saw it
    stored = np.rot90(upright, k=1)  # 32 x 16 on disk; Orientation 6 says "turn 90 degrees clockwise to view"
    exif = Image.Exif()
    exif[0x0112] = 6
    os.makedirs(tmp_path / "train")
    path = str(tmp_path / "train" / "1.jpg")
    Image.fromarray(np.ascontiguousarray(stored)).save(path, quality=100, subsampling=0, exif=exif)
    with caplog.at_level(logging.WARNING, logger="tfgan_i2i.data"):
        image = read_image(path)
    assert image.shape == (16, 32, 3)
    np.testing.assert_allclose(image, _f(upright), atol=6 / 127.5)
    assert any("EXIF" in r.getMessage() for r in caplog.records)
    # the tf.data pipelines (paired and unpaired) decode it with PIL too, so they see the same upright pixels
    a, b = paired_arrays(str(tmp_path), "train", size=16)
    np.testing.assert_allclose(np.concatenate([a[0], b[0]], 1), image, atol=1e-6)
    ua, ub = unpaired_arrays(str(tmp_path), "train", size=16)
    np.testing.assert_allclose(ua, a, atol=1e-6)
    np.testing.assert_allclose(ub, b, atol=1e-6)


def test_oversized_image_is_refused_with_its_size_and_the_limit(tmp_path, monkeypatch):
    os.makedirs(tmp_path / "train")
    path = str(tmp_path / "train" / "big.png")
    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(path)
    monkeypatch.setattr(images_mod, "MAX_IMAGE_PIXELS", 500)
    with pytest.raises(DataError, match=r"big\.png.*40 x 20 = 800 pixels.*MAX_IMAGE_PIXELS = 500"):
        read_image(path)
    with pytest.raises(DataError, match=r"big\.png.*800 pixels"):  # the training pipeline refuses it up front
        find_pairs(str(tmp_path), "train", validate="header")
    # above PIL's own limits: no DecompressionBombWarning, and its DecompressionBombError becomes a DataError
    monkeypatch.setattr(images_mod, "MAX_IMAGE_PIXELS", 10_000)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 600)  # PIL warns above 600 pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_image(path).shape == (20, 40, 3)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)  # PIL refuses above 2 x 300 pixels
    with pytest.raises(DataError, match=r"big\.png.*too large.*MAX_IMAGE_PIXELS"):
        read_image(path)


# ---------------------------------------------------------------- audio

RATE = 16000


def _tone(n=RATE // 2, amplitude=0.5):
    """A 440 Hz sine of n samples at RATE."""
    return (amplitude * np.sin(2 * np.pi * 440 * np.arange(n) / RATE)).astype(np.float32)


def _wav(path, frames, subtype="PCM_16"):
    """Write (n,) or (n, channels) frames to a WAV file with soundfile; returns the path as a string."""
    sf.write(str(path), frames, RATE, subtype=subtype, format="WAV")
    return str(path)


@pytest.mark.parametrize("subtype, tolerance", [("PCM_U8", 1 / 128), ("PCM_24", 1e-6), ("FLOAT", 0.0)])
def test_8_bit_24_bit_and_float_wavs_read_at_full_scale(tmp_path, subtype, tolerance):
    from tfgan_i2i.data.audio import read_mono

    wave, notes = read_mono(_wav(tmp_path / f"{subtype}.wav", _tone(), subtype), RATE)
    assert sf.info(str(tmp_path / f"{subtype}.wav")).subtype == subtype
    np.testing.assert_allclose(wave, _tone(), atol=tolerance + 1e-7)  # unsigned 8-bit is centred, not offset
    assert notes == {}


def test_float_wav_beyond_full_scale_is_scaled_down_with_a_note(tmp_path):
    from tfgan_i2i.data.audio import read_mono

    path = _wav(tmp_path / "hot.wav", _tone(amplitude=3.0), "FLOAT")
    wave, notes = read_mono(path, RATE)
    assert abs(np.abs(wave).max() - 1.0) < 1e-6
    np.testing.assert_allclose(wave, _tone(amplitude=3.0) / np.abs(_tone(amplitude=3.0)).max(), atol=1e-6)
    assert "hot.wav" in notes["scaled"] and "peak 3" in notes["scaled"]


def test_more_than_two_channels_mix_down_with_one_note(tmp_path, caplog):
    from tfgan_i2i.data.audio import load_waves, read_mono

    six = np.stack([_tone(amplitude=0.1 * (c + 1)) for c in range(6)], 1)  # 5.1 surround layout
    paths = [_wav(tmp_path / f"surround{i}.wav", six) for i in range(2)]
    wave, notes = read_mono(paths[0], RATE)
    np.testing.assert_allclose(wave, six.mean(1), atol=2 / 32768)
    assert "surround0.wav" in notes["mixed"] and "6 channels" in notes["mixed"]
    with caplog.at_level(logging.WARNING, logger="tfgan_i2i.data"):
        assert len(load_waves(paths, RATE)) == 2
    lines = [r.getMessage() for r in caplog.records if "mixed down" in r.getMessage()]
    assert len(lines) == 1 and "1 more file" in lines[0]  # one line however many files needed it


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_samples_are_refused_by_name(tmp_path, bad):
    from tfgan_i2i.audio import AudioError
    from tfgan_i2i.data.audio import load_waves

    frames = _tone()
    frames[100] = bad
    path = _wav(tmp_path / "broken.wav", frames, "FLOAT")
    with pytest.raises(AudioError, match=r"broken\.wav.*NaN or infinite"):
        load_waves([path], RATE)


def test_silent_files_are_skipped_in_training(tmp_path, caplog):
    from tfgan_i2i.audio import AudioError
    from tfgan_i2i.data.audio import load_waves

    silent = _wav(tmp_path / "silent.wav", np.zeros(RATE // 2, np.float32))
    tone = _wav(tmp_path / "tone.wav", _tone())
    with caplog.at_level(logging.WARNING, logger="tfgan_i2i.data"):
        waves = load_waves([silent, tone], RATE)
    assert len(waves) == 1 and np.abs(waves[0]).max() > 0.4
    assert any("silent" in r.getMessage() and "silent.wav" in r.getMessage() for r in caplog.records)
    with pytest.raises(AudioError, match=r"digital silence.*silent\.wav"):
        load_waves([silent], RATE)


# ---------------------------------------------------------------- the audio CLI

def _cli(capsys, *args):
    """Run `tfgan-i2i-audio` in-process: (exit status, stdout, stderr)."""
    from apps.audio_translation import cli

    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err.strip()


def test_translate_passes_silence_through_with_notes_and_no_model(tmp_path, capsys, monkeypatch):
    from apps.audio_translation import cli

    if not os.path.isdir(cli.default_model_dir()):
        pytest.skip(f"the shipped {cli.default_model_dir()} is missing")
    monkeypatch.setattr("apps.audio_translation.model.load_translator",
                        lambda path: pytest.fail("the model must not be loaded for a silent input"))
    source = _wav(tmp_path / "quiet3.wav", np.zeros((RATE // 2, 3), np.float32))  # 3 channels, all zero
    out = str(tmp_path / "out.flac")
    status, stdout, err = _cli(capsys, "translate", source, "--to", "piano", "--out", out, "--quiet")
    assert status == 0, err
    assert "3 channels" in err and "digital silence" in err and len(err.splitlines()) == 2
    wave, rate = sf.read(out, dtype="float32")
    assert rate == RATE and len(wave) == RATE // 2 and not np.any(wave)


def test_translate_errors_are_one_line(tmp_path, capsys):
    nan = _tone()
    nan[7] = np.nan
    broken = _wav(tmp_path / "nan.wav", nan, "FLOAT")
    status, _, err = _cli(capsys, "translate", broken, "--to", "violin", "--out", str(tmp_path / "o.wav"))
    assert status == 2 and len(err.splitlines()) == 1 and "nan.wav" in err and "NaN" in err
    # an unsupported --out is refused first: before the (missing) input or checkpoint is looked at
    status, _, err = _cli(capsys, "translate", str(tmp_path / "missing.wav"), "--to", "piano",
                          "--checkpoint", str(tmp_path / "no_model"), "--out", str(tmp_path / "o.mp3"))
    assert status == 2 and len(err.splitlines()) == 1, err
    assert ".mp3" in err and ".wav or .flac" in err and "missing.wav" not in err
    assert not os.path.exists(tmp_path / "o.wav") and not os.path.exists(tmp_path / "o.mp3")


def test_audio_cli_hides_tensorflow_banners(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # conftest sets it for pytest

    def run(*args):
        done = subprocess.run([sys.executable, "-m", "apps.audio_translation", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300)
        for line in done.stderr.splitlines():  # (the --help text itself mentions oneDNN, on stdout)
            assert "oneDNN" not in line and not line.startswith(("I0000", "W0000", "E0000")), line
        return done

    done = run("--help")
    assert done.returncode == 0 and "--verbose" in done.stdout and done.stderr == ""
    # a failing command that loads TensorFlow (a missing input): one line, exit status 2, no traceback
    done = run("translate", str(tmp_path / "missing.wav"), "--to", "piano", "--out", str(tmp_path / "o.wav"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "missing.wav" in done.stderr
