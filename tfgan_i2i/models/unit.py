"""UNIT (Liu et al., 2017) and AVB-GTN: a shared latent space between two domains, KL or AVB regularised."""
from __future__ import annotations

import tensorflow as tf
from keras import ops

from .. import losses as L
from ..config import ConfigError
from ..networks.avb import avb_critic
from ..networks.unit import latent_dim, ms_discriminator, shared_blocks, unit_decoder, unit_encoder
from .unpaired import UnpairedGAN


def _mean_square(h):
    """UNIT's KL stand-in per example: mean over (H, W, C) of h^2 (unit-variance posterior around mean h)."""
    return ops.mean(ops.square(h), axis=(1, 2, 3))


class UNIT(UnpairedGAN):
    """Unsupervised image-to-image translation through a shared latent space, with latent_regularizer kl | avb.

    E_A, E_B encode to a latent map (their last n_shared residual blocks are one set of layers); G_A, G_B decode
    (their first n_shared blocks are shared); D_A, D_B are multi-scale discriminators. Per step, with codes
    z_A ~ q(z | a), z_B ~ q(z | b), translations ab = G_B(z_A), ba = G_A(z_B) and cycle codes
    z_ab ~ q_B(z | ab), z_ba ~ q_A(z | ba):
      L_D  = lambda_gan [GAN_D(D_A; a, ba) + GAN_D(D_B; b, ab)]                       (D step first, as UNIT's trainer)
      L_EG = lambda_gan [GAN(D_A(ba)) + GAN(D_B(ab))]
             + lambda_recon (|G_A(z_A) - a|_1 + |G_B(z_B) - b|_1)
             + lambda_kl (R_A(a, z_A) + R_B(b, z_B))
             + lambda_cycle (|G_A(z_ab) - a|_1 + |G_B(z_ba) - b|_1)
             + lambda_cycle_kl (R_B(ab, z_ab) + R_A(ba, z_ba))
    kl:  z = h + eps with h = E(x), eps ~ N(0, I), and R(x, z) = mean(h^2) (UNIT's KL with unit variance).
    avb: z = E(x, eps) with eps ~ N(0, I) appended to x (an implicit posterior), and R(x, z) = 2 mean_p T(x, z)_p / C,
         T's estimate of log q(z|x) - log p(z) brought to the per-element scale of mean(h^2) (C = latent channels).
         The critics T_A, T_B are updated before the E/G step with sigmoid cross-entropy (AVB):
         L_T = CE(T(x, z_q), 1) + CE(T(x, z_p), 0), z_p ~ N(0, I), on the pairs each R term uses (codes detached).
    Adam's weight_decay (UNIT preset 1e-4) is Keras' decoupled decay, not PyTorch Adam's L2 term.
    """

    loss_names = ("D_A", "D_B", "G_GAN", "recon", "kl", "cycle", "cycle_kl", "T")
    ema_targets = ("E_A", "E_B", "G_A", "G_B")

    @property
    def optimizer_groups(self):
        """One Adam for all encoders/decoders (shared blocks once), one for both D, one for both T (avb)."""
        groups = {"G": ("E_A", "E_B", "G_A", "G_B"), "D": ("D_A", "D_B")}
        return {**groups, "T": ("T_A", "T_B")} if self.avb else groups

    @property
    def avb(self) -> bool:
        """Whether the latent regulariser is the AVB critic (AVB-GTN) rather than UNIT's KL."""
        return self.config.latent_regularizer == "avb"

    def build_networks(self):
        c = self.config
        if c.image_size >> c.n_downsample < 4:
            raise ConfigError(f"option n_downsample={c.n_downsample} is too deep for image_size={c.image_size}")
        avb = c.latent_regularizer == "avb"
        g = dict(ngf=c.ngf, n_downsample=c.n_downsample, n_res=c.n_res, norm=c.norm, init_type=c.init_type,
                 init_gain=c.init_gain)
        enc_shared = shared_blocks(c.ngf, c.n_downsample, c.n_shared, c.norm, c.init_type, c.init_gain, "enc_shared")
        dec_shared = shared_blocks(c.ngf, c.n_downsample, c.n_shared, c.norm, c.init_type, c.init_gain, "dec_shared")
        noise = c.avb_noise_nc if avb else 0
        # D follows UNIT's gaussian(0, 0.02) init whatever the generators use
        d = dict(ndf=c.ndf, n_layers=c.d_layers_resolved, num_scales=c.num_D, norm=c.d_norm_resolved,
                 spectral_norm=c.spectral_norm, init_type="normal", init_gain=0.02)
        nets = {
            "E_A": unit_encoder(c.input_nc, shared=enc_shared, noise_nc=noise, name="E_A", **g),
            "E_B": unit_encoder(c.output_nc, shared=enc_shared, noise_nc=noise, name="E_B", **g),
            "G_A": unit_decoder(c.input_nc, shared=dec_shared, name="G_A", **g),
            "G_B": unit_decoder(c.output_nc, shared=dec_shared, name="G_B", **g),
            "D_A": ms_discriminator(c.input_nc, name="D_A", **d),
            "D_B": ms_discriminator(c.output_nc, name="D_B", **d),
        }
        if avb:
            t = dict(z_nc=latent_dim(c.ngf, c.n_downsample), n_downsample=c.n_downsample, ntf=c.ntf,
                     init_type="normal", init_gain=0.02)
            nets["T_A"] = avb_critic(c.input_nc, name="T_A", **t)
            nets["T_B"] = avb_critic(c.output_nc, name="T_B", **t)
        return nets

    # --- latent codes --------------------------------------------------------------
    def _encode(self, E, x, training, noise=True, eps=None):
        """(h, z): the encoder output and the sampled code. kl: z = h + N(0, I); avb: z = h = E(x, eps)."""
        if self.avb:
            if eps is None:
                shape = (*ops.shape(x)[:3], self.config.avb_noise_nc)
                eps = self.normal_like(ops.zeros(shape)) if noise else ops.zeros(shape)
            h = E([x, eps], training=training)
            return h, h
        h = E(x, training=training)
        return h, (h + self.normal_like(h) if noise else h)

    def _regularizer(self, T, x, h, z):
        """R(x, z) per example: mean(h^2) (kl) or 2 mean_p T(x, z) / C (avb)."""
        if not self.avb:
            return _mean_square(h)
        return 2.0 * ops.mean(T([x, z], training=True), axis=(1, 2, 3)) / ops.cast(ops.shape(z)[-1], "float32")

    def _critic_loss(self, T, x, z):
        """AVB critic loss per example: sigmoid CE with z ~ q(z|x) labelled 1 and z ~ N(0, I) labelled 0."""
        z = ops.stop_gradient(z)
        x = ops.stop_gradient(x)
        prior = self.normal_like(z)
        return L.gan_d_loss("vanilla", T([x, z], training=True), T([x, prior], training=True))

    def encode(self, images, domain: str = "A", z=None):
        """The latent code of A or B images: the mean h (kl) or E(x, eps) with eps = z or 0 (avb); inference mode."""
        E = self.E_A if domain == "A" else self.E_B
        h, _ = self._encode(E, self.as_images(images), training=False, noise=False, eps=z if self.avb else None)
        return h if (self.avb or z is None) else h + z

    def a_to_b(self, images, z=None):
        """G_B(code of A): z is the latent noise (kl: added to the mean; avb: the encoder's input noise), None = 0."""
        return self.G_B(self.encode(images, "A", z), training=False)

    def b_to_a(self, images, z=None):
        """G_A(code of B): z as in a_to_b."""
        return self.G_A(self.encode(images, "B", z), training=False)

    def sample(self, images, k: int = 5, seed: int = 0, direction: str = "AtoB"):
        """k translations per input from k posterior draws made with `seed`: (N, k, H, W, C)."""
        images = self.as_images(images)
        E, G = (self.E_A, self.G_B) if direction == "AtoB" else (self.E_B, self.G_A)
        outs = []
        for j in range(k):
            if self.avb:
                shape = (*ops.shape(images)[:3], self.config.avb_noise_nc)
                code = E([images, tf.random.stateless_normal(shape, seed=[seed, j])], training=False)
            else:
                h = E(images, training=False)
                code = h + tf.random.stateless_normal(ops.shape(h), seed=[seed, j])
            outs.append(G(code, training=False))
        return ops.stack(outs, axis=1)

    # --- training ------------------------------------------------------------------
    def train_step(self, data):
        c = self.config
        A, B = self.unpack(data)
        with tf.GradientTape() as g_tape:
            h_A, z_A = self._encode(self.E_A, A, True)
            h_B, z_B = self._encode(self.E_B, B, True)
            # one decoder call per domain on [own code, other domain's code] (norms are per example)
            rec_A, BA = ops.split(self.G_A(ops.concatenate([z_A, z_B], 0), training=True), 2)
            rec_B, AB = ops.split(self.G_B(ops.concatenate([z_B, z_A], 0), training=True), 2)
            h_BA, z_BA = self._encode(self.E_A, BA, True)   # B's content, re-encoded from its A version
            h_AB, z_AB = self._encode(self.E_B, AB, True)
            ABA = self.G_A(z_AB, training=True)
            BAB = self.G_B(z_BA, training=True)

        with tf.GradientTape() as d_tape:
            d = {"D_A": c.lambda_gan * self.d_loss(self.D_A, A, ops.stop_gradient(BA)),
                 "D_B": c.lambda_gan * self.d_loss(self.D_B, B, ops.stop_gradient(AB))}
            d_loss = self.total(d, d)
        self.apply_gradients("D", d_loss, d_tape)
        t = {}
        if self.avb:
            with tf.GradientTape() as t_tape:
                t["T"] = (self._critic_loss(self.T_A, A, z_A) + self._critic_loss(self.T_B, B, z_B)
                          + self._critic_loss(self.T_A, BA, z_BA) + self._critic_loss(self.T_B, AB, z_AB))
                t_loss = self.total(t, t)
            self.apply_gradients("T", t_loss, t_tape)

        T_A, T_B = (self.T_A, self.T_B) if self.avb else (None, None)
        with g_tape:  # judged by the updated D (and T)
            g = {
                "G_GAN": c.lambda_gan * (self.g_gan_loss(self.D_A, BA) + self.g_gan_loss(self.D_B, AB)),
                "recon": c.lambda_recon * (L.l1_loss(rec_A, A) + L.l1_loss(rec_B, B)),
                "kl": c.lambda_kl * (self._regularizer(T_A, A, h_A, z_A) + self._regularizer(T_B, B, h_B, z_B)),
                "cycle": c.lambda_cycle * (L.cycle_loss(ABA, A) + L.cycle_loss(BAB, B)),
                "cycle_kl": c.lambda_cycle_kl * (self._regularizer(T_B, AB, h_AB, z_AB)
                                                 + self._regularizer(T_A, BA, h_BA, z_BA)),
            }
            g_loss = self.total(g, g)
        self.apply_gradients("G", g_loss, g_tape)
        return self.record({**d, **t, **g})


__all__ = ["UNIT"]
