"""Shared base of the unpaired translation GANs (CycleGAN, UNIT, AVB-GTN): two domains, grouped optimizers."""
from __future__ import annotations

import keras
from keras import ops

from ..optimizers import adam
from .base import TranslationGAN


class UnpairedGAN(TranslationGAN):
    """An A <-> B translation GAN trained on unaligned batches (A, B) with `fit`.

    Subclasses set `optimizer_groups` {optimizer name: network names}: one Adam per group updates the union of its
    networks' variables (shared layers once), e.g. CycleGAN's one Adam for both generators and one for both
    discriminators. They implement `a_to_b(images, z=None)` and `b_to_a(images, z=None)`.
    """

    unpaired = True
    optimizer_groups: dict[str, tuple[str, ...]] = {}
    generator_groups = ("G",)

    def compile(self, optimizers: dict[str, keras.optimizers.Optimizer] | None = None, **kwargs):
        """Attach one optimizer per group (default: `adam(config)`) and build them."""
        keras.Model.compile(self, optimizer=None, **kwargs)
        self.check_strategy()
        c = self.config
        optimizers = dict(optimizers or {})
        for group in self.optimizer_groups:
            if group not in optimizers:
                optimizers[group] = adam(c, group)
            optimizers[group].build(self.group_variables(group))
        self.optimizers_by_name = optimizers

    def group_variables(self, group: str) -> list:
        """The trainable variables of an optimizer group, each once (shared layers appear in several networks)."""
        seen, out = set(), []
        for name in self.optimizer_groups[group]:
            for v in self.nets[name].trainable_variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    def apply_gradients(self, group, loss, tape):
        """One optimizer step of group `group` on `loss` (its grads taken from `tape`); see `step_optimizers`."""
        variables = self.group_variables(group)
        self.step_optimizers([(group, list(zip(tape.gradient(loss, variables), variables)))],
                             self.optimizer_groups[group])

    # --- inference -----------------------------------------------------------------
    def a_to_b(self, images, z=None):
        """Translate A images in [-1, 1] to domain B (inference mode)."""
        raise NotImplementedError

    def b_to_a(self, images, z=None):
        """Translate B images in [-1, 1] to domain A (inference mode)."""
        raise NotImplementedError

    def translate(self, images, z=None, direction: str = "AtoB"):
        """a_to_b or b_to_a by `direction` ("AtoB" | "BtoA")."""
        if direction not in ("AtoB", "BtoA"):
            raise ValueError(f"direction={direction!r} must be 'AtoB' or 'BtoA'")
        return self.a_to_b(images, z) if direction == "AtoB" else self.b_to_a(images, z)

    def cycle(self, images, direction: str = "AtoB"):
        """(translation, reconstruction): A -> B -> A for "AtoB", B -> A -> B for "BtoA" (deterministic codes)."""
        there = self.translate(images, direction=direction)
        back = self.translate(there, direction="BtoA" if direction == "AtoB" else "AtoB")
        return there, back

    def cycle_rows(self, images_A, images_B=None):
        """Rows for a sample grid: [A, A->B, A->B->A] per A image, then [B, B->A, B->A->B] per B image (numpy)."""
        rows = []
        for images, direction in ((images_A, "AtoB"), (images_B, "BtoA")):
            if images is None:
                continue
            there, back = (ops.convert_to_numpy(t) for t in self.cycle(self.as_images(images), direction))
            rows += [[x, y, z] for x, y, z in zip(ops.convert_to_numpy(images), there, back)]
        return rows

    def call(self, images, training=False):
        return self.a_to_b(images)

    @staticmethod
    def unpack(data):
        """(A, B) from a batch given as a tuple/list or a dict with keys 'A' and 'B'."""
        if isinstance(data, dict):
            return data["A"], data["B"]
        return data[0], data[1]

    @staticmethod
    def as_images(images):
        """images as a float32 tensor."""
        return ops.convert_to_tensor(images, "float32")


__all__ = ["UnpairedGAN"]
