"""One keras.Model per objective, and the registry that maps a model name to its class."""
from __future__ import annotations

import keras

from ..config import Config, ConfigError, preset
from .base import TranslationGAN, build_discriminator, build_encoder, build_generator
from .bicyclegan import BicycleGAN
from .cyclegan import CycleGAN
from .dcgan import ConditionalDCGAN
from .drit import DRIT
from .pix2pix import Pix2Pix
from .unit import UNIT
from .unpaired import UnpairedGAN

for _cls in (Pix2Pix, BicycleGAN, CycleGAN, UNIT, DRIT):
    keras.saving.register_keras_serializable(package="tfgan_i2i")(_cls)

# model name -> class; the preset config of each name lives in config.PRESETS
MODELS: dict[str, type[TranslationGAN]] = {
    "pix2pix": Pix2Pix,
    "pix2pix-noise": Pix2Pix,
    "msgan": Pix2Pix,
    "bicyclegan": BicycleGAN,
    "cvae-gan": BicycleGAN,
    "clr-gan": BicycleGAN,
    "cyclegan": CycleGAN,
    "unit": UNIT,
    "unit-master": UNIT,
    "avb-gtn": UNIT,
    "dcgan": ConditionalDCGAN,
    "dcgan-ms": ConditionalDCGAN,
    "drit": DRIT,
    "drit-ms": DRIT,
}


def is_unpaired(config: Config | str) -> bool:
    """Whether a model (config or registry name) trains on unaligned A and B domains."""
    name = config if isinstance(config, str) else config.model
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return getattr(MODELS[name], "unpaired", False)


def build_model(config: Config | str, **overrides) -> TranslationGAN:
    """The model of a config (or of a preset name with overrides), uncompiled."""
    if isinstance(config, str):
        config = preset(config, **overrides)
    elif overrides:
        config = config.replace(**overrides)
    if config.model not in MODELS:
        raise ConfigError(f"unknown model {config.model!r}; choose one of {', '.join(MODELS)}")
    return MODELS[config.model](config)


__all__ = ["MODELS", "build_model", "is_unpaired", "ConditionalDCGAN", "Pix2Pix", "BicycleGAN", "CycleGAN", "UNIT", "DRIT", "UnpairedGAN",
           "TranslationGAN",
           "build_generator", "build_encoder", "build_discriminator"]
