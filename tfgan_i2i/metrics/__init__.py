"""Evaluation metrics (diversity now; FID/KID, LPIPS and NDB/JSD to come)."""
from .diversity import best_of_k_l1, pairwise_l1

__all__ = ["pairwise_l1", "best_of_k_l1"]
