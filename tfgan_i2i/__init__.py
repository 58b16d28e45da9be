"""tfgan_i2i: image-to-image translation GANs (pix2pix, cVAE-GAN, cLR-GAN, BicycleGAN, MSGAN) for Keras 3."""
import os as _os

from . import kernels as _kernels  # pure Python; records whether the user set TF_ENABLE_ONEDNN_OPTS

# oneDNN's CPU kernels: TensorFlow leaves them off on CPUs other than recent Intel ones (AMD EPYC here), where they
# make most models' steps faster but CycleGAN's and DRIT's slower (tfgan_i2i.kernels, bench/README.md). Only takes
# effect if set before TensorFlow is first imported; a TF_ENABLE_ONEDNN_OPTS already in the environment wins, and
# `tfgan-i2i train` (or tfgan_i2i.kernels.select) picks the faster setting for the model being trained.
_os.environ.setdefault(_kernels.ENV, _kernels.flag(_kernels.DEFAULT))

__version__ = "0.1.0"
