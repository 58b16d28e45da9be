"""Audio as spectrogram images: file I/O, STFT <-> image (phase, instantaneous frequency or magnitude + Griffin-Lim),
chunked translation of long recordings, and objective scores."""
from .chunks import chunk_starts, crossfade_weights, translate_wave
from .io import AUDIO_EXTENSIONS, AudioError, read_audio, resample, write_audio
from .metrics import log_spectral_distance, snr_db, spectral_convergence
from .stft import (
    REPRESENTATIONS,
    SpectrogramConfig,
    from_image,
    griffin_lim,
    inverse_stft,
    magnitude_to_unit,
    stft,
    to_image,
    unit_to_magnitude,
)

__all__ = [
    "AUDIO_EXTENSIONS",
    "AudioError",
    "REPRESENTATIONS",
    "SpectrogramConfig",
    "chunk_starts",
    "crossfade_weights",
    "from_image",
    "griffin_lim",
    "inverse_stft",
    "log_spectral_distance",
    "magnitude_to_unit",
    "read_audio",
    "resample",
    "snr_db",
    "spectral_convergence",
    "stft",
    "to_image",
    "translate_wave",
    "unit_to_magnitude",
    "write_audio",
]
