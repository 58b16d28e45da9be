"""The references' optimiser: Adam with PyTorch's semantics (coupled L2 weight decay, epsilon 1e-8), from a Config."""
from __future__ import annotations

import keras

from .config import Config


@keras.saving.register_keras_serializable(package="tfgan_i2i")
class AdamL2(keras.optimizers.Adam):
    """Adam with PyTorch's coupled weight decay: g <- g + l2 * w before the moment updates.

    PyTorch's `Adam(weight_decay=wd)` adds the L2 gradient wd * w to every gradient (after any clipping), so the decay
    is rescaled by Adam's per-weight step size. Keras' own `weight_decay` is decoupled (w <- w - lr * wd * w, AdamW),
    which at the references' lr 1e-4 and wd 1e-4 does nothing measurable.
    """

    def __init__(self, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.l2 = float(l2)

    def update_step(self, gradient, variable, learning_rate):
        if self.l2:
            gradient = gradient + keras.ops.cast(self.l2, gradient.dtype) * keras.ops.cast(variable, gradient.dtype)
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}


def adam(c: Config, name: str) -> keras.optimizers.Optimizer:
    """The Adam of optimizer (group) `name`: lr c.lr_of(name), betas, epsilon, weight decay by mode, gradient clip.

    The AVB adversary (T*) gets no weight decay: Mescheder's reference trains it without one.
    """
    wd = 0.0 if name.startswith("T") else c.weight_decay
    coupled = c.weight_decay_mode == "l2"
    return AdamL2(l2=wd if coupled else 0.0, learning_rate=c.lr_of(name), beta_1=c.beta1, beta_2=c.beta2,
                  epsilon=c.adam_eps, weight_decay=None if coupled or not wd else wd,
                  global_clipnorm=c.clip_norm or None, name=f"adam_{name}")


__all__ = ["AdamL2", "adam"]
