"""A keras Callback that logs pixel diversity (and LPIPS / FID when their weights are present) to TensorBoard."""
from __future__ import annotations

import os

import keras
import numpy as np


class EvaluationCallback(keras.callbacks.Callback):
    """Every `every` epochs: pixel diversity (and LPIPS / FID when their weights are present) to TensorBoard.

    images_A: fixed inputs (N, H, W, C) in [-1, 1]; images_B: their ground truth (enables best-of-k L1 and FID).
    Scalars go to `logdir/eval` (step = 0-based epoch) and into the epoch logs as eval_<name>.
    LPIPS runs when `lpips_weights` is given; FID when images_B is given and the Inception weights are found
    (`inception_weights` or the Keras cache). Missing weights just skip those metrics here.
    """

    def __init__(self, images_A, images_B=None, every: int = 1, k: int = 4, seed: int = 0,
                 logdir: str | None = None, lpips_weights: str | None = None, inception_weights: str | None = None):
        super().__init__()
        self.images_A = np.asarray(images_A, np.float32)
        self.images_B = None if images_B is None else np.asarray(images_B, np.float32)
        self.every, self.k, self.seed, self.logdir = max(1, int(every)), max(2, int(k)), seed, logdir
        self.lpips = None
        if lpips_weights is not None and os.path.isfile(lpips_weights):
            from .lpips import LPIPS

            self.lpips = LPIPS(lpips_weights)
        self.inception_path = None
        if self.images_B is not None:
            from .fid import WeightsNotFoundError, find_inception_weights

            try:
                self.inception_path = find_inception_weights(inception_weights)
            except WeightsNotFoundError:
                self.inception_path = None
        self._extractor = None
        self._writer = None
        self.history: list[dict] = []

    def compute(self) -> dict:
        """The metric values of the current model on the fixed inputs."""
        from . import GaussianStats, best_of_k_l1, fid_from_stats, pairwise_l1
        from .lpips import pair_indices

        s = np.asarray(self.model.sample(self.images_A, self.k, self.seed), np.float32)
        values = {"pixel_diversity": float(pairwise_l1(s).mean())}
        if self.images_B is not None:
            values["best_of_k_l1"] = float(best_of_k_l1(s, self.images_B).mean())
        if self.lpips is not None:
            a, b = zip(*pair_indices("bicyclegan", self.k))
            values["lpips_diversity"] = float(np.mean([self.lpips(x[list(a)], x[list(b)]) for x in s]))
        if self.inception_path is not None and len(self.images_A) >= 2:
            from . import InceptionFeatures

            if self._extractor is None:
                self._extractor = InceptionFeatures(self.inception_path)
            fake = GaussianStats().update(self._extractor(s.reshape(-1, *s.shape[2:])))
            real = GaussianStats().update(self._extractor(self.images_B))
            values["fid"] = fid_from_stats(real, fake)
        return values

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        values = self.compute()
        self.history.append({"epoch": epoch, **values})
        if logs is not None:
            logs.update({f"eval_{k}": v for k, v in values.items()})
        if self.logdir:
            import tensorflow as tf

            if self._writer is None:
                self._writer = tf.summary.create_file_writer(os.path.join(self.logdir, "eval"))
            with self._writer.as_default():
                for name, value in values.items():
                    tf.summary.scalar(name, value, step=epoch)
            self._writer.flush()


__all__ = ["EvaluationCallback"]
