"""The PyTorch reference figures the speed benchmark compares against (../shared/REFERENCE.md).

Measured with torch 2.13 on the same 2-core x86 CPU, 2 intra-op threads, on random tensors (no data loading,
logging or checkpointing): median of 20 `optimize_parameters()` steps after 3 warm-up steps, on an idle machine.
Keys are (model, image size), at the reference batch sizes: BicycleGAN 2, pix2pix and CycleGAN 1 (the presets').
"""
from __future__ import annotations

import re

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


def parse_peers_output(text: str, case: str, size: int) -> dict:
    """{step_s, infer_s, peak_rss_gb, rss_after_import_gb} from time_peers.py's lines for `case` (G inference: G,
    or G_A for CycleGAN, on one image of `size`); raises ValueError when the step line is missing (the case failed)."""
    found = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) < 3 or words[0] != case:
            continue
        if words[1] == "train_step_s" and words[2] == "median":
            found["step_s"] = float(words[3])
        elif words[1] in ("infer_G_s", "infer_G_A_s") and f"1 image {size}x{size}" in line:
            found["infer_s"] = float(words[3])
        elif words[1] == "peak_rss_mb_train":
            found["peak_rss_gb"] = float(words[2]) / 1024
            baseline = re.search(r"baseline after import torch: (\d+(?:\.\d+)?)", line)
            if baseline:
                found["rss_after_import_gb"] = float(baseline.group(1)) / 1024
    if "step_s" not in found:
        raise ValueError(f"time_peers.py printed no train_step_s line for {case}:\n{text[-2000:]}")
    return found


def measure_reference(peers: str, python: str, model: str, size: int) -> dict:
    """Run the PyTorch reference of (model, size) now, with ../shared/tools/reference-timing/time_peers.py copied
    into `peers` (set up as its README says) and the torch environment's `python`; its figures as reference_for's."""
    import os
    import subprocess

    case = f"{model}_{size}"
    out = subprocess.run([python, "time_peers.py", "--case", case], cwd=peers, capture_output=True, text=True,
                         env={**os.environ, "PEERS_MAX_WAIT": os.environ.get("PEERS_MAX_WAIT", "600")})
    return parse_peers_output(out.stdout, case, size)
