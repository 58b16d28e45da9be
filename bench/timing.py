"""What every benchmark child process shares: TensorFlow set-up, the model under test, and timed training steps."""
from __future__ import annotations

import statistics
import time


def configure_tf(intra: int, inter: int, precision: str = "float32", seed: int = 0) -> None:
    """Thread counts first (they must be set before TF runs anything), then the Keras dtype policy and the seeds."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)
    import keras

    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(seed)


def build_compiled(model_name: str, size: int, jit_compile: str = "auto", fused_adam: bool = True):
    """(config, model): the model's preset (reference architecture and batch size) at `size`, compiled.

    jit_compile "auto" is Keras's rule (XLA on when a GPU is present, off on CPU-only machines). fused_adam False:
    TorchAdam's op-by-op update instead of its fused kernel (the A/B of that lever).
    """
    from tfgan_i2i.config import preset
    from tfgan_i2i.models import build_model

    config = preset(model_name, image_size=size, load_size=size, input_nc=3, output_nc=3)
    model = build_model(config)
    model.compile(jit_compile={"auto": "auto", "on": True, "off": False}[jit_compile])
    for optimizer in model.optimizers_by_name.values():
        optimizer.fused = fused_adam  # read when the step is traced, on its first call
    model.make_train_function()
    return config, model


def random_batch(config, seed: int = 0):
    """One (A, B) batch of uniform noise in [-1, 1] at the config's batch size (convolution cost ignores values)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shape = (config.batch_size, config.image_size, config.image_size)
    return (rng.uniform(-1, 1, (*shape, config.input_nc)).astype("float32"),
            rng.uniform(-1, 1, (*shape, config.output_nc)).astype("float32"))


def in_memory_iterator(batch):
    """An endless iterator yielding the same in-memory batch (no input pipeline work per step)."""
    import tensorflow as tf

    return iter(tf.data.Dataset.from_tensors(batch).repeat())


def timed_steps(model, iterator, n: int) -> tuple[list[float], list[dict]]:
    """(seconds, losses) of n training steps, each timed until its losses are on the host.

    The loss trackers are reset before every step (outside the timed part), so each step's logs are that step's
    own losses rather than a running mean.
    """
    times, losses = [], []
    for _ in range(n):
        model.reset_metrics()
        t = time.perf_counter()
        logs = model.train_function(iterator)
        logs = {name: float(value.numpy()) for name, value in logs.items()}
        times.append(time.perf_counter() - t)
        losses.append(logs)
    return times, losses


def first_and_warmup(model, iterator, warmup: int) -> float:
    """Seconds of the first step (tracing + first run), then `warmup` untimed steps."""
    times, _ = timed_steps(model, iterator, 1)
    timed_steps(model, iterator, warmup)
    return times[0]


def spread(times: list[float]) -> dict:
    """{median, min, max} of a list of seconds."""
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


INFER_WARMUP = 3  # untimed calls before an inference latency is timed (time_peers.py's PEERS_WARMUP default)


def median_call_s(fn, runs: int) -> float:
    """Median wall time of `runs` calls of fn (fn must wait for its result, e.g. end in .numpy())."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def interleaved_medians_s(fns: dict, runs: int, blocks: int = 4) -> dict:
    """{name: median wall time} of at least `runs` calls of each fn in `fns`, taken in `blocks` blocks that take
    turns (the order reversed every other block), so a slow spell of the host falls on every backend alike rather
    than on whichever ran then. Each fn must wait for its result."""
    per = -(-runs // blocks)
    times = {name: [] for name in fns}
    for block in range(blocks):
        for name in (list(fns) if block % 2 == 0 else list(fns)[::-1]):
            for _ in range(per):
                t = time.perf_counter()
                fns[name]()
                times[name].append(time.perf_counter() - t)
    return {name: statistics.median(values) for name, values in times.items()}


def peak_rss_gb() -> float:
    """This process's peak resident memory so far, in GiB (Linux reports ru_maxrss in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
