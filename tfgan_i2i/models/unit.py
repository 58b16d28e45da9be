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


def avb_kl_map(t, z=None, z_norm=None, var=None):
    """AVB's KL estimate at each latent position (B, h, w, 1) from the critic's logits t there.

    Without adaptive contrast (z_norm None) it is t itself. With adaptive contrast T saw z_norm = (z - mu) / sigma,
    and KL = t + log r(z | x) - log p(z) with r = N(mu, sigma^2) and p = N(0, I), per position:
      log r - log p = -0.5 sum_c (z_norm^2 + log sigma^2 - z^2)        (the log 2 pi terms cancel)
    """
    if z_norm is None:
        return t
    z, z_norm, var = (ops.cast(v, "float32") for v in (z, z_norm, var))
    return ops.cast(t, "float32") - 0.5 * ops.sum(ops.square(z_norm) + ops.log(var) - ops.square(z), axis=-1,
                                                  keepdims=True)


class UNIT(UnpairedGAN):
    """Unsupervised image-to-image translation through a shared latent space, with latent_regularizer kl | avb.

    E_A, E_B encode to a latent map (their last n_shared residual blocks are one set of layers; none with
    n_shared = 0, UNIT master); G_A, G_B decode (their first n_shared blocks are shared); D_A, D_B are multi-scale
    discriminators. Per step, with codes z_A ~ q(z | a), z_B ~ q(z | b), translations ab = G_B(z_A), ba = G_A(z_B)
    and cycle codes z_ab ~ q_B(z | ab), z_ba ~ q_A(z | ba):
      L_D  = lambda_gan [GAN_D(D_A; a, ba) + GAN_D(D_B; b, ab)]                       (D step first, as UNIT's trainer)
      L_EG = lambda_gan [GAN(D_A(ba)) + GAN(D_B(ab))]                                  (judged by the updated D)
             + lambda_recon (|G_A(z_A) - a|_1 + |G_B(z_B) - b|_1)
             + lambda_kl (R_A(a, z_A) + R_B(b, z_B))
             + lambda_cycle (|G_A(z_ab) - a|_1 + |G_B(z_ba) - b|_1)
             + lambda_cycle_kl (R_B(ab, z_ab) + R_A(ba, z_ba))
    kl:  z = h + eps with h = E(x), eps ~ N(0, I), and R(x, z) = mean(h^2) (UNIT's KL with unit variance).
    avb: z = E(x, eps) with eps ~ N(0, I) appended to x (an implicit posterior). Each pair (x, z) of an R term goes
         to the critic of its domain as (x, z_T) and, for the contrast, (x, n) with n ~ N(0, I); with
         t = T(x, z_T) a logit map over latent positions p and C the latent channels,
           KL_p = t_p                                         z_T = z
           KL_p = t_p + [log r(z | x) - log p(z)]_p           z_T = (z - mu) / sigma   (adaptive_contrast, avb_kl_map)
           R(x, z) = 2 mean_p KL_p / C                        (the per-element scale of mean(h^2), as 0.5 h^2 = KL)
           L_T = CE(T(x, z_T), 1) + CE(T(x, n), 0)            (sigmoid cross-entropy, summed over the R pairs)
         T(x, z) = T_net(x, z) + 0.5 sum_c z_c^2 per position with avb_prior_term (Mescheder's reference), so
         T_net learns only the residual log q + const. Adaptive contrast: mu, sigma^2 are q(z | x)'s moments per
         example and latent element (position and channel), estimated over `avb_ac_draws` further noise draws of the
         encoder on the same x (unbiased variance, + 1e-4 as the reference), without gradient.
         avb_update simultaneous (AVB's reference): after the D step, T's and E/G's gradients come from ONE forward
         graph -- the same codes z, and the same evaluations T(x, z_T) feed L_T and the R terms -- and are applied
         together, so E/G's gradient sees T's pre-step weights. critic_first: T steps first on those pairs (codes
         detached), then E/G's loss is computed with the updated T. T has its own learning rate (lr_T); with
         n_critic > 1 the simultaneous T step is skipped with E/G's.
    Adam's weight_decay (UNIT presets 1e-4; not on T) is PyTorch's coupled L2, grad += wd * w (weight_decay_mode l2),
    as the references.
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
                     init_type="normal", init_gain=0.02, prior_term=c.avb_prior_term)
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

    def _posterior_moments(self, E, x, training):
        """(mu, sigma^2 + 1e-4) of q(z | x) per example and latent element from `avb_ac_draws` noise draws; no gradient."""
        k = self.config.avb_ac_draws
        x = ops.stop_gradient(x)
        _, zs = self._encode(E, ops.concatenate([x] * k, 0), training)
        zs = ops.stack(ops.split(ops.cast(zs, "float32"), k, 0))
        mean = ops.mean(zs, 0)
        var = ops.sum(ops.square(zs - mean), 0) / (k - 1.0) + 1e-4
        return ops.stop_gradient(mean), ops.stop_gradient(var)

    def _critic_pairs(self, A, B, AB, BA, codes, training=True):
        """The R terms' pairs as {name: (T, x, z, z_T, z_norm, var)}: z_T is what T sees (z, or z normalised)."""
        pairs = {"A": (self.T_A, self.E_A, A, codes["A"]), "B": (self.T_B, self.E_B, B, codes["B"]),
                 "AB": (self.T_B, self.E_B, AB, codes["AB"]), "BA": (self.T_A, self.E_A, BA, codes["BA"])}
        out = {}
        for name, (T, E, x, z) in pairs.items():
            if self.config.adaptive_contrast:
                mean, var = self._posterior_moments(E, x, training)
                z_norm = (ops.cast(z, "float32") - mean) / ops.sqrt(var)
                out[name] = (T, x, z, z_norm, z_norm, var)
            else:
                out[name] = (T, x, z, z, None, None)
        return out

    def _avb_regularizer(self, t, z, z_norm, var):
        """R(x, z) per example from T's logits t at (x, z_T): 2 mean_p KL_p / C."""
        kl = avb_kl_map(t, z, z_norm, var)
        return 2.0 * ops.mean(kl, axis=(1, 2, 3)) / ops.cast(ops.shape(z)[-1], "float32")

    def _avb_terms(self, pairs):
        """One evaluation of T per pair at (x, z_T) and at (x, z_p ~ N(0, I)): ({name: R per example}, L_T)."""
        R, t_loss = {}, 0.0
        for name, (T, x, z, z_T, z_norm, var) in pairs.items():
            t_q = T([x, z_T], training=True)
            t_p = T([x, self.normal_like(z_T)], training=True)
            t_loss = t_loss + L.gan_d_loss("vanilla", t_q, t_p)
            R[name] = self._avb_regularizer(t_q, z, z_norm, var)
        return R, t_loss

    def _critic_loss(self, T, x, z_T):
        """AVB critic loss per example (critic_first): CE with z_T (from q(z|x)) labelled 1, n ~ N(0, I) labelled 0."""
        z_T, x = ops.stop_gradient(z_T), ops.stop_gradient(x)
        return L.gan_d_loss("vanilla", T([x, z_T], training=True), T([x, self.normal_like(z_T)], training=True))

    def encode(self, images, domain: str = "A", z=None):
        """The latent code of A or B images: the mean h (kl) or E(x, eps) with eps = z or 0 (avb); test time."""
        name = "E_A" if domain == "A" else "E_B"
        x = self.as_images(images)
        if self.avb:
            eps = ops.zeros((*ops.shape(x)[:3], self.config.avb_noise_nc)) if z is None else z
            return self.infer(name, [x, eps])
        h = self.infer(name, x)
        return h if z is None else h + z

    def a_to_b(self, images, z=None):
        """G_B(code of A): z is the latent noise (kl: added to the mean; avb: the encoder's input noise), None = 0."""
        return self.infer("G_B", self.encode(images, "A", z))

    def b_to_a(self, images, z=None):
        """G_A(code of B): z as in a_to_b."""
        return self.infer("G_A", self.encode(images, "B", z))

    def sample(self, images, k: int = 5, seed: int = 0, direction: str = "AtoB"):
        """k translations per input from k posterior draws made with `seed`: (N, k, H, W, C)."""
        images = self.as_images(images)
        E, G = ("E_A", "G_B") if direction == "AtoB" else ("E_B", "G_A")
        outs = []
        for j in range(k):
            if self.avb:
                shape = (*ops.shape(images)[:3], self.config.avb_noise_nc)
                code = self.infer(E, [images, tf.random.stateless_normal(shape, seed=[seed, j])])
            else:
                h = self.infer(E, images)
                code = h + tf.random.stateless_normal(ops.shape(h), seed=[seed, j])
            outs.append(self.infer(G, code))
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
            g = {"recon": c.lambda_recon * (L.l1_loss(rec_A, A) + L.l1_loss(rec_B, B)),
                 "cycle": c.lambda_cycle * (L.cycle_loss(ABA, A) + L.cycle_loss(BAB, B))}
            if self.avb:
                pairs = self._critic_pairs(A, B, AB, BA, {"A": z_A, "B": z_B, "AB": z_AB, "BA": z_BA})

        with tf.GradientTape() as d_tape:
            d = {"D_A": c.lambda_gan * self.d_loss(self.D_A, A, ops.stop_gradient(BA)),
                 "D_B": c.lambda_gan * self.d_loss(self.D_B, B, ops.stop_gradient(AB))}
            d_loss = self.total(d, d)
        self.apply_gradients("D", d_loss, d_tape)

        def eg_terms(R):
            """The rest of L_EG, with the updated D, from the R terms {pair: per example}."""
            g["G_GAN"] = c.lambda_gan * (self.g_gan_loss(self.D_A, BA) + self.g_gan_loss(self.D_B, AB))
            g["kl"] = c.lambda_kl * (R["A"] + R["B"])
            g["cycle_kl"] = c.lambda_cycle_kl * (R["AB"] + R["BA"])
            return self.total(g, g)

        t = {}
        if not self.avb:
            with g_tape:
                g_loss = eg_terms({"A": _mean_square(h_A), "B": _mean_square(h_B), "AB": _mean_square(h_AB),
                                   "BA": _mean_square(h_BA)})
            self.apply_gradients("G", g_loss, g_tape)
        elif c.avb_update == "critic_first":
            with tf.GradientTape() as t_tape:
                t["T"] = sum(self._critic_loss(T, x, z_T) for T, x, _, z_T, _, _ in pairs.values())
                t_loss = self.total(t, t)
            self.apply_gradients("T", t_loss, t_tape)
            with g_tape:  # judged by the updated T
                g_loss = eg_terms({name: self._avb_regularizer(T([x, z_T], training=True), z, z_norm, var)
                                   for name, (T, x, z, z_T, z_norm, var) in pairs.items()})
            self.apply_gradients("G", g_loss, g_tape)
        else:
            # simultaneous: both tapes record the same T evaluations; both gradients are taken before either step
            with g_tape, tf.GradientTape() as t_tape:
                R, t["T"] = self._avb_terms(pairs)
                g_loss = eg_terms(R)
                t_loss = self.total(t, t)
            v_G, v_T = self.group_variables("G"), self.group_variables("T")
            steps = [("G", list(zip(g_tape.gradient(g_loss, v_G), v_G))),
                     ("T", list(zip(t_tape.gradient(t_loss, v_T), v_T)))]
            self.step_optimizers(steps, self.optimizer_groups["G"] + self.optimizer_groups["T"])
        return self.record({**d, **t, **g})


__all__ = ["UNIT", "avb_kl_map"]
