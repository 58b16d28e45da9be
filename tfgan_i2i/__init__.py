"""tfgan_i2i: image-to-image translation GANs (pix2pix, cVAE-GAN, cLR-GAN, BicycleGAN, MSGAN) for Keras 3."""
import os as _os

# oneDNN's CPU kernels: TensorFlow leaves them off on CPUs other than recent Intel ones (AMD EPYC here), where they
# make a BicycleGAN step 1.2x and G inference 1.3x faster (bench/README.md). Only takes effect if set before
# TensorFlow is first imported; a TF_ENABLE_ONEDNN_OPTS already in the environment wins.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
