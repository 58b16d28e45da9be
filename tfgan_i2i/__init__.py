"""tfgan_i2i: image-to-image translation GANs (pix2pix, cVAE-GAN, cLR-GAN, BicycleGAN, MSGAN) for Keras 3."""
__version__ = "0.1.0"
