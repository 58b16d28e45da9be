"""Evidence run: pix2pix+noise vs BicycleGAN vs MSGAN on facades (labels -> photo) for the same number of steps.

Per model: mean pairwise L1 between 5 samples of each test input (diversity), best-of-5 L1 to the ground truth,
mean L1 between the outputs of neighbouring test inputs for the same code (near 0 when G ignores its input),
median seconds per training step, and a sample strip PNG. L1 values are mean |x - y| on images in [-1, 1].

    python -m bench.paired_diversity --steps 3000 --size 64 --lambda-ms 0.5 --ms-warmup 1000 \
        --out bench/results/paired_diversity

Re-running the same command resumes each model from its last checkpoint (one per epoch of --steps-per-epoch).
Running a subset (--models msgan) replaces only those models' rows in results.json / results.md; a model whose
run is complete is only re-measured (its step time is kept).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from tfgan_i2i.config import preset
from tfgan_i2i.data import image_grid, paired_arrays, shared_facades_dir, write_image
from tfgan_i2i.metrics import best_of_k_l1, pairwise_l1
from tfgan_i2i.training import train


class StepTimer(keras.callbacks.Callback):
    """Wall time of every training step (fit runs one step per batch callback here)."""

    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_begin(self, batch, logs=None):
        self._t = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._t)


def sample_in_chunks(model, images, k, seed, chunk=16):
    """model.sample over a large set in chunks (bounded memory)."""
    return np.concatenate([np.asarray(model.sample(images[i:i + chunk], k=k, seed=seed))
                           for i in range(0, len(images), chunk)])


def run_model(name, args):
    """Train one model (resuming if possible), then measure diversity and accuracy on the test split."""
    epochs = max(2, args.steps // args.steps_per_epoch)
    # load_size follows the preset (286/256 scaled; MSGAN: no crop jitter)
    ms = dict(lambda_ms=args.lambda_ms, ms_warmup=args.ms_warmup) if name == "msgan" else {}
    config = preset(name, image_size=args.size, direction="BtoA", epochs=epochs // 2,
                    epochs_decay=epochs - epochs // 2, seed=args.seed, **ms)
    timer = StepTimer()
    logdir = os.path.join(args.out, name)
    model, _ = train(config, args.data, logdir, steps_per_epoch=args.steps_per_epoch, callbacks=[timer], verbose=2)
    A, B = paired_arrays(args.data, "test", "BtoA", args.size)
    samples = sample_in_chunks(model, A, args.k, seed=args.seed + 1)
    div, best = pairwise_l1(samples), best_of_k_l1(samples, B)
    strip = image_grid([[A[i], *samples[i], B[i]] for i in range(args.strip_rows)], padding=2)
    strip_path = write_image(os.path.join(args.out, f"{name}_strip.png"), strip)
    timed = timer.times[args.warmup:]
    return {
        "model": name, "steps": epochs * args.steps_per_epoch, "batch_size": config.batch_size,
        "load_size": config.load_size, "lambda_ms": config.lambda_ms, "ms_warmup": config.ms_warmup,
        "test_inputs": len(A), "k": args.k,
        "pairwise_l1_mean": float(div.mean()), "pairwise_l1_std": float(div.std()),
        "best_of_k_l1_mean": float(best.mean()),
        "between_inputs_l1_mean": float(np.abs(samples[1:] - samples[:-1]).mean()),
        "sec_per_step_median": statistics.median(timed) if timed else None,
        "timed_steps": len(timed) or None, "strip": os.path.relpath(strip_path, args.out),
    }


def merged(path, new):
    """Earlier rows of path updated with the models just run (kept in their order, new models appended).

    A model whose run was already complete trains no step: its row keeps the recorded step time.
    """
    old = []
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            old = json.load(f)["results"]
    by_model = {r["model"]: {k: v for k, v in r.items() if v is not None} for r in new}
    rows = [{**r, **by_model.pop(r["model"])} if r["model"] in by_model else r for r in old]
    return rows + list(by_model.values())


def markdown(results, args):
    """The README table."""
    lines = [f"facades labels->photo, {args.size}x{args.size}, {results[0]['steps']} steps each, "
             f"{results[0]['test_inputs']} test inputs x {args.k} samples (L1 on [-1, 1] images)", "",
             "| model | batch | diversity: mean pairwise L1 | best-of-5 L1 to truth | between inputs, same code "
             "| s/step (median) |",
             "|---|---|---|---|---|---|"]

    def cell(r, key, fmt):
        return format(r[key], fmt) if r.get(key) is not None else "-"  # rows of older runs lack newer columns

    for r in results:
        name = r["model"]
        if name == "msgan" and "lambda_ms" in r:
            name += f" (lambda_ms {r['lambda_ms']:g}, warm-up {r['ms_warmup']})"
        lines.append(f"| {name} | {r['batch_size']} | {cell(r, 'pairwise_l1_mean', '.4f')} | "
                     f"{cell(r, 'best_of_k_l1_mean', '.4f')} | {cell(r, 'between_inputs_l1_mean', '.4f')} | "
                     f"{cell(r, 'sec_per_step_median', '.3f')} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=shared_facades_dir(), help="facades folder (train/, test/ of A|B pairs)")
    p.add_argument("--models", default="pix2pix-noise,bicyclegan,msgan", help="comma-separated model names")
    p.add_argument("--size", type=int, default=64, help="image size")
    p.add_argument("--steps", type=int, default=3000, help="training steps per model (same for all)")
    p.add_argument("--steps-per-epoch", type=int, default=200, help="steps between checkpoints")
    p.add_argument("--k", type=int, default=5, help="samples per test input")
    p.add_argument("--strip-rows", type=int, default=4, help="test inputs shown in each strip PNG")
    p.add_argument("--warmup", type=int, default=5, help="steps excluded from the timing (tracing)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lambda-ms", type=float, default=1.0, help="MSGAN's mode-seeking weight (preset: 1)")
    p.add_argument("--ms-warmup", type=int, default=0, help="MSGAN: steps over which lambda_ms ramps up from 0")
    p.add_argument("--out", default="bench/results/paired_diversity", help="output folder")
    args = p.parse_args(argv)
    if not args.data or not os.path.isdir(args.data):
        p.error(f"--data {args.data!r} is not a folder: point it at a facades copy (train/ and test/ A|B pairs)")
    os.makedirs(args.out, exist_ok=True)
    results = [run_model(name, args) for name in args.models.split(",")]
    results = merged(os.path.join(args.out, "results.json"), results)
    meta = {"date": time.strftime("%Y-%m-%d"), "tf": tf.__version__, "keras": keras.__version__,
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "threads": [tf.config.threading.get_intra_op_parallelism_threads(),
                        tf.config.threading.get_inter_op_parallelism_threads()], "args": vars(args)}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=2)  # meta: of the latest run
    table = markdown(results, args)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(table)
    print(table)


if __name__ == "__main__":
    main()
