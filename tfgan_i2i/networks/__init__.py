"""Pure architectures (no losses): generators, encoders, discriminators, and a builder from a Config."""
from .discriminators import patch_discriminator
from .encoders import conv_encoder, resnet_encoder
from .generators import resnet_generator, unet_depth, unet_generator

__all__ = ["unet_generator", "resnet_generator", "unet_depth", "resnet_encoder", "conv_encoder", "patch_discriminator"]
