"""What the claim experiments measure on the facades test split (L1 = mean |x - y| on images in [-1, 1]).

Unpaired models (photo A <-> label B, the test pairs never seen as pairs):
  cycle L1 = mean(|F(G(a)) - a|, |G(F(b)) - b|), pair L1 = mean(|G(a) - b|, |F(b) - a|) (deterministic codes).
Paired multimodal models (labels -> photo), k samples per input:
  diversity = mean pairwise L1 of the k samples, best-of-k L1 to the truth, between-inputs L1 = mean L1 between the
  outputs of neighbouring test inputs for the same code (near 0 when G ignores its input).
"""
from __future__ import annotations

import numpy as np

from tfgan_i2i.data import image_grid, paired_arrays, write_image
from tfgan_i2i.metrics import best_of_k_l1, pairwise_l1


def test_pairs(data: str, size: int, direction: str):
    """(inputs, targets) of the test split at `size` px."""
    return paired_arrays(data, "test", direction, size)


def _chunks(fn, images, chunk=16):
    return np.concatenate([np.asarray(fn(images[i:i + chunk])) for i in range(0, len(images), chunk)])


def unpaired(model, A, B) -> tuple[dict, dict]:
    """({cycle_l1, pair_l1}, the translations AB, BA, ABA, BAB) on aligned arrays A, B."""
    def tr(images, direction):
        return _chunks(lambda x: model.translate(x, direction=direction), images)

    AB, BA = tr(A, "AtoB"), tr(B, "BtoA")
    ABA, BAB = tr(AB, "BtoA"), tr(BA, "AtoB")
    scores = {"cycle_l1": 0.5 * float(np.abs(ABA - A).mean() + np.abs(BAB - B).mean()),
              "pair_l1": 0.5 * float(np.abs(AB - B).mean() + np.abs(BA - A).mean())}
    return scores, dict(AB=AB, BA=BA, ABA=ABA, BAB=BAB)


def unpaired_grid(path: str, A, B, out: dict, rows: int = 3) -> str:
    """Per test image the rows [A, A->B, A->B->A, true B] and [B, B->A, B->A->B, true A]."""
    grid = []
    for i in range(rows):
        grid.append([A[i], out["AB"][i], out["ABA"][i], B[i]])
        grid.append([B[i], out["BA"][i], out["BAB"][i], A[i]])
    return write_image(path, image_grid(grid, padding=2))


def paired(model, A, B, k: int, seed: int) -> tuple[dict, np.ndarray]:
    """({diversity_l1, best_of_k_l1, between_inputs_l1}, samples (N, k, H, W, C))."""
    samples = _chunks(lambda x: model.sample(x, k=k, seed=seed), A)
    scores = {"diversity_l1": float(pairwise_l1(samples).mean()),
              "best_of_k_l1": float(best_of_k_l1(samples, B).mean()),
              "between_inputs_l1": float(np.abs(samples[1:] - samples[:-1]).mean())}
    return scores, samples


def paired_strip(path: str, A, B, samples, rows: int = 3) -> str:
    """Per test input one row: input, its k samples, the truth."""
    return write_image(path, image_grid([[A[i], *samples[i], B[i]] for i in range(rows)], padding=2))
