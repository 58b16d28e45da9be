"""Data pipelines: image file helpers, paired (A, B) tf.data datasets and the bundled facades sample."""
from .bundled import sample_dir, shared_facades_dir
from .images import DataError, image_grid, list_images, natural_sorted, read_image, to_uint8, write_image
from .paired import PairedFiles, find_pairs, paired_arrays, paired_dataset

__all__ = [
    "DataError",
    "PairedFiles",
    "find_pairs",
    "image_grid",
    "list_images",
    "natural_sorted",
    "paired_arrays",
    "paired_dataset",
    "read_image",
    "sample_dir",
    "shared_facades_dir",
    "to_uint8",
    "write_image",
]
