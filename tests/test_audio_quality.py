"""Issue #18's measures and output level: known answers on synthetic tones (pitch in cents, level in dB, spectral
distance, onsets), the translation's level matched by construction (library, checkpoint and SavedModel paths),
and the paired mode (`tfgan-i2i-audio train --paired-data`) end to end with a tiny pix2pix."""
import math
import os

import numpy as np
import pytest
import soundfile as sf

from apps.audio_translation import cli
from apps.audio_translation.model import AudioModelError, AudioTranslator, audio_config
from apps.audio_translation.training import pair_files
from tfgan_i2i.audio import (SpectrogramConfig, compare_f0, f0_track, level_difference_db, log_spectral_distance,
                             lufs, match_level, onset_correlation, pitch_error_cents, read_audio, rms_db,
                             spectral_convergence, write_audio)
from tfgan_i2i.config import Config, ConfigError
from tfgan_i2i.data.audio import paired_audio_dataset
from shared_data import MIDI

RATE = 16000
TINY = ["--frame-length", "64", "--frame-step", "16", "--ngf", "8", "--ndf", "8", "--steps-per-epoch", "2",
        "--epochs", "1", "--monitor-seconds", "0.25", "--quiet", "--run-eagerly"]


def tone(hz: float, seconds: float = 0.6, amplitude: float = 0.5) -> np.ndarray:
    """A sine of `hz` at RATE."""
    return (amplitude * np.sin(2 * math.pi * hz * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


def clicks(starts, seconds: float = 2.0) -> np.ndarray:
    """Decaying 1 kHz bursts starting at `starts` (seconds): a signal with known onsets."""
    wave = np.zeros(int(seconds * RATE), np.float32)
    burst = tone(1000, 0.15) * np.exp(-np.arange(int(0.15 * RATE)) / 400.0).astype(np.float32)
    for s in starts:
        i = int(s * RATE)
        wave[i:i + len(burst)] += burst[:len(wave) - i]
    return wave


# ---------------------------------------------------------------- measures with known answers

def test_pitch_in_cents_on_tones():
    a4 = tone(440.0)
    track = f0_track(a4, RATE, fmin=100, fmax=1000)
    assert track[1].mean() > 0.8 and np.nanmedian(track[0]) == pytest.approx(440, rel=0.01)
    assert pitch_error_cents(a4, a4, RATE, fmin=100, fmax=1000) == 0
    # A#4 is one equal-tempered semitone up: 100 cents (pYIN's grid is 10 cents, so the figure is exact here)
    assert pitch_error_cents(a4, tone(466.16), RATE, fmin=100, fmax=1000) == pytest.approx(100, abs=1)
    silent = compare_f0(track, (np.full_like(track[0], np.nan), np.zeros_like(track[1])))
    assert math.isnan(silent["cents"]) and silent["voiced_both"] == 0 and silent["voiced_ref"] > 0.8


def test_level_differences_in_db():
    a4 = tone(440.0, 1.0)
    assert rms_db(a4) == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=1e-6)
    assert level_difference_db(a4, 0.5 * a4) == pytest.approx(-6.0206, abs=1e-3)  # half the amplitude
    assert level_difference_db(0.5 * a4, a4) == pytest.approx(6.0206, abs=1e-3)
    assert level_difference_db(a4, 0.5 * a4, RATE, "lufs") == pytest.approx(-6.0206, abs=0.01)
    assert lufs(a4, RATE) < 0 and math.isnan(level_difference_db(a4, np.zeros_like(a4)))
    with pytest.raises(ValueError, match="0.4 s"):
        lufs(a4[:1000], RATE)


def test_spectral_distances_and_onsets():
    wave = clicks([0.2, 0.7, 1.2, 1.6])
    assert log_spectral_distance(wave, wave) == 0 and spectral_convergence(wave, wave) == 0
    assert onset_correlation(wave, wave, RATE) == pytest.approx(1.0)
    assert onset_correlation(wave, 0.25 * wave, RATE) > 0.99  # onsets do not depend on the level
    assert onset_correlation(wave, clicks([0.45, 0.95, 1.4, 1.85]), RATE) < 0.3  # the same bursts, elsewhere


# ---------------------------------------------------------------- output level

def test_match_level_sets_the_rms_and_keeps_the_peak_below_full_scale():
    quiet = tone(440.0, 1.0, amplitude=0.01)
    louder, gain = match_level(quiet, -20.0)
    assert rms_db(louder) == pytest.approx(-20.0, abs=1e-4) and gain == pytest.approx(-20.0 - rms_db(quiet), abs=1e-4)
    capped, gain = match_level(quiet, 0.0)  # a sine at 0 dBFS RMS would peak at 1.41: capped at 0.99
    assert np.abs(capped).max() == pytest.approx(0.99, abs=1e-4) and rms_db(capped) < 0
    silence = np.zeros(100, np.float32)
    assert np.array_equal(match_level(silence, -20.0)[0], silence)


def _quieter_translator(levels=None) -> AudioTranslator:
    """A stand-in model (no network): the identity on the phase channel, its magnitude 20 dB down."""
    spec = SpectrogramConfig(frame_length=64, frame_step=16, representation="if")
    config = audio_config(spec)
    if levels:
        config.extra["audio"]["levels_db"] = levels
    lo, hi = math.log(spec.log_floor), math.log(spec.magnitude_ceiling + spec.log_floor)
    shift = 2 * math.log(0.1) / (hi - lo)  # -20 dB is a constant shift of channel 0 (well above the floor)

    def fn(images):
        return np.concatenate([images[..., :1] + shift, images[..., 1:]], axis=-1)
    return AudioTranslator(config, {"piano": fn, "violin": fn}, source="a stand-in")


def test_translate_level_modes():
    wave = tone(440.0, 1.0, amplitude=0.3)
    raw = _quieter_translator().translate(wave, "piano", level="none")
    assert level_difference_db(wave, raw) == pytest.approx(-20.0, abs=0.2)
    matched, gain = _quieter_translator().translate(wave, "piano", return_gain=True)  # default: the input's level
    assert level_difference_db(wave, matched) == pytest.approx(0.0, abs=1e-3) and gain == pytest.approx(20, abs=0.2)
    assert np.allclose(matched, raw * 10 ** (gain / 20), atol=1e-6)  # one gain: the model's dynamics are kept
    target = _quieter_translator({"piano": -30.0, "violin": -25.0}).translate(wave, "piano", level="target")
    assert rms_db(target) == pytest.approx(-30.0, abs=1e-3)
    with pytest.raises(AudioModelError, match="no recorded typical piano level.*--level input"):
        _quieter_translator().translate(wave, "piano", level="target")
    with pytest.raises(AudioModelError, match="--level 'loud'"):
        _quieter_translator().translate(wave, "piano", level="loud")


# ---------------------------------------------------------------- paired mode

def test_pair_files_matches_by_name_and_names_the_odd_one():
    violin, piano = pair_files(["v/b.wav", "v/a.wav"], ["p/a.flac", "p/b.wav"])
    assert violin == ("v/b.wav", "v/a.wav") and piano == ("p/b.wav", "p/a.flac")
    with pytest.raises(ConfigError, match=r"v/c\.wav \(no piano file named c\)"):
        pair_files(["v/a.wav", "v/c.wav"], ["p/a.wav"])


def test_paired_dataset_crops_both_sides_at_the_same_place(tmp_path):
    wave = np.random.default_rng(0).uniform(-0.5, 0.5, 4000).astype(np.float32)
    a = write_audio(tmp_path / "a.wav", wave, RATE)
    b = write_audio(tmp_path / "b.wav", np.concatenate([0.5 * wave, np.zeros(300, np.float32)]), RATE)  # a tail
    spec = SpectrogramConfig(frame_length=64, frame_step=16, representation="magnitude")
    batches = list(paired_audio_dataset([a] * 3, [b] * 3, spec, crop_frames=16, batch_size=3, seed=1))
    (left, right), = batches
    assert left.shape == right.shape == (3, 16, 32, 1)
    assert not np.allclose(left[0], left[1])  # random crops ...
    lo, hi = math.log(spec.log_floor), math.log(spec.magnitude_ceiling + spec.log_floor)
    # ... at the same place on both sides: B is A at half the amplitude, a constant shift of the log magnitude
    loud = left > -0.5
    assert np.allclose((left - right)[loud], 2 * math.log(2) / (hi - lo), atol=0.02)


@pytest.fixture(scope="module")
def paired_run(tmp_path_factory):
    """A tiny pix2pix per direction trained with --paired-data on 1 s excerpts of 3 rendered melodies."""
    if not os.path.isdir(MIDI):
        pytest.skip(f"rendered violin/piano pairs not found at {MIDI}")
    root = tmp_path_factory.mktemp("paired")
    for name in ("arpeggios", "g_major_scale", "twinkle"):
        for instrument in ("violin", "piano"):
            wave = read_audio(os.path.join(MIDI, instrument, f"{name}.wav"))[:RATE]
            write_audio(root / "data" / instrument / f"{name}.wav", wave, RATE)
    logdir = str(root / "run")
    assert cli.main(["train", "--data", str(root / "data"), "--paired-data", "--logdir", logdir, *TINY]) == 0
    return root, logdir


def _translate(source, to, checkpoint, out, *extra):
    """Run `translate` and return the written wave."""
    assert cli.main(["translate", str(source), "--to", to, "--checkpoint", checkpoint, "--out", str(out), "--quiet",
                     *extra]) == 0
    return sf.read(str(out), dtype="float32")[0]


def test_paired_mode_trains_translates_and_exports(paired_run):
    root, logdir = paired_run
    for to, run in (("piano", "violin_to_piano"), ("violin", "piano_to_violin")):
        config = Config.load(os.path.join(logdir, run, "checkpoints", "config.json"))
        audio = config.extra["audio"]
        assert (config.model, config.image_size, config.input_nc, config.test_mode) == ("pix2pix", 32, 2, "eval")
        assert audio["direction"] == run and audio["domains"]["B"] == to
        assert set(audio["levels_db"]) == {"violin", "piano"}  # recorded for --level target
    source = root / "data" / "violin" / "twinkle.wav"
    piano = _translate(source, "piano", logdir, root / "p.wav")
    assert piano.shape == (RATE,) and np.isfinite(piano).all()
    assert level_difference_db(read_audio(source), piano) == pytest.approx(0.0, abs=0.05)  # --level input

    export = str(root / "export")
    assert cli.main(["export", "--checkpoint", logdir, "--out", export]) == 0
    from_export = _translate(source, "piano", export, root / "pe.wav")
    assert np.abs(from_export - piano).max() <= 2 / 32768  # the SavedModel path: same wave, level matched too
    violin = _translate(root / "data" / "piano" / "twinkle.wav", "violin", export, root / "v.wav", "--level", "target")
    levels = Config.load(os.path.join(export, "config.json")).extra["audio"]["levels_db"]
    assert violin.shape == (RATE,) and rms_db(violin) == pytest.approx(levels["violin"], abs=0.05)


def test_paired_mode_errors(paired_run, capsys):
    root, logdir = paired_run

    def error(*args):
        assert cli.main(list(args)) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1, err
        return err

    data = str(root / "data")
    assert "--paired-data" in error("train", "--data", data, "--model", "pix2pix", "--logdir", str(root / "x"))
    assert "with --paired-data use --model pix2pix" in error("train", "--data", data, "--paired-data", "--model",
                                                             "unit", "--logdir", str(root / "x"))
    assert "--paired-data only" in error("train", "--data", data, "--to", "piano", "--logdir", str(root / "x"))
    write_audio(root / "data" / "violin" / "extra.wav", np.zeros(RATE, np.float32), RATE)
    try:
        assert "extra.wav (no piano file named extra)" in error("train", "--data", data, "--paired-data",
                                                                "--logdir", str(root / "x"))
    finally:
        os.remove(root / "data" / "violin" / "extra.wav")
    # one direction only: the other is refused with the fix, naming the model
    one_way = os.path.join(logdir, "violin_to_piano")
    err = error("translate", str(root / "data" / "piano" / "twinkle.wav"), "--to", "violin", "--checkpoint", one_way,
                "--out", str(root / "o.wav"))
    assert "translates only into piano" in err and "--to violin" in err
