"""Class-conditional DCGAN (+ MSGAN's mode-seeking term): the categorical test bed for NDB/JSD."""
from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers, ops

from .. import losses as L
from ..config import PRESETS, Config
from ..layers import kernel_init
from .base import TranslationGAN

# MSGAN's DCGAN setting (config.PRESETS["dcgan"]): 32 px, nz 100, batch 32, vanilla GAN; num_classes in `extra`.
DCGAN_PRESET = PRESETS["dcgan"]


def dcgan_config(**overrides) -> Config:
    """The conditional DCGAN config (MSGAN's DCGAN setting) with overrides; lambda_ms > 0 turns mode seeking on."""
    values = {**DCGAN_PRESET, **overrides}
    values["extra"] = {**DCGAN_PRESET["extra"], **overrides.get("extra", {})}  # a copy: never mutate the preset
    return Config.from_dict(values)


def _num_ups(image_size: int) -> int:
    ups = int(round(math.log2(image_size / 4)))
    if image_size < 8 or 4 * 2**ups != image_size:
        raise ValueError(f"DCGAN image_size={image_size} must be 4 * a power of two (e.g. 32, 64)")
    return ups


def dcgan_generator(c: Config, num_classes: int, embed_dim: int, name: str = "G") -> keras.Model:
    """G(z, label): [z, Embedding(label)] -> Dense 4x4 -> (ConvT 4x4/2, BN, ReLU)* -> tanh image."""
    init = kernel_init(c.init_type, c.init_gain)
    ups = _num_ups(c.image_size)
    z = keras.Input((c.nz,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    h = layers.Concatenate()([z, layers.Embedding(num_classes, embed_dim, name="embed")(label)])
    width = c.ngf * 2 ** (ups - 1)
    h = layers.Dense(4 * 4 * width, use_bias=False, kernel_initializer=init)(h)
    h = layers.ReLU()(layers.BatchNormalization()(layers.Reshape((4, 4, width))(h)))
    for i in range(ups - 1):
        width //= 2
        h = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False, kernel_initializer=init)(h)
        h = layers.ReLU()(layers.BatchNormalization()(h))
    out = layers.Conv2DTranspose(c.output_nc, 4, strides=2, padding="same", kernel_initializer=init)(h)
    return keras.Model([z, label], layers.Activation("tanh", dtype="float32")(out), name=name)


def dcgan_discriminator(c: Config, num_classes: int, name: str = "D") -> keras.Model:
    """D(x, label) -> logit: the label embedded as 8 channels tiled over x, then (Conv 4x4/2, BN, LeakyReLU)*."""
    init = kernel_init(c.init_type, c.init_gain)
    ups = _num_ups(c.image_size)
    image = keras.Input((c.image_size, c.image_size, c.output_nc), name="image")
    label = keras.Input((), dtype="int32", name="label")
    code = layers.Embedding(num_classes, 8, name="embed")(label)
    h = layers.Concatenate()([image, ops.ones_like(image[..., :1]) * code[:, None, None, :]])
    width = c.ndf
    for i in range(ups):
        h = layers.Conv2D(width, 4, strides=2, padding="same", use_bias=i == 0, kernel_initializer=init)(h)
        if i > 0:
            h = layers.BatchNormalization()(h)
        h = layers.LeakyReLU(0.2)(h)
        width *= 2
    out = layers.Dense(1, kernel_initializer=init)(layers.Flatten()(h))
    return keras.Model([image, label], out, name=name)


class ConditionalDCGAN(TranslationGAN):
    """Class-conditional DCGAN; with lambda_ms > 0 it is DCGAN + mode seeking (MSGAN, Mao et al.).

    Batches are (images, labels) with images (N, H, W, output_nc) in [-1, 1] and integer labels (N,).
    D step then G step:
      L_D = BCE(D(x, y), 1) + mean_j BCE(D(G(z_j, y), y), 0)
      L_G = mean_j BCE(D(G(z_j, y), y), 1) + lambda_ms * 1 / (mean|G(z1,y) - G(z2,y)| / mean|z1 - z2| + 1e-5)
    with j over one code (lambda_ms = 0) or two codes z1, z2 per label (lambda_ms > 0).
    """

    loss_names = ("D", "G_GAN", "G_ms")

    @property
    def num_classes(self) -> int:
        """Number of class labels (config.extra['num_classes'])."""
        return int(self.config.extra.get("num_classes", 10))

    def build_networks(self):
        extra = self.config.extra
        return {"G": dcgan_generator(self.config, self.num_classes, int(extra.get("embed_dim", 50))),
                "D": dcgan_discriminator(self.config, self.num_classes)}

    @staticmethod
    def unpack(data):
        """(images, labels) from a tuple/list or a dict with keys 'image' and 'label'."""
        if isinstance(data, dict):
            return data["image"], data["label"]
        return data[0], data[1]

    def generate(self, labels, z=None, training=False):
        """G(z, label); z defaults to a draw from the model's seed stream."""
        labels = ops.cast(ops.convert_to_tensor(labels), "int32")
        if z is None:
            z = self.random_z(ops.shape(labels)[0])
        return self.G([z, labels], training=training)

    def translate(self, labels, z=None):
        """One image per class label (inference mode)."""
        return self.generate(labels, z, training=False)

    def sample(self, labels, k: int = 5, seed: int = 0):
        """k images per label from k codes drawn with `seed` (the same k codes for every label): (N, k, H, W, C)."""
        labels = ops.cast(ops.convert_to_tensor(labels), "int32")
        n = ops.shape(labels)[0]
        zs = keras.random.normal((k, self.config.nz), seed=seed)
        return ops.stack([self.generate(labels, ops.tile(zs[j:j + 1], (n, 1))) for j in range(k)], axis=1)

    def call(self, labels, training=False):
        return self.generate(labels, None, training)

    def train_step(self, data):
        c = self.config
        x, y = self.unpack(data)
        y = ops.cast(y, "int32")
        n = ops.shape(x)[0]
        two = c.lambda_ms > 0
        zs = [self.random_z(n) for _ in range(2 if two else 1)]
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fakes = [self.G([z, y], training=True) for z in zs]
            d_real = self.D([x, y], training=True)
            d = {"D": sum(L.gan_d_loss(c.gan_mode, d_real, self.D([ops.stop_gradient(f), y], training=True))
                          for f in fakes) / len(fakes)}
            d_loss = L.average(d["D"])
        self.apply_gradients("D", d_loss, d_tape)
        with g_tape:
            g = {"G_GAN": c.lambda_gan * sum(L.gan_g_loss(c.gan_mode, self.D([f, y], training=True))
                                             for f in fakes) / len(fakes)}
            if two:
                g["G_ms"] = c.lambda_ms * L.mode_seeking_loss(fakes[0], fakes[1], zs[0], zs[1])
            g_loss = self.total(g, g)
        self.apply_gradients("G", g_loss, g_tape)
        return self.record({**d, **g})


keras.saving.register_keras_serializable(package="tfgan_i2i")(ConditionalDCGAN)

__all__ = ["ConditionalDCGAN", "DCGAN_PRESET", "dcgan_config", "dcgan_generator", "dcgan_discriminator"]
