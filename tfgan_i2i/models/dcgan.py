"""Class-conditional DCGAN (+ MSGAN's mode-seeking term): MSGAN's DCGAN-MS, the categorical test bed for NDB/JSD."""
from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers, ops

from .. import losses as L
from ..config import PRESETS, Config
from ..layers import kernel_init
from .base import TranslationGAN, latent_codes

# MSGAN's DCGAN setting (config.PRESETS["dcgan"]): 32 px, nz 100, d = ngf = ndf = 128, batch 32, vanilla GAN,
# Adam(2e-4, 0.5, 0.999) with coupled L2 1e-4; num_classes in `extra`.
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


def torch_bias_init(fan_in: int):
    """PyTorch 0.4's default conv bias init (the reference's version): U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    fan_in = input channels x kernel area, for Conv2d and ConvTranspose2d alike. The reference's weights_init
    redraws only the conv weights, so its biases keep this draw.
    """
    bound = 1.0 / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(-bound, bound)


def torch_batch_norm(name=None):
    """BatchNorm2d as in PyTorch 0.4 (MSGAN's requirement): momentum 0.1 (Keras 0.9), eps 1e-5, gamma ~ U(0, 1), beta 0.

    PyTorch drew gamma uniformly until 1.2 and the reference's weights_init leaves batch norm alone, so this is the
    reference's init (layers.norm_layer("batch") draws gamma ~ N(1, 0.02) instead).
    """
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5,
                                     gamma_initializer=keras.initializers.RandomUniform(0.0, 1.0), name=name)


def dcgan_generator(c: Config, num_classes: int, name: str = "G") -> keras.Model:
    """G(z, label): [z, onehot(label)] as a 1x1 map -> ConvT 4x4/1 valid (4 d') -> (ConvT 4x4/2, BN, ReLU)* -> tanh.

    At 32 px with d = ngf: ConvT(nz+C -> 4d, 4, 1, 0) + BN + ReLU, ConvT(4d -> 2d, 4, 2, 1) + BN + ReLU,
    ConvT(2d -> d, 4, 2, 1) + BN + ReLU, ConvT(d -> output_nc, 4, 2, 1) + tanh; all convolutions with biases.
    """
    init = kernel_init(c.init_type, c.init_gain)
    ups = _num_ups(c.image_size)
    z = keras.Input((c.nz,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    onehot = ops.one_hot(label, num_classes)
    h = layers.Reshape((1, 1, c.nz + num_classes))(layers.Concatenate()([z, onehot]))
    width, fan_in = c.ngf * 2 ** (ups - 1), c.nz + num_classes
    h = layers.Conv2DTranspose(width, 4, strides=1, padding="valid", kernel_initializer=init,
                               bias_initializer=torch_bias_init(fan_in * 16), name="deconv1")(h)
    h = layers.ReLU()(torch_batch_norm("deconv1_bn")(h))
    for i in range(ups - 1):
        fan_in, width = width, width // 2
        h = layers.Conv2DTranspose(width, 4, strides=2, padding="same", kernel_initializer=init,
                                   bias_initializer=torch_bias_init(fan_in * 16), name=f"deconv{i + 2}")(h)
        h = layers.ReLU()(torch_batch_norm(f"deconv{i + 2}_bn")(h))
    out = layers.Conv2DTranspose(c.output_nc, 4, strides=2, padding="same", kernel_initializer=init,
                                 bias_initializer=torch_bias_init(width * 16), name=f"deconv{ups + 1}")(h)
    return keras.Model([z, label], layers.Activation("tanh", dtype="float32")(out), name=name)


def dcgan_discriminator(c: Config, num_classes: int, name: str = "D") -> keras.Model:
    """D(x, label) -> logit (N, 1): onehot(label) tiled over x, Conv 4x4/2 + LReLU, (Conv 4x4/2, BN, LReLU)*, Conv 4x4/1 valid.

    At 32 px with d = ndf: Conv(output_nc+C -> d, 4, 2, 1) + LReLU(0.2), Conv(d -> 2d) + BN + LReLU,
    Conv(2d -> 4d) + BN + LReLU, Conv(4d -> 1, 4, 1, 0); all with biases. The reference ends in a sigmoid and BCELoss;
    this returns the logit and the losses use the equivalent with-logits BCE.
    """
    init = kernel_init(c.init_type, c.init_gain)
    ups = _num_ups(c.image_size)
    image = keras.Input((c.image_size, c.image_size, c.output_nc), name="image")
    label = keras.Input((), dtype="int32", name="label")
    onehot = ops.one_hot(label, num_classes)
    h = layers.Concatenate()([image, ops.ones_like(image[..., :1]) * onehot[:, None, None, :]])
    width, fan_in = c.ndf, c.output_nc + num_classes
    for i in range(ups):
        h = layers.Conv2D(width, 4, strides=2, padding="same", kernel_initializer=init,
                          bias_initializer=torch_bias_init(fan_in * 16), name=f"conv{i + 1}")(h)
        if i > 0:
            h = torch_batch_norm(f"conv{i + 1}_bn")(h)
        h = layers.LeakyReLU(0.2)(h)
        fan_in, width = width, width * 2
    out = layers.Conv2D(1, 4, strides=1, padding="valid", kernel_initializer=init,
                        bias_initializer=torch_bias_init(fan_in * 16), name=f"conv{ups + 1}")(h)
    return keras.Model([image, label], layers.Flatten(dtype="float32")(out), name=name)


def mode_seeking_batch(fake1, fake2, z1, z2, eps: float = 1e-5):
    """MSGAN's DCGAN-MS term, one scalar per batch: 1 / (mean|fake2 - fake1| / mean|z2 - z1| + eps).

    Both means run over the whole (local) batch, as in the reference, unlike the per-example
    losses.mode_seeking_loss.
    """
    image_dist = ops.mean(ops.abs(ops.cast(fake2, "float32") - ops.cast(fake1, "float32")))
    z_dist = ops.mean(ops.abs(ops.cast(z2, "float32") - ops.cast(z1, "float32")))
    return 1.0 / (image_dist / z_dist + eps)


class ConditionalDCGAN(TranslationGAN):
    """Class-conditional DCGAN; with lambda_ms > 0 it is MSGAN's DCGAN-MS (Mao et al. 2019, HelenMao/MSGAN).

    Batches are (images, labels) with images (N, H, W, output_nc) in [-1, 1] and integer labels (N,). Per step,
    two codes z1, z2 ~ N(0, I) per example; one G call on the 2N batch [z1; z2] (batch-norm statistics over both
    halves) gives x1 = G(z1, y), x2 = G(z2, y). Then a D step, then a G step with the updated D and the same fakes:
      L_D = sum_{j=1,2} [BCE(D(x, y), 1) + BCE(D(sg(x_j), y), 0)]     (D(x, y) computed once, so it counts twice)
      L_G = sum_{j=1,2} BCE(D(x_j, y), 1) + lambda_ms * 1 / (mean|x2 - x1| / mean|z2 - z1| + 1e-5)
    BCE terms are batch means (the with-logits form of the reference's sigmoid + BCELoss); the mode-seeking means run
    over the whole batch. The plain "dcgan" preset (lambda_ms = 0) is this same step without the last term: the
    reference ships no separate baseline script, so the baseline is DCGAN-MS minus the mode-seeking term (two fakes).
    Logs: D = L_D, G_GAN = the summed G term, G_ms = the weighted mode-seeking term (only when lambda_ms > 0).
    Under a distribution strategy the mode-seeking ratio is per replica and its replicas' values are averaged.
    """

    loss_names = ("D", "G_GAN", "G_ms")

    @property
    def num_classes(self) -> int:
        """Number of class labels (config.extra['num_classes'])."""
        return int(self.config.extra.get("num_classes", 10))

    def build_networks(self):
        return {"G": dcgan_generator(self.config, self.num_classes),
                "D": dcgan_discriminator(self.config, self.num_classes)}

    @staticmethod
    def unpack(data):
        """(images, labels) from a tuple/list or a dict with keys 'image' and 'label'."""
        if isinstance(data, dict):
            return data["image"], data["label"]
        return data[0], data[1]

    def generate(self, labels, z=None, training=False):
        """G(z, label); z defaults to a draw from the model's seed stream; training=False is test time (`infer`)."""
        labels = ops.cast(ops.convert_to_tensor(labels), "int32")
        if z is None:
            z = self.random_z(ops.shape(labels)[0])
        return self.G([z, labels], training=True) if training else self.infer("G", [z, labels])

    def translate(self, labels, z=None):
        """One image per class label at test time (EMA weights if any, config.test_mode)."""
        return self.generate(labels, z, training=False)

    def sample(self, labels, k: int = 5, seed: int = 0):
        """k images per label from k codes drawn with `seed` (the same k codes for every label): (N, k, H, W, C)."""
        labels = ops.cast(ops.convert_to_tensor(labels), "int32")
        n = ops.shape(labels)[0]
        zs = latent_codes(k, self.config.nz, seed)
        return ops.stack([self.generate(labels, ops.tile(zs[j:j + 1], (n, 1))) for j in range(k)], axis=1)

    def call(self, labels, training=False):
        return self.generate(labels, None, training)

    def _d_on(self, labels):
        """D(., labels) as a one-input callable, for TranslationGAN.d_loss."""
        return lambda images, training=True: self.D([images, labels], training=training)

    def train_step(self, data):
        c = self.config
        x, y = self.unpack(data)
        y = ops.cast(y, "int32")
        n = ops.shape(x)[0]
        z1, z2 = self.random_z(n), self.random_z(n)
        with tf.GradientTape() as g_tape:
            fakes = self.G([ops.concatenate([z1, z2], 0), ops.concatenate([y, y], 0)], training=True)
            fake1, fake2 = fakes[:n], fakes[n:]
        with tf.GradientTape() as d_tape:
            d = {"D": self.d_loss(self._d_on(y), ops.cast(x, fakes.dtype),
                                  ops.stop_gradient(fake1), ops.stop_gradient(fake2))}
            d_loss = L.average(d["D"])
        self.apply_gradients("D", d_loss, d_tape)
        with g_tape:
            g = {"G_GAN": c.lambda_gan * (self.g_gan_loss(self._d_on(y), fake1)
                                          + self.g_gan_loss(self._d_on(y), fake2))}
            g_loss = self.total(g, g)
            if c.lambda_ms > 0:
                g["G_ms"] = self.lambda_ms_now() * mode_seeking_batch(fake1, fake2, z1, z2)
                g_loss = g_loss + g["G_ms"] / tf.distribute.get_strategy().num_replicas_in_sync
        self.apply_gradients("G", g_loss, g_tape)
        return self.record({**d, **g})


keras.saving.register_keras_serializable(package="tfgan_i2i")(ConditionalDCGAN)

__all__ = ["ConditionalDCGAN", "DCGAN_PRESET", "dcgan_config", "dcgan_generator", "dcgan_discriminator",
           "mode_seeking_batch", "torch_batch_norm", "torch_bias_init"]
