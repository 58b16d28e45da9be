"""CycleGAN (Zhu et al., 2017): two ResNet generators, two PatchGANs, cycle and identity losses, image history."""
from __future__ import annotations

import tensorflow as tf
from keras import ops

from .. import losses as L
from ..networks import patch_discriminator, resnet_generator
from .base import latent_codes
from .image_pool import ImagePool
from .unpaired import UnpairedGAN


class CycleGAN(UnpairedGAN):
    """Unpaired A <-> B translation with G_AB: A -> B, G_BA: B -> A, D_A judging A and D_B judging B.

    G step first (D fixed), as in the reference, with lambda = lambda_cycle and lambda_idt = lambda_identity:
      L_G = GAN(D_B(G_AB(a))) + GAN(D_A(G_BA(b)))
            + lambda |G_BA(G_AB(a)) - a|_1 + lambda |G_AB(G_BA(b)) - b|_1
            + lambda_idt lambda (|G_AB(b) - b|_1 + |G_BA(a) - a|_1)
    then each D on real images vs. fakes drawn from its 50-image history (pool):
      L_D_B = 0.5 [GAN(D_B(b), real) + GAN(D_B(pool_B(G_AB(a))), fake)], L_D_A likewise.
    With nz > 0 (the stochastic variant) every generator call gets a fresh z ~ N(0, I); lambda_ms > 0 then adds
    MSGAN's mode-seeking term for a second code in each direction, weighted by lambda_ms ramped over ms_warmup
    steps (`lambda_ms_now`). The identity term needs input_nc == output_nc. Test-time calls (a_to_b, b_to_a,
    sample) go through `infer`: EMA weights when config.ema_decay > 0, dropout as config.test_mode says.
    """

    loss_names = ("D_A", "D_B", "G_AB", "G_BA", "cycle_A", "cycle_B", "idt_A", "idt_B", "ms")
    optimizer_groups = {"G": ("G_AB", "G_BA"), "D": ("D_A", "D_B")}
    ema_targets = ("G_AB", "G_BA")

    def build_networks(self):
        c = self.config
        common = dict(nz=c.nz, ngf=c.ngf, n_blocks=c.g_blocks_resolved, norm=c.norm, use_dropout=c.use_dropout,
                      where_add=c.where_add, init_type=c.init_type, init_gain=c.init_gain)
        d_common = dict(ndf=c.ndf, n_layers=c.d_layers_resolved, num_D=c.num_D, norm=c.d_norm_resolved,
                        spectral_norm=c.spectral_norm, init_type=c.init_type, init_gain=c.init_gain)
        self.pool_A = ImagePool(c.pool_size, (c.image_size, c.image_size, c.input_nc), seed=c.seed + 1, name="pool_A")
        self.pool_B = ImagePool(c.pool_size, (c.image_size, c.image_size, c.output_nc), seed=c.seed + 2, name="pool_B")
        return {
            "G_AB": resnet_generator(c.input_nc, c.output_nc, name="G_AB", **common),
            "G_BA": resnet_generator(c.output_nc, c.input_nc, name="G_BA", **common),
            "D_A": patch_discriminator(c.input_nc, name="D_A", **d_common),
            "D_B": patch_discriminator(c.output_nc, name="D_B", **d_common),
        }

    # --- generators ----------------------------------------------------------------
    def _run(self, name, images, z=None, training=False):
        """Generator `name` on images (and z: a fresh draw when None and nz > 0); training=False is test time."""
        inputs = images
        if self.config.nz > 0:
            z = self.random_z(ops.shape(images)[0]) if z is None else ops.convert_to_tensor(z, "float32")
            inputs = [images, z]
        return self.nets[name](inputs, training=True) if training else self.infer(name, inputs)

    def a_to_b(self, images, z=None):
        """G_AB(A[, z]) at test time (EMA weights, config.test_mode); with nz > 0 and z None a random code is drawn."""
        return self._run("G_AB", self.as_images(images), z)

    def b_to_a(self, images, z=None):
        """G_BA(B[, z]) at test time (EMA weights, config.test_mode); with nz > 0 and z None a random code is drawn."""
        return self._run("G_BA", self.as_images(images), z)

    def sample(self, images, k: int = 5, seed: int = 0, direction: str = "AtoB"):
        """k translations per input (A -> B, or B -> A), (N, k, H, W, C); k identical ones when nz == 0."""
        images = self.as_images(images)
        if self.config.nz == 0:
            return ops.repeat(self.translate(images, direction=direction)[:, None], k, axis=1)
        n = ops.shape(images)[0]
        zs = latent_codes(k, self.config.nz, seed)
        return ops.stack([self.translate(images, ops.tile(zs[j:j + 1], (n, 1)), direction) for j in range(k)],
                         axis=1)

    # --- training ------------------------------------------------------------------
    def generator_losses(self, A, B, training=True):
        """(per-example G terms, fake_A, fake_B) of the G step (see the class doc), with D as it is."""
        c = self.config
        lam, lam_idt = c.lambda_cycle, c.lambda_identity * c.lambda_cycle
        fake_B = self._run("G_AB", A, training=training)
        fake_A = self._run("G_BA", B, training=training)
        g = {
            "G_AB": c.lambda_gan * L.gan_g_loss(c.gan_mode, self.D_B(fake_B, training=training)),
            "G_BA": c.lambda_gan * L.gan_g_loss(c.gan_mode, self.D_A(fake_A, training=training)),
            "cycle_A": lam * L.cycle_loss(self._run("G_BA", fake_B, training=training), A),
            "cycle_B": lam * L.cycle_loss(self._run("G_AB", fake_A, training=training), B),
        }
        if lam_idt > 0 and c.input_nc == c.output_nc:
            g["idt_A"] = lam_idt * L.identity_loss(self._run("G_BA", A, training=training), A)
            g["idt_B"] = lam_idt * L.identity_loss(self._run("G_AB", B, training=training), B)
        if c.nz > 0 and c.lambda_ms > 0:
            n = ops.shape(A)[0]
            z1, z2, z3, z4 = (self.random_z(n) for _ in range(4))
            run = lambda name, x, z: self._run(name, x, z, training)  # noqa: E731
            g["ms"] = self.lambda_ms_now() * (
                L.mode_seeking_loss(run("G_AB", A, z1), run("G_AB", A, z2), z1, z2)
                + L.mode_seeking_loss(run("G_BA", B, z3), run("G_BA", B, z4), z3, z4))
        return g, fake_A, fake_B

    def train_step(self, data):
        A, B = self.unpack(data)
        with tf.GradientTape() as tape:
            g, fake_A, fake_B = self.generator_losses(A, B)
            g_loss = self.total(g, g)
        self.apply_gradients("G", g_loss, tape)

        pooled_B, pooled_A = self.pool_B.query(fake_B), self.pool_A.query(fake_A)
        with tf.GradientTape() as tape:
            d = {"D_B": 0.5 * self.d_loss(self.D_B, B, pooled_B), "D_A": 0.5 * self.d_loss(self.D_A, A, pooled_A)}
            d_loss = self.total(d, d)
        self.apply_gradients("D", d_loss, tape)
        return self.record({**g, **d})


__all__ = ["CycleGAN"]
