"""DRIT++ (Lee et al., 2018 / 2020), concat variant, and DRIT-MS with MSGAN's mode-seeking term (Mao et al., 2019).

Multimodal unpaired translation: a domain-invariant content code and a domain-specific attribute code, so one input
gives many outputs (attribute z ~ N(0, I)) and the attribute can come from a reference image of the other domain.
The objective and the order of the updates are HelenMao/MSGAN's DRIT-Mode-Seeking (on HsinYingLee/DRIT).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras import ops

from .. import losses as L
from ..networks.drit import (attribute_encoder, concat_generator, content_d_layers, content_discriminator,
                             content_encoder, domain_discriminator, shared_blocks)
from ..networks.unit import latent_dim
from ..optimizers import adam
from .base import latent_codes
from .bicyclegan import split_halves
from .unpaired import UnpairedGAN

MIN_REFERENCE = 16  # the attribute encoder halves its input 4 times before pooling


def content_gan_loss(logits):
    """E_c's content adversarial loss per example: mean over positions of BCE(sigmoid(l), 1/2).

    The content encoders are trained to make D_content unsure (probability 1/2 for either domain), not to fool it.
    """
    logits = ops.cast(logits, "float32")
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(logits), 0.5), logits=logits)
    return ops.mean(bce, axis=(1, 2, 3))


def content_kl(content):
    """DRIT's KL stand-in on a content code per example: mean over (H, W, C) of z_c^2 (z_c with its training noise)."""
    return ops.mean(ops.square(ops.cast(content, "float32")), axis=(1, 2, 3))


class DRIT(UnpairedGAN):
    """DRIT++ (drit) and DRIT-MS (drit-ms, lambda_ms > 0): content E_c_A, E_c_B (last block shared), attribute
    E_a_A, E_a_B -> (mu, logvar), generators G_A, G_B (first block shared), domain Ds D_A, D_B (cross images) and
    D_A2, D_B2 (random-attribute images), content D D_content.

    A step takes the batch as the reference's two halves: (a, b) encoded, (a2, b2) only real images for D_A2, D_B2.
    With c = E_c(x) + n (n ~ N(0, I), the reference's training noise), z^a = mu + eps exp(logvar / 2) and random
    attributes z_j ~ N(0, I) (j = 1; j = 1, 2 with mode seeking), the forward pass builds
      u = G_A(c_b, z^a_a), v = G_B(c_a, z^a_b)                         cross images
      a_self = G_A(c_a, z^a_a), b_self = G_B(c_b, z^a_b)               self-reconstructions
      a_j = G_A(c_b, z_j), b_j = G_B(c_a, z_j)                         random-attribute images
      a_cc = G_A(E_c_B(v) + n, z^a(E_a_A(u))), b_cc = G_B(E_c_A(u) + n, z^a(E_a_B(v)))   cross-cycle
    then, in the reference's order (update_D_content, update_D, update_EG):
      1. D_content, d_iter Adam steps (lr / 2.5, gradient norm clipped to 5):
           L = BCE(D_c(c_b), 1) + BCE(D_c(c_a), 0)
      2. D_A, D_B, D_A2, D_B2 (one step, disjoint weights):
           L = GAN_D(D_A; a, u) + GAN_D(D_B; b, v) + sum_j GAN_D(D_A2; a2, a_j) + GAN_D(D_B2; b2, b_j)
      3. E_c, E_a, G on L_EG (with the updated Ds):
           lambda_content [BCE(D_c(c_a), 1/2) + BCE(D_c(c_b), 1/2)] + lambda_gan [GAN(D_A(u)) + GAN(D_B(v))]
           + lambda_kl [KL(q(z^a|a)) + KL(q(z^a|b))] + lambda_kl_content [mean c_a^2 + mean c_b^2]
           + lambda_cycle (|a_cc - a| + |b_cc - b|) + lambda_recon (|a_self - a| + |b_self - b|)
      4. E_c, G (not E_a) on L_G_alone:
           lambda_gan2 sum_j [GAN(D_A2(a_j)) + GAN(D_B2(b_j))] + lambda_latent (|mu(E_a_A(a_1)) - z_1| + |mu(E_a_B(b_1)) - z_1|)
           + lambda_ms [MS(b_1, b_2; z_1, z_2) + MS(a_1, a_2; z_1, z_2)],   MS = 1 / (mean|x_1 - x_2| / mean|z_1 - z_2| + 1e-5)
    Steps 3 and 4 take their gradients at the forward pass's weights (TF's tape); G and E_c's Adam steps twice.
    The first d_iter - 1 content-D steps stand for the reference's extra batches: they use this batch's content
    codes with fresh noise (the reference spends d_iter batches per E/G step, so its epoch has d_iter times fewer
    E/G steps; the presets' epochs are scaled to match).
    """

    loss_names = ("D_A", "D_B", "D_A2", "D_B2", "D_content", "G_GAN", "G_content", "kl_attr", "kl_content",
                  "cross_cycle", "self_recon", "G_GAN2", "latent", "ms")
    optimizer_groups = {"G": ("E_c_A", "E_c_B", "G_A", "G_B"), "E_a": ("E_a_A", "E_a_B"),
                        "D": ("D_A", "D_B", "D_A2", "D_B2"), "D_content": ("D_content",)}
    generator_groups = ("G", "E_a")
    ema_targets = ("E_c_A", "E_c_B", "E_a_A", "E_a_B", "G_A", "G_B")

    def build_networks(self):
        c = self.config
        depth = dict(ngf=c.ngf, n_downsample=c.n_downsample, n_res=c.n_res, init_gain=c.init_gain)
        enc_shared, dec_shared = (shared_blocks(c.ngf, c.n_downsample, c.n_shared, "instance", "normal", c.init_gain,
                                                prefix) for prefix in ("enc_shared", "dec_shared"))
        attr = dict(nz=c.nz, nef=c.nef, init_gain=c.init_gain)
        d = dict(ndf=c.ndf, n_layers=c.d_layers_resolved, num_scales=c.num_D, norm=c.d_norm_resolved,
                 spectral_norm=c.spectral_norm, init_gain=c.init_gain)
        content_size = c.image_size >> c.n_downsample
        return {
            "E_c_A": content_encoder(c.input_nc, shared=enc_shared, name="E_c_A", **depth),
            "E_c_B": content_encoder(c.output_nc, shared=enc_shared, name="E_c_B", **depth),
            "E_a_A": attribute_encoder(c.input_nc, name="E_a_A", **attr),
            "E_a_B": attribute_encoder(c.output_nc, name="E_a_B", **attr),
            "G_A": concat_generator(c.input_nc, nz=c.nz, shared=dec_shared, name="G_A", **depth),
            "G_B": concat_generator(c.output_nc, nz=c.nz, shared=dec_shared, name="G_B", **depth),
            **{name: domain_discriminator(nc, name=name, **d)
               for name, nc in (("D_A", c.input_nc), ("D_B", c.output_nc), ("D_A2", c.input_nc),
                                ("D_B2", c.output_nc))},
            "D_content": content_discriminator(latent_dim(c.ngf, c.n_downsample), content_d_layers(content_size),
                                               c.init_gain),
        }

    def compile(self, optimizers=None, **kwargs):
        """UnpairedGAN's compile; D_content's default Adam (lr_content) clips its gradient norm to clip_norm_content."""
        c = self.config
        optimizers = dict(optimizers or {})
        if "D_content" not in optimizers:
            optimizers["D_content"] = adam(c.replace(clip_norm=c.clip_norm_content), "D_content")
        super().compile(optimizers, **kwargs)

    # --- inference -----------------------------------------------------------------
    @staticmethod
    def domains(direction: str) -> tuple[str, str]:
        """(source, target) domain letters of a direction."""
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction={direction!r} must be 'AtoB' or 'BtoA'")
        return ("A", "B") if direction == "AtoB" else ("B", "A")

    def encode_content(self, images, domain: str = "A"):
        """The content map E_c(images) of A or B images (test time: no noise)."""
        return self.infer(f"E_c_{domain}", self.as_images(images))

    def encode_attribute(self, images, domain: str = "A"):
        """(mu, logvar) of the attribute code q(z^a | images) of A or B images."""
        return self.infer(f"E_a_{domain}", self.as_images(images))

    def _generate(self, images, z, direction):
        source, target = self.domains(direction)
        images = self.as_images(images)
        z = ops.zeros((ops.shape(images)[0], self.config.nz)) if z is None else ops.convert_to_tensor(z, "float32")
        return self.infer(f"G_{target}", [self.encode_content(images, source), z])

    def a_to_b(self, images, z=None):
        """G_B(E_c_A(a), z): z (N, nz) the attribute code; None = 0, the prior's mean (deterministic)."""
        return self._generate(images, z, "AtoB")

    def b_to_a(self, images, z=None):
        """G_A(E_c_B(b), z): z as in a_to_b."""
        return self._generate(images, z, "BtoA")

    def sample(self, images, k: int = 5, seed: int = 0, direction: str = "AtoB"):
        """k translations per input from k attribute codes z ~ N(0, I) drawn with `seed`, the same k for every input
        and the same as an export's `sample`: (N, k, H, W, C)."""
        source, target = self.domains(direction)
        images = self.as_images(images)
        n = ops.shape(images)[0]
        content = self.encode_content(images, source)
        zs = latent_codes(k, self.config.nz, seed)
        return ops.stack([self.infer(f"G_{target}", [content, ops.tile(zs[j:j + 1], (n, 1))]) for j in range(k)],
                         axis=1)

    def check_reference(self, images, reference, direction: str = "AtoB"):
        """ValueError unless `reference` is a batch of 1 or len(images) target-domain images of >= 16 px."""
        _, target = self.domains(direction)
        channels = self.config.output_nc if target == "B" else self.config.input_nc
        shape, n = tuple(reference.shape), images.shape[0]
        fits = (len(shape) == 4 and shape[-1] == channels and (shape[0] is None or n is None or shape[0] in (1, n))
                and all(side is None or side >= MIN_REFERENCE for side in shape[1:3]))
        if not fits:
            raise ValueError(f"reference must be domain-{target} images of shape (1 or {n}, H, W, {channels}) with H, "
                             f"W >= {MIN_REFERENCE} (the attribute comes from the domain {direction} translates "
                             f"into); got shape {shape}")

    def transfer(self, images, reference, direction: str = "AtoB"):
        """Translate `images` with the attribute of `reference` (target-domain images, one or one per input):
        G_B(E_c_A(a), mu(E_a_B(reference))) for "AtoB", G_A(E_c_B(b), mu(E_a_A(reference))) for "BtoA"."""
        source, target = self.domains(direction)
        images, reference = self.as_images(images), self.as_images(reference)
        self.check_reference(images, reference, direction)
        mu, _ = self.encode_attribute(reference, target)
        mu = ops.broadcast_to(mu, (ops.shape(images)[0], self.config.nz))
        return self.infer(f"G_{target}", [self.encode_content(images, source), mu])

    def sample_rows(self, images_A, images_B=None, k: int = 4, seed: int = 0):
        """Rows of the training sample grid (numpy): per fixed A image [A, k samples A->B, reference B, A->B with
        the reference's attribute], then per B image the same towards A; the reference is the other domain's next
        fixed image (a different scene when the fixed images are pairs)."""
        rows = []
        for images, others, direction in ((images_A, images_B, "AtoB"), (images_B, images_A, "BtoA")):
            if images is None:
                continue
            samples = ops.convert_to_numpy(self.sample(images, k, seed, direction))
            extra = [[] for _ in images]
            if others is not None:
                refs = np.asarray(others)[(np.arange(len(images)) + 1) % len(others)]
                transferred = ops.convert_to_numpy(self.transfer(images, refs, direction))
                extra = [[r, t] for r, t in zip(refs, transferred)]
            rows += [[x, *s, *e] for x, s, e in zip(np.asarray(images), samples, extra)]
        return rows

    # --- training ------------------------------------------------------------------
    def noisy(self, h):
        """A content code as the reference trains with it: E_c's output + N(0, I)."""
        return h + self.normal_like(h)

    def attribute(self, E, x):
        """(mu, logvar, z^a = mu + eps exp(logvar / 2)) of q(z^a | x), training mode."""
        mu, logvar = E(x, training=True)
        return mu, logvar, mu + self.normal_like(mu) * ops.exp(0.5 * logvar)

    def forward(self, A, B):
        """Every image and code of one step from the encoded half (A, B), as the class doc lists them."""
        n = ops.shape(A)[0]
        f = {"A": A, "B": B, "h_a": self.E_c_A(A, training=True), "h_b": self.E_c_B(B, training=True)}
        f["c_a"], f["c_b"] = self.noisy(f["h_a"]), self.noisy(f["h_b"])
        f["mu_a"], f["logvar_a"], z_a = self.attribute(self.E_a_A, A)
        f["mu_b"], f["logvar_b"], z_b = self.attribute(self.E_a_B, B)
        f["z"] = [self.random_z(n) for _ in range(2 if self.config.lambda_ms > 0 else 1)]
        k = len(f["z"])
        # one generator call per domain on [cross, self-reconstruction, random attributes] (norms are per example)
        for G, own, other, z_own, images in ((self.G_A, "c_a", "c_b", z_a, "A"), (self.G_B, "c_b", "c_a", z_b, "B")):
            content = ops.concatenate([f[other], f[own]] + [f[other]] * k, 0)
            out = ops.split(G([content, ops.concatenate([z_own, z_own, *f["z"]], 0)], training=True), 2 + k)
            f[f"cross_{images}"], f[f"self_{images}"], f[f"random_{images}"] = out[0], out[1], out[2:]
        # the cross images' attributes (for the cross-cycle) and the first random image's mu (latent regression):
        # one attribute-encoder call per domain
        for domain, E in (("A", self.E_a_A), ("B", self.E_a_B)):
            mu, _, z = self.attribute(E, ops.concatenate([f[f"cross_{domain}"], f[f"random_{domain}"][0]], 0))
            f[f"z_cross_{domain}"], f[f"mu_random_{domain}"] = ops.split(z, 2)[0], ops.split(mu, 2)[1]
        f["cycle_A"] = self.G_A([self.noisy(self.E_c_B(f["cross_B"], training=True)), f["z_cross_A"]], training=True)
        f["cycle_B"] = self.G_B([self.noisy(self.E_c_A(f["cross_A"], training=True)), f["z_cross_B"]], training=True)
        return f

    def update_content_discriminator(self, f):
        """d_iter steps of D_content on BCE(D_c(c_b), 1) + BCE(D_c(c_a), 0): d_iter - 1 on fresh noise, the last on
        the forward pass's codes."""
        redrawn = [(self.noisy(f["h_a"]), self.noisy(f["h_b"])) for _ in range(self.config.d_iter - 1)]
        for c_a, c_b in redrawn + [(f["c_a"], f["c_b"])]:
            with tf.GradientTape() as tape:
                d = {"D_content": L.gan_d_loss("vanilla", self.D_content(ops.stop_gradient(c_b), training=True),
                                               self.D_content(ops.stop_gradient(c_a), training=True))}
                loss = self.total(d, d)
            self.apply_gradients("D_content", loss, tape)
        return d

    def update_domain_discriminators(self, A2, B2, f):
        """One step of D_A, D_B (real vs cross images) and D_A2, D_B2 (the random half vs the random-attribute images)."""
        detach = ops.stop_gradient
        with tf.GradientTape() as tape:
            d = {"D_A": self.d_loss(self.D_A, f["A"], detach(f["cross_A"])),
                 "D_B": self.d_loss(self.D_B, f["B"], detach(f["cross_B"])),
                 "D_A2": self.d_loss(self.D_A2, A2, *map(detach, f["random_A"])),
                 "D_B2": self.d_loss(self.D_B2, B2, *map(detach, f["random_B"]))}
            loss = self.total(d, d)
        self.apply_gradients("D", loss, tape)
        return d

    def eg_terms(self, f):
        """L_EG per example (step 3 of the class doc), judged by the updated discriminators."""
        c = self.config
        A, B = f["A"], f["B"]
        return {
            "G_content": c.lambda_content * (content_gan_loss(self.D_content(f["c_a"], training=True))
                                             + content_gan_loss(self.D_content(f["c_b"], training=True))),
            "G_GAN": c.lambda_gan * (self.g_gan_loss(self.D_A, f["cross_A"]) + self.g_gan_loss(self.D_B, f["cross_B"])),
            "kl_attr": c.lambda_kl * (L.kl_loss(f["mu_a"], f["logvar_a"]) + L.kl_loss(f["mu_b"], f["logvar_b"])),
            "kl_content": c.lambda_kl_content * (content_kl(f["c_a"]) + content_kl(f["c_b"])),
            "cross_cycle": c.lambda_cycle * (L.cycle_loss(f["cycle_A"], A) + L.cycle_loss(f["cycle_B"], B)),
            "self_recon": c.lambda_recon * (L.l1_loss(f["self_A"], A) + L.l1_loss(f["self_B"], B)),
        }

    def g_alone_terms(self, f):
        """L_G_alone per example (step 4 of the class doc): random-attribute GAN, latent regression, mode seeking."""
        c = self.config
        z = f["z"]
        g = {"G_GAN2": c.lambda_gan2 * sum(self.g_gan_loss(self.D_A2, x) + self.g_gan_loss(self.D_B2, y)
                                           for x, y in zip(f["random_A"], f["random_B"])),
             "latent": c.lambda_latent * (L.latent_l1_loss(f["mu_random_A"], z[0])
                                          + L.latent_l1_loss(f["mu_random_B"], z[0]))}
        if len(z) > 1:
            g["ms"] = self.lambda_ms_now() * (L.mode_seeking_loss(f["random_B"][1], f["random_B"][0], z[1], z[0])
                                              + L.mode_seeking_loss(f["random_A"][1], f["random_A"][0], z[1], z[0]))
        return g

    def lambda_ms_now(self):
        """lambda_ms ramped linearly over the first ms_warmup steps (counted by E_a's Adam: G's steps twice a step)."""
        c = self.config
        if c.ms_warmup <= 0:
            return c.lambda_ms
        return c.lambda_ms * ops.minimum(1.0, ops.cast(self.optimizers_by_name["E_a"].iterations + 1, "float32")
                                         / c.ms_warmup)

    def update_encoders_generators(self, tape, loss_eg, loss_alone):
        """update_EG: E_c, E_a, G step on L_EG, then E_c, G on L_G_alone; both gradients from the forward's graph."""
        v_g, v_e = self.group_variables("G"), self.group_variables("E_a")
        grads = tape.gradient(loss_eg, v_g + v_e)
        grads_alone = tape.gradient(loss_alone, v_g)
        nets = self.optimizer_groups["G"]
        self.step_optimizers([("G", list(zip(grads[:len(v_g)], v_g))), ("E_a", list(zip(grads[len(v_g):], v_e)))],
                             nets + self.optimizer_groups["E_a"])
        self.step_optimizers([("G", list(zip(grads_alone, v_g)))], nets)

    # Traced without AutoGraph: no Python branch here depends on a tensor (the n_critic gate is an explicit tf.cond),
    # and converting every helper of this large graph (each optimizer update among them) slows tracing markedly.
    @tf.autograph.experimental.do_not_convert
    def train_step(self, data):
        A, B = self.unpack(data)
        (A1, B1), (A2, B2) = split_halves(A, B)
        with tf.GradientTape(persistent=True) as tape:
            f = self.forward(A1, B1)
        d = {**self.update_content_discriminator(f), **self.update_domain_discriminators(A2, B2, f)}
        with tape:
            eg, alone = self.eg_terms(f), self.g_alone_terms(f)
            loss_eg, loss_alone = self.total(eg, eg), self.total(alone, alone)
        self.update_encoders_generators(tape, loss_eg, loss_alone)
        del tape
        return self.record({**d, **eg, **alone})


__all__ = ["DRIT", "content_gan_loss", "content_kl"]
