"""pix2pix (conditional GAN + L1), with optional noise z and MSGAN's mode-seeking term."""
from __future__ import annotations

import tensorflow as tf
from keras import ops

from .. import losses as L
from .base import TranslationGAN, build_discriminator, build_generator


class Pix2Pix(TranslationGAN):
    """pix2pix (Isola et al.), "pix2pix + noise" (nz > 0) and MSGAN (lambda_ms > 0).

    D step then G step, as in the reference:
      L_D = 0.5 * [GAN(D(A, B), real) + GAN(D(A, G(A, z)), fake)]
      L_G = GAN(D(A, G(A, z1)), real) + lambda_l1 * |G(A, z1) - B|_1 + lambda_ms * L_ms
    With lambda_ms > 0 two codes z1, z2 are drawn per input; both fakes are judged by D, the L1 term uses
    the first only, and L_ms = 1 / (mean|G(A,z1) - G(A,z2)| / mean|z1 - z2| + 1e-5) (Mao et al., MSGAN).
    """

    loss_names = ("D", "G_GAN", "G_L1", "G_ms")

    def build_networks(self):
        return {"G": build_generator(self.config), "D": build_discriminator(self.config)}

    def train_step(self, data):
        c = self.config
        A, B = self.unpack(data)
        n = ops.shape(A)[0]
        two = c.lambda_ms > 0 and c.nz > 0
        zs = [self.random_z(n) for _ in range(2 if two else 1)] if c.nz > 0 else [None]
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fakes = self.generate_many(A, zs)
            real = self.d_input(A, B)
            d = {"D": 0.5 * sum(self.d_loss(self.D, real, self.d_input(A, ops.stop_gradient(f))) for f in fakes)
                 / len(fakes)}
            d_loss = L.average(d["D"])
        self.apply_gradients("D", d_loss, d_tape)

        with g_tape:  # G is judged by the updated D, as in the reference's D-then-G order
            g = {
                "G_GAN": c.lambda_gan * sum(self.g_gan_loss(self.D, self.d_input(A, f)) for f in fakes) / len(fakes),
                "G_L1": c.lambda_l1 * L.l1_loss(fakes[0], B),
            }
            if two:
                g["G_ms"] = c.lambda_ms * L.mode_seeking_loss(fakes[0], fakes[1], zs[0], zs[1])
            g_loss = self.total(g, g)
        self.apply_gradients("G", g_loss, g_tape)
        return self.record({**d, **g})
