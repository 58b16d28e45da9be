"""Audio library: file reading/writing and clear errors, STFT images and their inverses, Griffin-Lim, chunked
translation, spectral scores, and the spectrogram tf.data pipelines (real files from ../shared/data when present)."""
import math
import os

import numpy as np
import pytest
import soundfile as sf

from tfgan_i2i.audio import (
    AudioError,
    SpectrogramConfig,
    chunk_starts,
    from_image,
    griffin_lim,
    inverse_stft,
    log_spectral_distance,
    magnitude_to_unit,
    read_audio,
    snr_db,
    spectral_convergence,
    stft,
    to_image,
    translate_wave,
    unit_to_magnitude,
    write_audio,
)
from tfgan_i2i.data.audio import audio_dataset, audio_domain_files, unpaired_audio_dataset
from tfgan_i2i.data.images import DataError
from shared_data import MIDI, VSCO2, needs_midi, needs_vsco2


@pytest.fixture(scope="module")
def violin():
    """3 s of a real violin rendering (16 kHz mono), starting where the melody plays."""
    if not os.path.isdir(MIDI):
        pytest.skip(f"rendered violin/piano pairs not found at {MIDI}")
    return read_audio(os.path.join(MIDI, "violin", "twinkle.wav"))[8000:56000]


# ---------------------------------------------------------------- reading, writing, errors

def test_write_read_mono_and_stereo(tmp_path, rng):
    stereo = (0.5 * rng.uniform(-1, 1, (2, 4000))).astype(np.float32)
    path = write_audio(tmp_path / "sub" / "st.wav", stereo, 16000)
    info = sf.info(path)
    assert (info.channels, info.frames, info.samplerate, info.subtype) == (2, 4000, 16000, "PCM_16")
    both = read_audio(path, mono=False)
    assert both.shape == (2, 4000) and both.dtype == np.float32
    assert np.abs(both - stereo).max() <= 1 / 32768 + 1e-7  # 16-bit quantisation only
    mono = read_audio(path)
    assert mono.shape == (4000,) and np.allclose(mono, both.mean(axis=0))
    # a mono file read as multi-channel has one channel; out-of-range values are clipped, not wrapped
    write_audio(tmp_path / "loud.wav", np.array([1.5, -2.0, 0.25] * 100, np.float32), 16000)
    loud = read_audio(tmp_path / "loud.wav", mono=False)
    assert loud.shape == (1, 300) and loud.max() == pytest.approx(1.0, abs=1e-4) and loud.min() == -1.0


def test_read_resamples_to_the_requested_rate(tmp_path):
    t = np.arange(44100) / 44100
    write_audio(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 440 * t), 44100)
    wave = read_audio(tmp_path / "tone.wav", sample_rate=16000)
    assert wave.shape == (16000,)
    expected = 0.5 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    assert snr_db(expected[200:-200], wave[200:-200]) > 40  # the same tone, not just the same length


@needs_vsco2
def test_mp3_stereo_44k_is_resampled_to_16k():
    path = os.path.join(VSCO2, "violin", "A5.mp3")
    info = sf.info(path)
    assert info.samplerate == 44100 and info.channels == 2
    wave = read_audio(path, sample_rate=16000, mono=False)
    assert wave.shape == (2, math.ceil(info.frames * 160 / 441))  # 16000 / 44100 = 160 / 441
    assert 0.01 < np.abs(wave).max() <= 1.0 + 1e-3
    assert read_audio(path).shape == (wave.shape[1],)


def test_bad_files_raise_audio_error_naming_the_file(tmp_path):
    assert issubclass(AudioError, DataError)  # the CLI prints DataError messages
    with pytest.raises(AudioError, match=r"not found: .*missing\.wav"):
        read_audio(tmp_path / "missing.wav")
    (tmp_path / "bad.wav").write_text("this is not audio\n" * 20)
    with pytest.raises(AudioError, match=r"Cannot read audio .*bad\.wav.*replace or delete"):
        read_audio(tmp_path / "bad.wav")
    (tmp_path / "zero.wav").write_bytes(b"")
    with pytest.raises(AudioError, match=r"zero\.wav.* is empty"):
        read_audio(tmp_path / "zero.wav")
    sf.write(tmp_path / "nosamples.wav", np.zeros((0,), np.float32), 16000, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"nosamples\.wav.* is empty \(0 samples\)"):
        read_audio(tmp_path / "nosamples.wav")
    write_audio(tmp_path / "short.wav", np.zeros(800, np.float32), 16000)
    with pytest.raises(AudioError, match=r"short\.wav.* too short: 0\.050 s.*at least 0\.500 s"):
        read_audio(tmp_path / "short.wav", min_seconds=0.5)
    assert read_audio(tmp_path / "short.wav", min_samples=800).shape == (800,)
    with pytest.raises(AudioError, match="is a folder"):
        read_audio(tmp_path)


# ---------------------------------------------------------------- STFT and spectrogram images

def test_frame_counts_and_magnitude_scaling():
    config = SpectrogramConfig()
    assert (config.bins, config.channels, config.padding) == (512, 2, 768)
    for frames in (7, 16, 128):  # 7 frames = 1024 samples, the shortest wave stft takes
        length = config.crop_length(frames)
        assert config.num_frames(length) == frames
        assert to_image(np.zeros(length, np.float32), config).shape == (frames, 512, 2)
    assert config.num_frames(1025) == 8 and stft(np.zeros(1025, np.float32), config).shape == (8, 513)
    assert SpectrogramConfig(representation="magnitude").channels == 1
    unit = magnitude_to_unit(np.array([0.0, 1.0, 512.0], np.float32), config).numpy()
    assert unit[0] == pytest.approx(-1) and unit[2] == pytest.approx(1) and -1 < unit[1] < 1
    assert np.allclose(unit_to_magnitude(unit, config).numpy(), [0, 1, 512], rtol=1e-5, atol=1e-8)
    with pytest.raises(ValueError, match="representation"):
        SpectrogramConfig(representation="mel")
    with pytest.raises(ValueError, match="multiple of frame_step"):
        SpectrogramConfig(frame_length=1000, frame_step=256)
    with pytest.raises(ValueError, match="shorter than one frame"):
        stft(np.zeros(500, np.float32), config)


def test_stft_round_trip_is_exact_on_a_real_file(violin):
    config = SpectrogramConfig()
    spec = stft(violin, config)
    assert spec.shape == (config.num_frames(violin.shape[0]), 513)
    back = inverse_stft(spec, config, violin.shape[0]).numpy()
    assert back.shape == violin.shape
    assert snr_db(violin, back) > 100  # measured 138 dB in float32
    assert np.abs(back - violin).max() < 1e-6  # edges included: the reflect padding covers them
    stereo = np.stack([violin, 0.5 * violin[::-1]])  # leading batch dims work the same
    assert snr_db(stereo, inverse_stft(stft(stereo, config), config, violin.shape[0]).numpy()) > 100


@pytest.mark.parametrize("representation", ["phase", "if"])
def test_image_round_trip_on_a_real_file(violin, representation):
    config = SpectrogramConfig(representation=representation)
    image = to_image(violin, config).numpy()
    assert image.shape == (config.num_frames(violin.shape[0]), 512, 2) and image.dtype == np.float32
    assert image.min() >= -1 and image.max() <= 1
    back = from_image(image, config, violin.shape[0]).numpy()
    # measured ~82-88 dB; the only loss is the dropped Nyquist bin (about -80 dB of the energy)
    assert back.shape == violin.shape and snr_db(violin, back) > 70


def test_if_channel_is_the_phase_advance_per_hop():
    config = SpectrogramConfig(representation="if")
    k = 3  # a tone on bin 3 turns by 2 pi k hop / N = 1.5 pi per hop, i.e. -0.5 pi after wrapping
    tone = 0.5 * np.cos(2 * np.pi * k / 1024 * np.arange(8192)).astype(np.float32)
    image = to_image(tone, config).numpy()
    assert np.allclose(image[6:-6, k, 1], -0.5, atol=1e-3)
    phase_image = to_image(tone, SpectrogramConfig(representation="phase")).numpy()
    assert np.allclose(image[..., 0], phase_image[..., 0])  # same magnitude channel


def test_griffin_lim_error_never_increases_on_a_real_file(violin):
    config = SpectrogramConfig(representation="magnitude")
    clip = violin[:16000]
    magnitude = np.abs(stft(clip, config).numpy())
    wave, trace = griffin_lim(magnitude, config, clip.shape[0], iterations=12, momentum=0.0,
                              return_convergence=True)
    assert wave.shape == clip.shape and trace.shape == (12,)
    assert np.all(np.diff(trace) <= 1e-4)  # plain Griffin-Lim is monotone (float noise aside)
    assert trace[-1] < 0.75 * trace[0]
    _, fast = griffin_lim(magnitude, config, clip.shape[0], iterations=12, return_convergence=True)
    assert fast[-1] < trace[-1]  # the default fast Griffin-Lim (momentum 0.99) gets further in as many steps
    # the magnitude image goes through the same code; its spectrum is close to the original's
    out = from_image(to_image(clip, config), config, clip.shape[0], griffin_lim_iters=12).numpy()
    assert out.shape == clip.shape and spectral_convergence(clip, out, config) < 0.5


# ---------------------------------------------------------------- chunked translation

@pytest.mark.parametrize("representation", ["phase", "if"])
def test_identity_chunks_give_the_input_back_without_seams(violin, representation):
    config = SpectrogramConfig(representation=representation)
    wave = violin[:30001]  # not a multiple of anything
    chunk = config.crop_length(16)
    starts = chunk_starts(wave.shape[0], chunk, chunk // 4)
    assert len(starts) > 4 and starts[-1] + chunk == wave.shape[0]
    calls = []
    out = translate_wave(wave, lambda x: x, config, chunk_frames=16, overlap=0.25, batch_size=3,
                         progress=lambda done, total: calls.append((done, total)))
    assert out.shape == wave.shape and out.dtype == np.float32
    error = np.abs(out - wave)
    assert error.max() < 1e-4  # everywhere, borders included (peak level 0.18)
    borders = [b for s in starts[1:] for b in (s, s - 1)] + [s + chunk for s in starts[:-1]]
    assert error[borders].max() < 1e-4
    assert calls[-1] == (len(starts), len(starts))


def test_chunks_apply_fn_to_every_chunk_and_channel(violin):
    config = SpectrogramConfig()
    gain_db = 6.0
    lo, hi = math.log(config.log_floor), math.log(config.magnitude_ceiling + config.log_floor)
    shift = 2 * math.log(10 ** (gain_db / 20)) / (hi - lo)  # a constant gain is a constant shift of channel 0

    def louder(images):
        assert images.shape[1:] == (16, 512, 2)
        return np.concatenate([images[..., :1] + shift, images[..., 1:]], axis=-1)

    stereo = np.stack([violin[:20000], violin[20000:40000]])
    out = translate_wave(stereo, louder, config, chunk_frames=16, overlap=0.3, fade="linear")
    assert out.shape == stereo.shape
    assert snr_db(10 ** (gain_db / 20) * stereo, out) > 40
    short = translate_wave(violin[:2000], lambda x: x, config, chunk_frames=16)  # shorter than one chunk
    assert short.shape == (2000,) and np.abs(short - violin[:2000]).max() < 1e-4
    with pytest.raises(ValueError, match="shape it is given"):
        translate_wave(violin[:5000], lambda x: x[:, :8], config, chunk_frames=16)


# ---------------------------------------------------------------- scores

def test_snr_and_spectral_scores(violin):
    assert snr_db(violin, violin) == float("inf")
    assert snr_db(violin, 0.5 * violin) == pytest.approx(20 * math.log10(2), abs=1e-6)
    assert spectral_convergence(violin, violin) == 0 and log_spectral_distance(violin, violin) == 0
    piano = read_audio(os.path.join(MIDI, "piano", "twinkle.wav"))[8000:56000]
    assert spectral_convergence(violin, 0.5 * violin) == pytest.approx(0.5, abs=1e-6)
    assert log_spectral_distance(violin, piano) > 5 * log_spectral_distance(violin, 0.9 * violin)
    assert spectral_convergence(violin, piano[:40000]) > 0.3  # compared over the common length
    with pytest.raises(ValueError, match="same length"):
        snr_db(violin, violin[:100])


# ---------------------------------------------------------------- datasets

@needs_midi
def test_domain_files_generic_and_irmas_layouts(tmp_path):
    generic = audio_domain_files(MIDI, "violin")
    assert len(generic) == 10 and all(f.endswith(".wav") and "/violin/" in f for f in generic)
    irmas = tmp_path / "IRMAS-TrainingData"
    for code, source in (("vio", "violin"), ("pia", "piano"), ("cel", "violin")):
        (irmas / code / "nested").mkdir(parents=True)
        for name in ("twinkle.wav", "arpeggios.wav"):
            os.symlink(os.path.join(MIDI, source, name), irmas / code / f"[{code}]{name}")
        os.symlink(os.path.join(MIDI, source, "long_tones.wav"), irmas / code / "nested" / "deep.wav")
    (irmas / "vio" / "notes.txt").write_text("not audio")
    vio = audio_domain_files(irmas, "violin")
    assert [os.path.basename(f) for f in vio] == ["[vio]arpeggios.wav", "[vio]twinkle.wav", "deep.wav"]
    assert all("/pia/" in f for f in audio_domain_files(irmas, "piano"))
    assert len(audio_domain_files(irmas / "cel")) == 3  # a domain folder given directly
    with pytest.raises(AudioError, match=r"No 'flute' folder .*flute.* or .*flu"):
        audio_domain_files(irmas, "flute")
    (tmp_path / "empty" / "violin").mkdir(parents=True)
    with pytest.raises(AudioError, match=r"No audio files below .*violin"):
        audio_domain_files(tmp_path / "empty", "violin")
    with pytest.raises(AudioError, match="not found"):
        audio_domain_files(tmp_path / "nowhere", "violin")


@needs_midi
def test_audio_dataset_shapes_range_and_seed():
    files = audio_domain_files(MIDI, "violin")[:3]
    config = SpectrogramConfig(representation="if")
    batches = list(audio_dataset(files, config, crop_frames=16, batch_size=2, seed=3).as_numpy_iterator())
    assert len(batches) == 1 and batches[0].shape == (2, 16, 512, 2) and batches[0].dtype == np.float32
    assert batches[0].min() >= -1 and batches[0].max() <= 1 and batches[0][..., 0].std() > 0.05
    again = list(audio_dataset(files, config, crop_frames=16, batch_size=2, seed=3).as_numpy_iterator())
    assert np.array_equal(batches[0], again[0])  # repeatable under a seed
    mag = SpectrogramConfig(representation="magnitude")
    one = next(audio_dataset(files, mag, crop_frames=8, batch_size=3, seed=0, repeat=True).as_numpy_iterator())
    assert one.shape == (3, 8, 512, 1)


@needs_midi
def test_unpaired_audio_dataset_keeps_domains_apart(tmp_path):
    violins = audio_domain_files(MIDI, "violin")[:3]
    pianos = audio_domain_files(MIDI, "piano")[:2]
    ds = unpaired_audio_dataset(violins, pianos, SpectrogramConfig(), crop_frames=8, batch_size=1, seed=0)
    pairs = list(ds.as_numpy_iterator())
    assert len(pairs) == 3  # the larger domain; the smaller one cycles
    a, b = pairs[0]
    assert a.shape == b.shape == (1, 8, 512, 2) and not np.array_equal(a, b)
    write_audio(tmp_path / "tiny.wav", np.zeros(500, np.float32), 16000)
    with pytest.raises(AudioError, match=r"shorter than one crop.*tiny\.wav"):
        audio_dataset([str(tmp_path / "tiny.wav")], SpectrogramConfig(), crop_frames=8)
