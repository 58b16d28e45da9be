"""Loss terms for the translation GANs, as pure functions of tensors.

Contract shared by every loss here: it returns a PER-EXAMPLE vector of shape (batch,), so that a
``train_step`` can average it over the *global* batch with :func:`average` (``tf.nn.compute_average_loss``)
and get the right gradient scale under any ``tf.distribute`` strategy. Non-batch axes are averaged unless the
formula says "sum".

Discriminator outputs may be one logit map (batch, h, w, 1) or a list/tuple of maps (multi-scale PatchGAN);
for a list the per-example losses are summed over scales, as the BicycleGAN reference does.

Half-precision inputs (float16 / bfloat16, e.g. under a mixed-precision policy) are computed in float32 so the
logs and squares do not overflow; other dtypes are kept.
"""
from __future__ import annotations

from typing import Callable, Sequence, Union

import keras
import tensorflow as tf

TensorOrScales = Union[tf.Tensor, Sequence[tf.Tensor]]

GAN_MODES = ("vanilla", "lsgan", "hinge", "wgangp")


# ----------------------------------------------------------------------------- helpers
def _as_float(x) -> tf.Tensor:
    """Tensor view of x, upcast from half precision to float32 (losses are reduced in float32)."""
    x = tf.convert_to_tensor(x)
    if x.dtype in (tf.float16, tf.bfloat16):
        x = tf.cast(x, tf.float32)
    return x


def _per_example_mean(x: tf.Tensor) -> tf.Tensor:
    """Mean over every axis except the first (batch) one: shape (batch, ...) -> (batch,)."""
    rank = x.shape.rank
    if rank is None:  # unknown rank while tracing: reduce over a dynamic axis list
        return tf.reduce_mean(x, axis=tf.range(1, tf.rank(x)))
    if rank == 0:
        raise ValueError("Per-example losses need a leading batch axis; got a scalar tensor.")
    return tf.reduce_mean(x, axis=list(range(1, rank))) if rank > 1 else x


def _per_example_sum(x: tf.Tensor) -> tf.Tensor:
    """Sum over every axis except the first (batch) one: shape (batch, ...) -> (batch,)."""
    rank = x.shape.rank
    if rank is None:
        return tf.reduce_sum(x, axis=tf.range(1, tf.rank(x)))
    if rank == 0:
        raise ValueError("Per-example losses need a leading batch axis; got a scalar tensor.")
    return tf.reduce_sum(x, axis=list(range(1, rank))) if rank > 1 else x


def _is_scales(logits) -> bool:
    return isinstance(logits, (list, tuple))


def _check_mode(mode: str) -> None:
    if mode not in GAN_MODES:
        raise ValueError(f"Unknown GAN loss mode {mode!r}; expected one of: {', '.join(GAN_MODES)}.")


# ----------------------------------------------------------------------------- adversarial losses
def _d_loss_one_scale(mode: str, real: tf.Tensor, fake: tf.Tensor) -> tf.Tensor:
    real, fake = _as_float(real), _as_float(fake)
    if mode == "vanilla":
        real_term = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(real), logits=real)
        fake_term = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(fake), logits=fake)
    elif mode == "lsgan":
        real_term = tf.square(real - 1.0)
        fake_term = tf.square(fake)
    elif mode == "hinge":
        real_term = tf.nn.relu(1.0 - real)
        fake_term = tf.nn.relu(1.0 + fake)
    else:  # wgangp
        real_term = -real
        fake_term = fake
    return _per_example_mean(real_term) + _per_example_mean(fake_term)


def _g_loss_one_scale(mode: str, fake: tf.Tensor) -> tf.Tensor:
    fake = _as_float(fake)
    if mode == "vanilla":
        term = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(fake), logits=fake)
    elif mode == "lsgan":
        term = tf.square(fake - 1.0)
    else:  # hinge, wgangp
        term = -fake
    return _per_example_mean(term)


def gan_d_loss(mode: str, real_logits: TensorOrScales, fake_logits: TensorOrScales) -> tf.Tensor:
    """Discriminator loss per example, real term + fake term (no 0.5 factor), summed over D scales.

    With r = D(real), f = D(fake) logits and mean_p the mean over positions p of one logit map:
      vanilla: mean_p BCE(r, 1) + mean_p BCE(f, 0), BCE(l, t) = -t log s(l) - (1-t) log(1 - s(l)), s = sigmoid
      lsgan:   mean_p (r - 1)^2 + mean_p f^2
      hinge:   mean_p relu(1 - r) + mean_p relu(1 + f)
      wgangp:  mean_p f - mean_p r          (add :func:`gradient_penalty` separately)
    For lists of logit maps (one per scale) the per-example values are summed over scales.
    pix2pix's 0.5 weighting of the D loss is left to the caller. Returns shape (batch,).
    """
    _check_mode(mode)
    if _is_scales(real_logits) != _is_scales(fake_logits):
        raise ValueError("real_logits and fake_logits must both be tensors or both be lists of scales.")
    if not _is_scales(real_logits):
        return _d_loss_one_scale(mode, real_logits, fake_logits)
    if len(real_logits) != len(fake_logits) or not real_logits:
        raise ValueError(f"Need the same, non-zero number of scales for real and fake logits; "
                         f"got {len(real_logits)} and {len(fake_logits)}.")
    return tf.add_n([_d_loss_one_scale(mode, r, f) for r, f in zip(real_logits, fake_logits)])


def gan_g_loss(mode: str, fake_logits: TensorOrScales) -> tf.Tensor:
    """Generator adversarial loss per example, summed over D scales.

    With f = D(G(.)) logits and mean_p the mean over positions of one logit map:
      vanilla: mean_p BCE(f, 1) = mean_p -log sigmoid(f)   (the non-saturating loss)
      lsgan:   mean_p (f - 1)^2
      hinge:   -mean_p f
      wgangp:  -mean_p f
    Returns shape (batch,).
    """
    _check_mode(mode)
    if not _is_scales(fake_logits):
        return _g_loss_one_scale(mode, fake_logits)
    if not fake_logits:
        raise ValueError("fake_logits is an empty list of scales.")
    return tf.add_n([_g_loss_one_scale(mode, f) for f in fake_logits])


def gradient_penalty(
    critic_fn: Callable[[tf.Tensor], TensorOrScales],
    real: tf.Tensor,
    fake: tf.Tensor,
    seed=None,
    eps=None,
) -> tf.Tensor:
    """WGAN-GP penalty per example: (||grad_x C(x_hat)||_2 - 1)^2 with x_hat = eps*real + (1 - eps)*fake.

    eps ~ U(0, 1) is drawn once per example and broadcast over the other axes. C(x) is critic_fn's output
    summed over spatial positions (and over scales when it returns a list); the gradient norm is taken over
    all non-batch axes of x_hat, with 1e-12 added under the square root so the norm is differentiable at 0.
    Gradients flow to the critic's weights (the penalty is differentiable twice) but not into real/fake:
    x_hat is a stopped interpolate, as the penalty only trains the critic.

    seed: None (a fresh unseeded draw, fine inside tf.function and per replica), an int or a
    keras.random.SeedGenerator (forwarded to keras.random.uniform; note an int gives the same eps every call,
    a SeedGenerator advances); or pass `eps` itself, (batch, 1, 1, 1) in [0, 1) (the models draw it from their
    replica-distinct seed stream). Returns shape (batch,). Multiply by lambda_gp (10 in the WGAN-GP paper) yourself.
    """
    real = tf.convert_to_tensor(real)
    fake = tf.cast(tf.convert_to_tensor(fake), real.dtype)
    rank = real.shape.rank
    if rank is None:
        raise ValueError("gradient_penalty needs inputs of known rank.")
    eps_shape = tf.concat([tf.shape(real)[:1], tf.ones([rank - 1], tf.int32)], axis=0)
    if eps is not None:
        eps = tf.cast(eps, real.dtype)
    elif seed is None:
        eps = tf.random.uniform(eps_shape, 0.0, 1.0, dtype=real.dtype)
    else:
        eps = tf.cast(keras.random.uniform(eps_shape, 0.0, 1.0, seed=seed), real.dtype)
    x_hat = tf.stop_gradient(eps * real + (1.0 - eps) * fake)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        out = critic_fn(x_hat)
        scales = out if _is_scales(out) else [out]
        # Examples are independent, so d(sum over the batch)/dx_hat[i] is example i's own gradient.
        total = tf.add_n([tf.reduce_sum(_as_float(o)) for o in scales])
    grad = _as_float(tape.gradient(total, x_hat))
    norm = tf.sqrt(_per_example_sum(tf.square(grad)) + 1e-12)
    return tf.square(norm - 1.0)


def r1_penalty(grad_real: TensorOrScales) -> tf.Tensor:
    """R1 penalty per example (Mescheder et al., 2018): 0.5 * ||grad_x D(x)||^2 at real x, given that gradient.

    Take the gradient of D's outputs summed over positions (and scales) with respect to the real batch; examples
    are independent, so row i is example i's own gradient. Multiply by lambda_r1 (gamma) yourself.
    """
    return 0.5 * _per_example_sum(tf.square(_as_float(grad_real)))


# ----------------------------------------------------------------------------- reconstruction / latent losses
def l1_loss(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """Per-example mean absolute error: mean_{h,w,c} |x - y|. Returns shape (batch,)."""
    return _per_example_mean(tf.abs(_as_float(x) - _as_float(y)))


def kl_loss(mu: tf.Tensor, logvar: tf.Tensor) -> tf.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per example, SUMMED over the nz latent dims.

    KL = -0.5 * sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)). It is 0 exactly at mu = 0, logvar = 0.
    Inputs are (batch, nz) encoder outputs; returns shape (batch,). Weight it with lambda_kl.
    """
    mu, logvar = _as_float(mu), _as_float(logvar)
    return -0.5 * _per_example_sum(1.0 + logvar - tf.square(mu) - tf.exp(logvar))


def latent_l1_loss(z_pred: tf.Tensor, z: tf.Tensor) -> tf.Tensor:
    """cLR-GAN latent regression per example: mean_j |z_pred_j - z_j|, z_pred = mu of E(G(A, z)).

    Returns shape (batch,). Weight it with lambda_latent.
    """
    return _per_example_mean(tf.abs(_as_float(z_pred) - _as_float(z)))


def mode_seeking_loss(
    fake1: tf.Tensor, fake2: tf.Tensor, z1: tf.Tensor, z2: tf.Tensor, eps: float = 1e-5
) -> tf.Tensor:
    """MSGAN mode-seeking term per example: 1 / (mean|fake1 - fake2| / mean|z1 - z2| + eps).

    fake1 = G(c, z1), fake2 = G(c, z2) for the same condition c; each mean is over one example's
    non-batch axes. Minimising it pushes the image distance up relative to the latent distance.
    Returns shape (batch,). Weight it with lambda_ms.
    """
    image_dist = _per_example_mean(tf.abs(_as_float(fake1) - _as_float(fake2)))
    z_dist = _per_example_mean(tf.abs(_as_float(z1) - _as_float(z2)))
    return 1.0 / (image_dist / z_dist + eps)


def cycle_loss(reconstructed: tf.Tensor, original: tf.Tensor) -> tf.Tensor:
    """Cycle-consistency per example: mean |F(G(x)) - x| (CycleGAN/UNIT). Returns shape (batch,).

    Weight it with lambda_cycle (CycleGAN: 10 per direction).
    """
    return l1_loss(reconstructed, original)


def identity_loss(mapped: tf.Tensor, original: tf.Tensor) -> tf.Tensor:
    """Identity mapping per example: mean |G(y) - y| for y already in G's target domain. Returns shape (batch,).

    Weight it with lambda_identity * lambda_cycle (CycleGAN: 0.5 * 10).
    """
    return l1_loss(mapped, original)


# ----------------------------------------------------------------------------- reduction
def average(per_example: tf.Tensor, global_batch_size=None) -> tf.Tensor:
    """Scalar loss from a (batch,) vector: sum / global batch size, via tf.nn.compute_average_loss.

    Why: under a tf.distribute strategy each replica sees only its shard; dividing by the GLOBAL batch
    (not the local one) makes the summed replica gradients equal the gradient of the global mean.
    Without a strategy, or with global_batch_size=None in a single replica, it is the plain batch mean.
    """
    return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
