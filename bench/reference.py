"""The PyTorch reference figures the speed benchmark compares against (../shared/REFERENCE.md).

Measured with torch 2.13 on the same 2-core x86 CPU, 2 intra-op threads, on random tensors (no data loading,
logging or checkpointing): median of 20 `optimize_parameters()` steps after 3 warm-up steps, on an idle machine.
Keys are (model, image size), at the reference batch sizes: BicycleGAN 2, pix2pix and CycleGAN 1 (the presets').
"""
from __future__ import annotations

REFERENCE_S_PER_STEP = {
    ("bicyclegan", 256): 3.62, ("bicyclegan", 128): 1.42, ("pix2pix", 256): 1.24, ("cyclegan", 256): 16.4,
}
REFERENCE_INFER_S = {
    ("bicyclegan", 256): 0.18, ("bicyclegan", 128): 0.070, ("pix2pix", 256): 0.156, ("cyclegan", 256): 0.75,
}
# peak resident memory of the training process, as REFERENCE.md gives it (GB)
REFERENCE_PEAK_RSS_GB = {
    ("bicyclegan", 256): 1.9, ("bicyclegan", 128): 1.3, ("pix2pix", 256): 1.4, ("cyclegan", 256): 3.7,
}

# issue 7's targets: training step and exported-generator latency at least this many times faster than the
# reference, peak memory no higher
TARGET_TRAIN_SPEEDUP = 1.5
TARGET_INFER_SPEEDUP = 2.0


def reference_for(model: str, size: int) -> dict:
    """The reference figures of (model, size) that exist, as {step_s, infer_s, peak_rss_gb}; {} when none do."""
    key = (model, size)
    found = {"step_s": REFERENCE_S_PER_STEP.get(key), "infer_s": REFERENCE_INFER_S.get(key),
             "peak_rss_gb": REFERENCE_PEAK_RSS_GB.get(key)}
    return {k: v for k, v in found.items() if v is not None}
