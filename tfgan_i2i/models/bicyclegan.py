"""BicycleGAN and its two halves, cVAE-GAN and cLR-GAN (Zhu et al., 2017), with optional mode seeking."""
from __future__ import annotations

import tensorflow as tf
from keras import ops

from .. import losses as L
from .base import TranslationGAN, build_discriminator, build_encoder, build_generator


def split_halves(A, B):
    """The reference's split of a batch into an 'encoded' and a 'random' half.

    Even batches split exactly; a batch of one serves both halves, and an odd batch > 1 shares its middle
    example, so any batch size trains (the reference needs an even batch).
    """
    n = ops.shape(A)[0]
    first, second = slice(0, (n + 1) // 2), slice(n // 2, n)
    return (A[first], B[first]), (A[second], B[second])


class BicycleGAN(TranslationGAN):
    """Multimodal translation with a latent code z, by objective:

    * cvae (cVAE-GAN, B -> z -> B_hat): z = mu + eps * exp(logvar / 2) with (mu, logvar) = E(B),
      L = GAN(D, G(A, z)) + lambda_l1 |G(A, z) - B|_1 + lambda_kl KL(q(z|B) || N(0, I)); trains G, E, D.
    * clr (cLR-GAN, z -> B_hat -> z_hat): z ~ N(0, I),
      L = GAN(D, G(A, z)) + lambda_latent |mu(E(G(A, z))) - z|_1; trains G, E (by the latent term), D.
    * bicycle (BicycleGAN, both): the batch is split into an encoded half (A1, B1) and a random half (B2);
      L_GE = GAN(D, G(A1, z_enc)) + GAN(D2, G(A1, z_rand)) + lambda_l1 L1 + lambda_kl KL updates G and E,
      lambda_latent |mu(E(G(A1, z_rand))) - z_rand|_1 updates G only (E frozen for it), then D on
      (B1 vs. detached G(A1, z_enc)) and D2 on (B2 vs. detached G(A1, z_rand)).
    With lambda_ms > 0 a second random code adds MSGAN's mode-seeking term on the random branch.
    """

    loss_names = ("D", "D2", "G_GAN", "G_GAN2", "G_L1", "kl", "z_L1", "G_ms")

    @property
    def uses_encoded(self):
        return self.config.objective in ("bicycle", "cvae")

    @property
    def uses_random(self):
        return self.config.objective in ("bicycle", "clr")

    def build_networks(self):
        c = self.config
        if c.nz < 1:
            raise ValueError(f"{c.model} needs a latent code: set nz >= 1 (got nz={c.nz})")
        nets = {"G": build_generator(c), "E": build_encoder(c), "D": build_discriminator(c)}
        if c.objective == "bicycle":
            nets["D2"] = build_discriminator(c, name="D2")
        return nets

    def encode(self, images):
        """(mu, logvar) of q(z | B) for a batch of B images, inference mode."""
        return self.infer("E", ops.convert_to_tensor(images, "float32"))

    def mu_frozen(self, images):
        """mu of E(images) computed with E's weights held constant: gradients reach the images, not E.

        This is the reference's backward_G_alone (the latent term updates G only) inside the single backward
        pass of L_GE. E runs in training mode, as the reference's; its state updates (batch norm) are kept.
        """
        frozen = [ops.stop_gradient(v) for v in self.E.trainable_variables]
        (mu, _), state = self.E.stateless_call(frozen, self.E.non_trainable_variables, images, training=True)
        for variable, value in zip(self.E.non_trainable_variables, state):
            variable.assign(value)
        return mu

    def train_step(self, data):
        c = self.config
        A, B = self.unpack(data)
        if c.objective == "bicycle":
            (A1, B1), (A2, B2) = split_halves(A, B)
        else:
            A1, B1, A2, B2 = A, B, A, B
        n = ops.shape(A1)[0]
        D_random = self.D2 if c.objective == "bicycle" else self.D
        with tf.GradientTape() as tape:
            zs, g = [], {}
            if self.uses_encoded:
                mu, logvar = self.E(B1, training=True)
                zs.append(mu + self.normal_like(mu) * ops.exp(0.5 * logvar))
            if self.uses_random:
                zs += [self.random_z(n) for _ in range(2 if c.lambda_ms > 0 else 1)]
            fakes = self.generate_many(A1, zs)
            if self.uses_encoded:
                fake_enc = fakes[0]
                g["G_GAN"] = c.lambda_gan * self.g_gan_loss(self.D, self.d_input(A1, fake_enc))
                g["G_L1"] = c.lambda_l1 * L.l1_loss(fake_enc, B1)
                g["kl"] = c.lambda_kl * L.kl_loss(mu, logvar)
            if self.uses_random:
                i = 1 if self.uses_encoded else 0
                fake_rand, z_rand = fakes[i], zs[i]
                g["G_GAN2"] = c.lambda_gan2 * self.g_gan_loss(D_random, self.d_input(A1, fake_rand))
                # in the hybrid the latent term must not move E (it would let G and E hide z in the image)
                mu_rand = self.mu_frozen(fake_rand) if c.objective == "bicycle" else self.E(fake_rand, training=True)[0]
                g["z_L1"] = c.lambda_latent * L.latent_l1_loss(mu_rand, z_rand)
                if c.lambda_ms > 0:
                    g["G_ms"] = self.lambda_ms_now() * L.mode_seeking_loss(fake_rand, fakes[i + 1], z_rand, zs[i + 1])
            loss_ge = self.total(g, g)
        self.apply_gradients(("G", "E"), loss_ge, tape)  # one backward pass through G for both updates

        d = {}
        with tf.GradientTape() as tape:
            if self.uses_encoded:
                d["D"] = self.d_loss(self.D, self.d_input(A1, B1), self.d_input(A1, ops.stop_gradient(fake_enc)))
            if self.uses_random:
                d["D2" if c.objective == "bicycle" else "D"] = self.d_loss(
                    D_random, self.d_input(A2, B2), self.d_input(A1, ops.stop_gradient(fake_rand)))
            loss_d = self.total(d, d)  # D and D2 share no weights: each gets the gradient of its own term
        self.apply_gradients(tuple(d), loss_d, tape)
        return self.record({**g, **d})

