"""Evaluation metrics (submodules fid, lpips, ndb, diversity): pixel diversity, FID/KID (Inception-v3), LPIPS (AlexNet/VGG16) and NDB/JSD (K-means bins)."""
from .diversity import best_of_k_l1, pairwise_l1
from .fid import (GaussianStats, InceptionFeatures, WeightsNotFoundError, fid_and_kid, fid_from_stats,
                  fid_random_features, find_inception_weights, frechet_distance, kid)
from .ndb import NDB, js_divergence, ndb_jsd, two_proportion_z_test

__all__ = ["pairwise_l1", "best_of_k_l1", "GaussianStats", "InceptionFeatures", "WeightsNotFoundError",
           "fid_and_kid", "fid_from_stats", "fid_random_features", "find_inception_weights", "frechet_distance", "kid",
           "NDB", "js_divergence", "ndb_jsd", "two_proportion_z_test"]
