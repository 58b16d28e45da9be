"""Pixel diversity metrics against hand numbers."""
import numpy as np
import pytest

from tfgan_i2i.metrics import best_of_k_l1, pairwise_l1


def test_pairwise_l1_hand_values():
    # one input, three 1x1x1 samples 0, 0.5, -1: pairs |0-.5|=.5, |0+1|=1, |.5+1|=1.5 -> mean 1.0
    s = np.array([0.0, 0.5, -1.0]).reshape(1, 3, 1, 1, 1)
    np.testing.assert_allclose(pairwise_l1(s), [1.0])
    # identical samples (an ignored z) give exactly 0
    np.testing.assert_allclose(pairwise_l1(np.ones((2, 4, 3, 3, 3))), [0.0, 0.0])


def test_best_of_k_l1_picks_closest_sample():
    target = np.zeros((1, 2, 2, 1))
    s = np.stack([np.full((2, 2, 1), 0.8), np.full((2, 2, 1), -0.1), np.full((2, 2, 1), 0.3)])[None]
    np.testing.assert_allclose(best_of_k_l1(s, target), [0.1])


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="k >= 2"):
        pairwise_l1(np.zeros((2, 1, 4, 4, 3)))
    with pytest.raises(ValueError, match="does not match"):
        best_of_k_l1(np.zeros((2, 3, 4, 4, 3)), np.zeros((2, 5, 5, 3)))
