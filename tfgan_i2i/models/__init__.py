"""One keras.Model per objective, and the registry that maps a model name to its class."""
from __future__ import annotations

import keras

from ..config import Config, ConfigError, preset
from .base import TranslationGAN, build_discriminator, build_encoder, build_generator
from .bicyclegan import BicycleGAN
from .pix2pix import Pix2Pix

for _cls in (Pix2Pix, BicycleGAN):
    keras.saving.register_keras_serializable(package="tfgan_i2i")(_cls)

# model name -> class; the preset config of each name lives in config.PRESETS
MODELS: dict[str, type[TranslationGAN]] = {
    "pix2pix": Pix2Pix,
    "pix2pix-noise": Pix2Pix,
    "msgan": Pix2Pix,
    "bicyclegan": BicycleGAN,
    "cvae-gan": BicycleGAN,
    "clr-gan": BicycleGAN,
}


def build_model(config: Config | str, **overrides) -> TranslationGAN:
    """The model of a config (or of a preset name with overrides), uncompiled."""
    if isinstance(config, str):
        config = preset(config, **overrides)
    elif overrides:
        config = config.replace(**overrides)
    if config.model not in MODELS:
        raise ConfigError(f"unknown model {config.model!r}; choose one of {', '.join(MODELS)}")
    return MODELS[config.model](config)


__all__ = ["MODELS", "build_model", "Pix2Pix", "BicycleGAN", "TranslationGAN",
           "build_generator", "build_encoder", "build_discriminator"]
