"""`tfgan-i2i demo` without a browser: the translation callbacks on the shipped exports and tiny models, the model
registry and cards, the page's handlers, and the command's one-line errors."""
import os
import socket

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from tfgan_i2i import cli
from tfgan_i2i.cli import shipped_model_dir
from tfgan_i2i.config import preset
from tfgan_i2i.demo import callbacks as cb
from tfgan_i2i.demo import cards, registry, samples

BICYCLE = shipped_model_dir("bicyclegan_facades")
AUDIO = shipped_model_dir("violin_piano_avb")
needs_shipped = pytest.mark.skipif(not os.path.isdir(os.path.join(BICYCLE, "1")) or not os.path.isdir(AUDIO),
                                   reason="the shipped savedmodels/ come with a source checkout")


def _needs_gradio():
    """Gradio (the demo extra); on CI (CI set) its absence is a failure, not a skip."""
    try:
        import gradio  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail('CI must install the demo extra (pip install -e ".[demo]"): gradio is missing')
        pytest.skip('gradio is not installed (pip install -e ".[demo]")')


def tiny(name, **overrides):
    """An untrained 32 px model of preset `name` (random weights: outputs still depend on input and code)."""
    from tfgan_i2i.models import build_model

    return build_model(preset(name, image_size=32, load_size=32, ngf=4, ndf=4, nef=4, **overrides))


@pytest.fixture(scope="module")
def bicycle():
    if not os.path.isdir(os.path.join(BICYCLE, "1")):
        pytest.skip("the shipped savedmodels/ come with a source checkout")
    return registry.load(registry.describe(BICYCLE, "bicyclegan_facades"))


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    """{0: photo paths, 1: label map paths} of the bundled test pairs at 128 px."""
    out = str(tmp_path_factory.mktemp("halves"))
    return {half: [p for p, _ in samples.bundled_halves(out, half, 128)] for half in (0, 1)}


@pytest.fixture(scope="module")
def label(bicycle, halves):
    """The first bundled label map, read for the shipped BicycleGAN."""
    return cb.read_input(halves[1][0], 3, 128)


def _distinct(pictures):
    """Every pair of pictures differs."""
    return all(np.any(a != b) for i, a in enumerate(pictures) for b in pictures[i + 1:])


# --- images ------------------------------------------------------------------------------------------------------
def test_read_input_names_the_file_and_the_fix(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    small = tmp_path / "small.png"
    Image.new("RGB", (200, 150), (10, 20, 30)).save(small)
    with pytest.raises(cb.DemoError, match="No image given"):
        cb.read_input(None, 3, 128)
    with pytest.raises(cb.DemoError, match="'broken.png'") as e:
        cb.read_input(str(broken), 3, 128)
    assert str(tmp_path) not in str(e.value)  # the file's own name, not the upload folder
    with pytest.raises(cb.DemoError, match=r"small.png is 200x150 pixels, but this model runs at 128x128.*Resize"):
        cb.read_input(str(small), 3, 128)
    image = cb.read_input(str(small), 1, 128, resize=True)
    assert image.shape == (128, 128, 1) and image.min() >= -1 and image.max() <= 1


def test_bundled_halves_follow_the_model_direction(tmp_path):
    labels_to_photo = preset("bicyclegan", direction="BtoA", image_size=64)
    assert samples.source_half(labels_to_photo) == 1 and samples.source_half(labels_to_photo, "BtoA") == 0
    found = samples.example_inputs(labels_to_photo, str(tmp_path))
    assert len(found) == 5 and found[0][1] == "facades test 1: label map"
    assert Image.open(found[0][0]).size == (64, 64)


def test_k_samples_differ_and_depend_on_the_seed(bicycle, label):
    first = cb.paired_samples(bicycle, label, 3, 0)
    assert len(first) == 3 and all(p.shape == (128, 128, 3) and p.dtype == np.uint8 for p in first)
    assert _distinct(first)
    again, other = cb.paired_samples(bicycle, label, 3, 0), cb.paired_samples(bicycle, label, 3, 5)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert all(np.any(a != b) for a, b in zip(first, other))
    with pytest.raises(cb.DemoError, match="from 1 to 8"):
        cb.paired_samples(bicycle, label, 9, 0)
    with pytest.raises(cb.DemoError, match="seed must be a whole number"):
        cb.paired_samples(bicycle, label, 2, 0.5)


def test_the_explorer_starts_at_the_shown_sample_and_follows_a_slider(bicycle, label):
    shown = cb.paired_samples(bicycle, label, 4, 3)
    z = cb.sample_code(bicycle, 4, 3, 2)
    assert z.shape == (8,)
    start = cb.translate_codes(bicycle, label, [z])[0]
    assert np.abs(start.astype(int) - shown[2]).max() <= 2  # the same code through translate_z as through sample
    moved = z.copy()
    moved[0] += 2.0
    assert np.any(cb.translate_codes(bicycle, label, [moved])[0] != start)
    with pytest.raises(cb.DemoError, match="from 0 to 3"):
        cb.sample_code(bicycle, 4, 3, 4)


def test_interpolation_runs_from_one_seed_code_to_the_other(bicycle, label):
    z_a, z_b = cb.sample_code(bicycle, 1, 0, 0), cb.sample_code(bicycle, 1, 1, 0)
    codes = cb.interpolation_codes(z_a, z_b, 5)
    assert codes.shape == (5, 8)
    np.testing.assert_allclose(codes[0], z_a, atol=1e-6)
    np.testing.assert_allclose(codes[-1], z_b, atol=1e-6)
    strip = cb.translate_codes(bicycle, label, codes)
    assert len(strip) == 5 and _distinct(strip)
    with pytest.raises(cb.DemoError, match="from 2 to 16 steps"):
        cb.interpolation_codes(z_a, z_b, 1)


def test_encoding_a_reference_photo_gives_its_code(bicycle, label, halves):
    photo = cb.read_input(halves[0][0], 3, 128)
    z = cb.encode_reference(bicycle, photo)
    assert z.shape == (8,) and np.all(np.isfinite(z))
    other = cb.encode_reference(bicycle, cb.read_input(halves[0][1], 3, 128))
    assert np.any(z != other)
    assert cb.translate_codes(bicycle, label, [z])[0].shape == (128, 128, 3)


def test_models_without_a_code_or_an_encoder_say_so():
    model = tiny("pix2pix", nz=0)
    image = np.zeros((32, 32, 3), np.float32)
    assert len(cb.paired_samples(model, image, 4, 0)) == 1  # one output: no latent code
    with pytest.raises(cb.DemoError, match="no latent code"):
        cb.sample_code(model, 4, 0, 0)
    with pytest.raises(cb.DemoError, match="no encoder"):
        cb.encode_reference(model, image)


def test_unpaired_translation_and_its_cycle():
    image = np.random.default_rng(0).uniform(-1, 1, (32, 32, 3)).astype(np.float32)
    avb = tiny("avb-gtn", n_res=2, ntf=4, num_D=2, d_layers=2)
    assert cb.is_stochastic(avb)
    for direction in cb.DIRECTIONS:
        samples_, cycle = cb.unpaired_translation(avb, image, direction, 3, 0)
        assert len(samples_) == 3 and _distinct(samples_)  # posterior draws
        assert len(cycle) == 3 and all(p.shape == (32, 32, 3) for p in cycle)
        np.testing.assert_array_equal(cycle[0], cb.display(image))
    cyclegan = tiny("cyclegan", nz=0, g_blocks=1)
    assert not cb.is_stochastic(cyclegan)
    assert len(cb.unpaired_translation(cyclegan, image, "AtoB", 3, 0)[0]) == 1
    with pytest.raises(cb.DemoError, match="A->B"):
        cb.unpaired_translation(cyclegan, image, "sideways", 1, 0)


# --- audio -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def translator():
    if not os.path.isdir(AUDIO):
        pytest.skip("the shipped savedmodels/ come with a source checkout")
    return registry.load(registry.describe(AUDIO, "violin_piano_avb"))


def _tone(path, seconds=1.0, rate=22050, channels=2):
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-2 * t)
    sf.write(str(path), np.stack([wave] * channels, axis=1), rate)
    return str(path)


def test_a_recording_is_translated_to_playable_wavs(translator, tmp_path):
    result = cb.translate_recording(translator, _tone(tmp_path / "melody.flac"), "violin", str(tmp_path))
    heard, rate = sf.read(result.input_wav)
    out, out_rate = sf.read(result.output_wav)
    assert rate == out_rate == 16000 and len(heard) == len(out) == 16000 and heard.ndim == out.ndim == 1
    assert os.path.basename(result.output_wav) == "melody_to_violin.wav" and np.any(out != 0)
    assert result.input_picture.shape == result.output_picture.shape
    assert result.input_picture.shape[0] == 128 and result.input_picture.dtype == np.uint8
    assert result.notes == []


def test_recording_notes_and_errors(translator, tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(8000, np.float32), 16000)
    quiet = cb.translate_recording(translator, str(silent), "piano", str(tmp_path))
    assert "digital silence" in quiet.notes[0] and not np.any(sf.read(quiet.output_wav)[0])
    long = cb.translate_recording(translator, _tone(tmp_path / "long.wav", 1.0), "piano", str(tmp_path),
                                  max_seconds=0.5)
    assert "first 0.5 s" in long.notes[0] and len(sf.read(long.output_wav)[0]) == 8000
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio")
    with pytest.raises(cb.DemoError, match="Cannot read audio 'broken.wav'"):
        cb.translate_recording(translator, str(broken), "piano", str(tmp_path))
    with pytest.raises(cb.DemoError, match="No recording"):
        cb.translate_recording(translator, None, "piano", str(tmp_path))
    with pytest.raises(cb.DemoError, match="piano or violin"):
        cb.translate_recording(translator, str(silent), "cello", str(tmp_path))


# --- registry and cards ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A train-style logdir holding an untrained tiny CycleGAN's checkpoint (no training: a second, not minutes)."""
    from tfgan_i2i.training import CheckpointCallback

    logdir = tmp_path_factory.mktemp("run") / "cyclegan-tiny"
    model = tiny("cyclegan", nz=0, g_blocks=1)
    model.compile()
    saver = CheckpointCallback(str(logdir / "checkpoints"))
    saver.set_model(model)
    saver.save(1)
    return str(logdir)


@needs_shipped
def test_entries_list_checkpoints_first_then_the_shipped_models(checkpoint):
    found = registry.entries([checkpoint, os.path.join(checkpoint, "checkpoints")])
    assert [e.name for e in found] == ["cyclegan-tiny", "cyclegan-tiny (2)", *registry.SHIPPED]
    assert [e.kind for e in found] == ["unpaired", "unpaired", "paired", "paired", "audio", "audio"]
    assert found[2].label == "bicyclegan_facades (bicyclegan, paired images)"
    model = registry.load(found[0])
    assert registry.load(found[1]) is model  # one copy per folder, whichever way it was named
    assert registry.load(found[0]).config.model == "cyclegan"


def test_describe_refuses_what_the_page_cannot_show(tmp_path):
    with pytest.raises(cb.DemoError, match="does not exist"):
        registry.describe(str(tmp_path / "missing"))
    with pytest.raises(cb.DemoError, match="not an image-to-image translator"):
        registry.kind_of(preset("dcgan"), "run/dcgan")
    assert registry.kind_of(preset("unit"), "run") == "unpaired"
    assert registry.kind_of(preset("pix2pix"), "run") == "paired"


@needs_shipped
def test_cards_show_the_model_its_size_and_measured_figures(checkpoint):
    card = cards.model_card(registry.describe(BICYCLE, "bicyclegan_facades"))
    assert "### bicyclegan_facades" in card and "B (3 channels) -> A (3 channels), 128x128 px" in card
    assert "25.5 MB" in card and "diversity" in card and "400 training pairs" in card
    assert "![" not in card and "msgan_facades" not in card.split("####")[1]  # its own README section only
    assert "export_report.md" in card
    audio = cards.model_card(registry.describe(AUDIO, "violin_piano_avb"))
    assert "violin <-> piano" in audio and "log-spectral distance" in audio
    assert "residual blocks" in audio and "mean code" in audio  # AVB-GTN: shared latent space
    paired = cards.model_card(registry.describe(shipped_model_dir("violin_piano_pix2pix"), "violin_piano_pix2pix"))
    assert "pix2pix (audio)" in paired and "one model per direction" in paired  # no latent code, no T network
    assert "none: one translation per recording" in paired and "residual blocks" not in paired.split("####")[0]
    run = cards.model_card(registry.describe(checkpoint))
    assert "cyclegan (unpaired images)" in run and "No README section" in run
    assert cards.readme_section(os.path.join(os.path.dirname(BICYCLE), "README.md"), "no_such_model") is None


# --- the page's handlers -----------------------------------------------------------------------------------------
@needs_shipped
def test_handlers_turn_page_values_into_pictures_and_errors_into_messages(halves, tmp_path):
    _needs_gradio()
    import gradio as gr

    from tfgan_i2i.demo.handlers import MAX_NZ, Handlers, file_path

    assert file_path({"path": "/x.png", "orig_name": "x.png"}) == "/x.png" and file_path(None) is None
    h = Handlers(registry.entries(), str(tmp_path))
    payload = {"path": halves[1][0], "orig_name": "labels.png"}
    gallery = h.samples("bicyclegan_facades", payload, 2, 0, False)
    assert [caption for _, caption in gallery] == ["sample 0 (seed 0)", "sample 1 (seed 0)"]
    assert h.samples("bicyclegan_facades", None, 2, 0, False, quiet=True) == []
    sliders = h.explorer_start("bicyclegan_facades", 2, 0, 1)
    assert len(sliders) == MAX_NZ and all(isinstance(v, float) for v in sliders[:8])
    assert h.explore("bicyclegan_facades", payload, False, *sliders[:8]).shape == (128, 128, 3)
    view = h.on_model("violin_piano_avb")
    assert "violin <-> piano" in view[0] and [v["visible"] for v in view[1:4]] == [False, False, True]
    with pytest.raises(gr.Error, match="No image given"):
        h.samples("bicyclegan_facades", None, 2, 0, False)
    with pytest.raises(gr.Error, match="no encoder"):
        h.encode("msgan_facades", payload, {"path": halves[0][0]}, False)


@needs_shipped
def test_the_page_builds_offline(tmp_path):
    _needs_gradio()
    from tfgan_i2i.demo import app

    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert app.theme()._stylesheets == []  # system fonts: no font files, local or remote, to fetch
    blocks = app.build_app(registry.entries(), str(tmp_path))
    assert blocks.analytics_enabled is False and blocks.title == app.TITLE


# --- the command -------------------------------------------------------------------------------------------------
def _one_line_error(capsys, argv, *expected):
    """Run `tfgan-i2i ARGV`: exit status 2 and one stderr line holding every expected piece."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for piece in expected:
        assert piece in err, err


def test_demo_command_errors_are_one_line(capsys, tmp_path, monkeypatch):
    with pytest.raises(SystemExit) as e:
        cli.main(["demo", "--port", "70000"])
    assert e.value.code == 2 and "--port" in capsys.readouterr().err
    _one_line_error(capsys, ["demo", "--checkpoint", str(tmp_path / "nope"), "--port", "0"], "--checkpoint",
                    "does not exist")
    _one_line_error(capsys, ["demo", "--host", "no-such-host.invalid"], "--host", "127.0.0.1")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        _one_line_error(capsys, ["demo", "--port", str(port)], f"--port {port} is already in use", "--port 0")
    real = __import__("importlib.util").util.find_spec
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "gradio" else real(name, *a))
    _one_line_error(capsys, ["demo"], 'pip install -e ".[demo]"')
