"""pix2pix (conditional GAN + L1), with optional noise z and MSGAN's mode-seeking term."""
from __future__ import annotations

import tensorflow as tf
from keras import ops

from .. import losses as L
from .base import TranslationGAN, build_discriminator, build_generator


class Pix2Pix(TranslationGAN):
    """pix2pix (Isola et al.), "pix2pix + noise" (nz > 0) and MSGAN's pix2pix-MS (lambda_ms > 0 and nz > 0).

    pix2pix and pix2pix + noise, D then G on one code z, as in pix2pix's reference:
      L_D = 0.5 * [GAN(D(A, B), real) + GAN(D(A, G(A, z)), fake)]
      L_G = GAN(D(A, G(A, z)), real) + lambda_l1 * |G(A, z) - B|_1
    MSGAN (Mao et al.), G then D on two codes z1, z2 per input, as in MSGAN's pix2pix-MS reference:
      L_G = sum_i GAN(D(A, G(A, z_i)), real) + lambda_l1 * |G(A, z1) - B|_1 + lambda_ms * L_ms
      L_ms = 1 / (mean|G(A, z1) - G(A, z2)| / mean|z1 - z2| + 1e-5)   (lambda_ms ramped up over ms_warmup steps)
      L_D = sum_i [GAN(D(A, B), real) + GAN(D(A, G(A, z_i)), fake)]   (on the fakes drawn before G's update)
    """

    loss_names = ("D", "G_GAN", "G_L1", "G_ms")

    def build_networks(self):
        return {"G": build_generator(self.config), "D": build_discriminator(self.config)}

    def train_step(self, data):
        A, B = self.unpack(data)
        if self.config.lambda_ms > 0 and self.config.nz > 0:
            return self.record(self.mode_seeking_step(A, B))
        return self.record(self.pix2pix_step(A, B))

    def pix2pix_step(self, A, B):
        """D then G on one code (none when nz == 0); returns the per-example loss terms."""
        c = self.config
        z = self.random_z(ops.shape(A)[0]) if c.nz > 0 else None
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generate(A, z, training=True)
            d = {"D": 0.5 * self.d_loss(self.D, self.d_input(A, B), self.d_input(A, ops.stop_gradient(fake)))}
            d_loss = L.average(d["D"])
        self.apply_gradients("D", d_loss, d_tape)

        with g_tape:  # G is judged by the updated D, as in the reference's D-then-G order
            g = {"G_GAN": c.lambda_gan * self.g_gan_loss(self.D, self.d_input(A, fake)),
                 "G_L1": c.lambda_l1 * L.l1_loss(fake, B)}
            g_loss = self.total(g, g)
        self.apply_gradients("G", g_loss, g_tape)
        return {**d, **g}

    def mode_seeking_step(self, A, B):
        """G then D on two codes per input (MSGAN's order); returns the per-example loss terms."""
        c = self.config
        n = ops.shape(A)[0]
        z1, z2 = self.random_z(n), self.random_z(n)
        with tf.GradientTape() as g_tape:
            fake1, fake2 = self.generate_many(A, [z1, z2])
            g = {"G_GAN": c.lambda_gan * (self.g_gan_loss(self.D, self.d_input(A, fake1))
                                          + self.g_gan_loss(self.D, self.d_input(A, fake2))),
                 "G_L1": c.lambda_l1 * L.l1_loss(fake1, B),
                 "G_ms": self.lambda_ms_now() * L.mode_seeking_loss(fake1, fake2, z1, z2)}
            g_loss = self.total(g, g)
        self.apply_gradients("G", g_loss, g_tape)

        with tf.GradientTape() as d_tape:
            fakes = [self.d_input(A, ops.stop_gradient(f)) for f in (fake1, fake2)]
            d = {"D": self.d_loss(self.D, self.d_input(A, B), *fakes)}
            d_loss = L.average(d["D"])
        self.apply_gradients("D", d_loss, d_tape)
        return {**d, **g}
