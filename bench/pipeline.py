"""Does the input pipeline stall the training step? Step time with real JPEG decoding vs. with data in memory.

For one (model, size) in float32: the same compiled model trains first on one batch already in memory (the first
batch of the real pipeline, repeated: no per-step input work), then on `tfgan_i2i.data.paired_dataset` reading
and decoding the facades JPEGs (<repo>/../shared/data/facades/train) with the training-time preprocessing
(resize to size*286/256, random crop, flip; parallel map and prefetch as the package builds it). Each phase has
its own warm-up. The pipeline alone is also timed (mean seconds per batch pulled back to back, no training),
which says how much head-room prefetching has. A ratio JPEG/in-memory near 1 means the step never waits for data.
"""
from __future__ import annotations

import time

from . import timing

STALL_RATIO = 1.05  # a JPEG-fed median more than 5 % above the in-memory one counts as a stall


def measure_pipeline(model_name: str, size: int, args) -> dict:
    """{in_memory_s_median, jpeg_s_median, ratio, pipeline_s_per_batch, stalls, ...}, or {skipped: why}."""
    from tfgan_i2i.data import paired_dataset, shared_facades_dir

    out = {"model": model_name, "size": size, "precision": "float32"}
    root = shared_facades_dir()
    if root is None:
        return {**out, "skipped": "../shared/data/facades not found next to the repository"}
    timing.configure_tf(args.intra, args.inter)
    config, model = timing.build_compiled(model_name, size, args.jit_compile)
    dataset = paired_dataset(root, "train", load_size=round(size * 286 / 256), crop_size=size,
                             batch_size=config.batch_size, repeat=True, seed=0, validate="header")
    jpeg = iter(dataset)
    memory = timing.in_memory_iterator(next(jpeg))

    trace_s = timing.first_and_warmup(model, memory, args.warmup)
    memory_times, _ = timing.timed_steps(model, memory, args.steps)
    timing.first_and_warmup(model, jpeg, args.warmup)
    jpeg_times, _ = timing.timed_steps(model, jpeg, args.steps)
    pipeline_s = _seconds_per_batch(iter(dataset), args.warmup, args.steps)

    in_memory, from_jpeg = timing.spread(memory_times), timing.spread(jpeg_times)
    ratio = from_jpeg["median"] / in_memory["median"]
    return {
        **out, "batch_size": config.batch_size, "data": root, "steps": args.steps, "warmup": args.warmup,
        "trace_s": trace_s, "in_memory_s_median": in_memory["median"], "in_memory_s_min": in_memory["min"],
        "in_memory_s_max": in_memory["max"], "jpeg_s_median": from_jpeg["median"], "jpeg_s_min": from_jpeg["min"],
        "jpeg_s_max": from_jpeg["max"], "ratio": ratio, "stalls": ratio > STALL_RATIO,
        "pipeline_s_per_batch": pipeline_s,
    }


def _seconds_per_batch(iterator, warmup: int, n: int) -> float:
    """Mean seconds per batch of pulling n batches back to back (after `warmup` pulls) with nothing else running:
    the pipeline's own throughput, prefetch buffer drained faster than it fills."""
    for _ in range(warmup):
        next(iterator)
    t = time.perf_counter()
    for _ in range(n):
        next(iterator)
    return (time.perf_counter() - t) / n
