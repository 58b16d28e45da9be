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

    `fused` (default on the TensorFlow backend): each variable's m, v and w updates run as one ResourceApplyAdam
    kernel instead of about ten elementwise ops with their temporaries (issue 16: the update was 12-26 % of a
    pix2pix or BicycleGAN step). That kernel computes w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + e);
    with e = eps sqrt(1 - b2^t) this is exactly the update above (multiply its numerator and denominator by
    sqrt(1 - b2^t)). Sparse gradients and other backends take the op-by-op path.
    """

    def __init__(self, l2: float = 0.0, fused: bool = True, **kwargs):
        if kwargs.get("amsgrad"):
            raise ValueError("TorchAdam does not implement amsgrad")
        super().__init__(**kwargs)
        self.l2 = float(l2)
        self.fused = bool(fused)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        g = ops.cast(gradient, dtype)
        if self.l2:
            g = g + ops.cast(self.l2, dtype) * variable
        lr = ops.cast(learning_rate, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        b1, b2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        eps = ops.cast(self.epsilon, dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        if self.fused and _can_fuse(gradient):
            b2_power = ops.power(b2, t)
            _tf().raw_ops.ResourceApplyAdam(
                var=_handle(variable), m=_handle(m), v=_handle(v), beta1_power=ops.power(b1, t),
                beta2_power=b2_power, lr=lr, beta1=b1, beta2=b2, epsilon=eps * ops.sqrt(1 - b2_power), grad=g)
            return
        self.assign_add(m, (g - m) * (1 - b1))
        self.assign_add(v, (ops.square(g) - v) * (1 - b2))
        denom = ops.sqrt(v) / ops.sqrt(1 - ops.power(b2, t)) + eps
        self.assign_sub(variable, lr / (1 - ops.power(b1, t)) * m / denom)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2, "fused": self.fused}


def _tf():
    import tensorflow as tf

    return tf


def _can_fuse(gradient) -> bool:
    """ResourceApplyAdam applies: the TensorFlow backend and a dense gradient."""
    return keras.backend.backend() == "tensorflow" and not isinstance(gradient, _tf().IndexedSlices)


def _handle(variable):
    """The resource handle of a Keras variable (its tf.Variable's; under a strategy, the replica's own copy's)."""
    return (variable.value if isinstance(variable, keras.Variable) else variable).handle


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
