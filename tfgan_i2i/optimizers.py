"""The references' optimiser: Adam with torch.optim.Adam's update (coupled L2 weight decay, its epsilon), from a Config."""
from __future__ import annotations

import keras
from keras import ops

from .config import Config


@keras.saving.register_keras_serializable(package="tfgan_i2i")
class TorchAdam(keras.optimizers.Adam):
    """Adam with torch.optim.Adam's update rule: coupled L2 weight decay and epsilon outside the bias correction.

    Per step t with gradient g (after any clipping) and weight w:
      g <- g + l2 * w                                  (PyTorch's `weight_decay`: an L2 term, not AdamW)
      m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
      w <- w - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    Keras' Adam puts eps inside the bias-corrected step (an effective eps / sqrt(1 - b2^t), 32x larger at t = 1)
    and its `weight_decay` is decoupled (w <- w - lr * wd * w), which at the references' lr 1e-4 and wd 1e-4 does
    nothing measurable. Keras' decoupled decay stays available through `weight_decay` (Config weight_decay_mode).
    """

    def __init__(self, l2: float = 0.0, **kwargs):
        if kwargs.get("amsgrad"):
            raise ValueError("TorchAdam does not implement amsgrad")
        super().__init__(**kwargs)
        self.l2 = float(l2)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        g = ops.cast(gradient, dtype)
        if self.l2:
            g = g + ops.cast(self.l2, dtype) * variable
        lr = ops.cast(learning_rate, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        b1, b2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, (g - m) * (1 - b1))
        self.assign_add(v, (ops.square(g) - v) * (1 - b2))
        denom = ops.sqrt(v) / ops.sqrt(1 - ops.power(b2, t)) + ops.cast(self.epsilon, dtype)
        self.assign_sub(variable, lr / (1 - ops.power(b1, t)) * m / denom)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}


def adam(c: Config, name: str) -> keras.optimizers.Optimizer:
    """The Adam of optimizer (group) `name`: lr c.lr_of(name), betas, epsilon, weight decay by mode, gradient clip.

    The AVB adversary (T*) gets no weight decay: Mescheder's reference trains it without one.
    """
    wd = 0.0 if name.startswith("T") else c.weight_decay
    coupled = c.weight_decay_mode == "l2"
    return TorchAdam(l2=wd if coupled else 0.0, learning_rate=c.lr_of(name), beta_1=c.beta1, beta_2=c.beta2,
                     epsilon=c.adam_eps, weight_decay=None if coupled or not wd else wd,
                     global_clipnorm=c.clip_norm or None, name=f"adam_{name}")


__all__ = ["TorchAdam", "adam"]
