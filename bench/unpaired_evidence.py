"""Evidence run for the unpaired models: CycleGAN vs UNIT vs AVB-GTN on facades photo <-> label, same step budget.

Trains each model for --steps steps (batch 1) on the facades train split used as two unaligned domains, logging the
test cycle-reconstruction L1 every --eval-every steps, then reports on the full test split:
  * cycle L1  = mean(|F(G(a)) - a|, |G(F(b)) - b|)  (A -> B -> A and B -> A -> B, deterministic codes);
  * pair L1   = mean(|G(a) - b|, |F(b) - a|) against the true counterparts the models never saw as pairs;
  * s/step    = median wall time of one train step after the first (compiling) chunk;
  * steps until the logged cycle L1 first falls under --threshold (UNIT vs AVB-GTN convergence claim).
Results go to OUT/results.json, OUT/results.md and OUT/<model>.png (rows: A, A->B, A->B->A, true B | B, B->A,
B->A->B, true A). Resumable: every chunk checkpoints networks, optimizers, seed state and the curve to
OUT/ckpt/<model>/, and a rerun continues where it stopped (finished models are skipped).

Command used for bench/results/unpaired (about an hour on a shared 2-core CPU):
  python -m bench.unpaired_evidence --steps 1000 --eval-every 100 --size 64 --width 32 --out bench/results/unpaired
  python -m bench.unpaired_evidence --report-only --out bench/results/unpaired   # re-render results.md
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np
import tensorflow as tf

from tfgan_i2i.config import preset
from tfgan_i2i.data.images import image_grid, write_image
from tfgan_i2i.data.paired import paired_arrays
from tfgan_i2i.data.unpaired import unpaired_dataset
from tfgan_i2i.models import build_model

DEFAULT_DATA = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "facades"))


def model_config(name: str, size: int, width: int, seed: int):
    """The preset of `name` at `size` px with ngf = ndf = width (CycleGAN: 6 blocks; UNIT: critic ntf = width)."""
    return preset(name, image_size=size, load_size=size + size // 8, ngf=width, ndf=width, ntf=width, seed=seed,
                  batch_size=1)


def translate_all(model, images, direction, batch=16):
    """Deterministic translation of a numpy batch in chunks."""
    outs = [np.asarray(model.translate(images[i:i + batch], direction=direction)) for i in range(0, len(images), batch)]
    return np.concatenate(outs)


def evaluate(model, A, B):
    """(cycle L1, pair L1, and the translations) on aligned test arrays A, B."""
    AB, BA = translate_all(model, A, "AtoB"), translate_all(model, B, "BtoA")
    ABA, BAB = translate_all(model, AB, "BtoA"), translate_all(model, BA, "AtoB")
    cycle = 0.5 * (np.abs(ABA - A).mean() + np.abs(BAB - B).mean())
    pair = 0.5 * (np.abs(AB - B).mean() + np.abs(BA - A).mean())
    return float(cycle), float(pair), dict(AB=AB, BA=BA, ABA=ABA, BAB=BAB)


def write_grid(path, A, B, out, rows=4):
    """Sample grid: per test image, [A, A->B, A->B->A, B] and [B, B->A, B->A->B, A]."""
    grid = []
    for i in range(rows):
        grid.append([A[i], out["AB"][i], out["ABA"][i], B[i]])
        grid.append([B[i], out["BA"][i], out["BAB"][i], A[i]])
    write_image(path, image_grid(grid, padding=2))


def run_model(name, args, A_test, B_test, A_log, B_log):
    """Train one model to args.steps (resuming), logging the test cycle L1; returns its result dict."""
    ckpt_dir = os.path.join(args.out, "ckpt", name)
    os.makedirs(ckpt_dir, exist_ok=True)
    state_path = os.path.join(ckpt_dir, "state.json")
    state = {"curve": [], "step_times": []}
    if os.path.isfile(state_path):
        with open(state_path) as f:
            state = json.load(f)
    config = model_config(name, args.size, args.width, args.seed)
    model = build_model(config)
    model.compile()
    step = tf.Variable(0, dtype=tf.int64)
    ckpt = tf.train.Checkpoint(step=step, seed=model.seed_generator.state, **model.nets,
                               **{f"opt_{k}": o for k, o in model.optimizers_by_name.items()})
    manager = tf.train.CheckpointManager(ckpt, ckpt_dir, max_to_keep=2)
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        print(f"[{name}] resuming at step {int(step.numpy())}", flush=True)
    done = int(step.numpy())
    data = unpaired_dataset(args.data, "train", load_size=config.load_size, crop_size=args.size, batch_size=1,
                            repeat=True, cache=False, seed=args.seed + done)
    first_chunk = done == 0
    while done < args.steps:
        chunk = min(args.eval_every, args.steps - done)
        t = time.perf_counter()
        model.fit(data, steps_per_epoch=chunk, epochs=1, verbose=0)
        elapsed = time.perf_counter() - t
        if not first_chunk:
            state["step_times"].append(elapsed / chunk)
        first_chunk = False
        done += chunk
        cycle, pair, _ = evaluate(model, A_log, B_log)
        state["curve"].append({"step": done, "cycle_l1": cycle, "pair_l1": pair})
        print(f"[{name}] step {done}/{args.steps} cycle L1 {cycle:.4f} pair L1 {pair:.4f} "
              f"({elapsed / chunk:.3f} s/step)", flush=True)
        step.assign(done)
        manager.save(checkpoint_number=done)
        tmp = state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, state_path)

    cycle, pair, out = evaluate(model, A_test, B_test)
    write_grid(os.path.join(args.out, f"{name}.png"), A_test, B_test, out)
    reached = next((p["step"] for p in state["curve"] if p["cycle_l1"] < args.threshold), None)
    return {
        "model": name, "steps": args.steps, "test_cycle_l1": cycle, "test_pair_l1": pair,
        "s_per_step": statistics.median(state["step_times"]) if state["step_times"] else None,
        "steps_to_threshold": reached, "curve": state["curve"],
        "params": {k: int(sum(np.prod(v.shape) for v in net.trainable_variables)) for k, net in model.nets.items()},
        "config": {k: getattr(config, k) for k in ("image_size", "load_size", "ngf", "ndf", "ntf", "g_blocks",
                                                    "n_res", "n_shared", "gan_mode", "lambda_gan", "lambda_recon",
                                                    "lambda_kl", "lambda_cycle", "lambda_cycle_kl", "lambda_identity",
                                                    "pool_size", "lr", "latent_regularizer")},
    }


def baselines(args, A_test, B_test):
    """Reference L1 values: identity 'translation' |a - b| and the per-domain mean training image."""
    A_train, B_train = paired_arrays(args.data, "train", "AtoB", args.size)
    mean_l1 = 0.5 * (np.abs(B_train.mean(0) - B_test).mean() + np.abs(A_train.mean(0) - A_test).mean())
    return {"identity_l1": float(np.abs(A_test - B_test).mean()), "mean_image_l1": float(mean_l1)}


def write_report(args, results, baseline=None):
    """results.json and results.md from the per-model results."""
    report_args = {k: v for k, v in vars(args).items() if k != "report_only"}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"args": report_args, "threads": {"intra": args.threads, "inter": 1}, "baseline": baseline,
                   "results": results}, f, indent=2)
    lines = [
        f"# Unpaired evidence: facades photo (A) <-> label (B), {args.size}x{args.size}, {args.steps} steps each, "
        "batch 1",
        "",
        f"Widths ngf = ndf = {args.width} (AVB critic ntf = {args.width}); each model's preset otherwise. "
        f"Test split: {results[0]['n_test'] if results else '?'} facades test pairs (never seen as pairs in training). "
        f"Cycle L1 logged every {args.eval_every} steps on the first {args.log_images} test pairs; threshold "
        f"{args.threshold}. L1 is on the [-1, 1] scale. Shared 2-core CPU (another training run was active), TF "
        f"intra-op threads {args.threads}, inter-op 1.",
        "",
        "| model | test cycle L1 | test L1 to true counterpart | s/step (median) | steps to cycle L1 < "
        f"{args.threshold} |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        sps = f"{r['s_per_step']:.3f}" if r["s_per_step"] else "n/a"
        reached = r["steps_to_threshold"] if r["steps_to_threshold"] is not None else f"not within {r['steps']}"
        lines.append(f"| {r['model']} | {r['test_cycle_l1']:.4f} | {r['test_pair_l1']:.4f} | {sps} | {reached} |")
    thresholds = sorted({0.3, 0.25, 0.2, args.threshold}, reverse=True)
    lines += ["", "Steps until the logged cycle L1 first falls under each threshold (checked every "
              f"{args.eval_every} steps; '-' = not within the run):", "",
              "| model | " + " | ".join(f"< {t:g}" for t in thresholds) + " |", "|---|" + "---|" * len(thresholds)]
    for r in results:
        cells = [next((str(p["step"]) for p in r["curve"] if p["cycle_l1"] < t), "-") for t in thresholds]
        lines.append(f"| {r['model']} | " + " | ".join(cells) + " |")
    if baseline:
        lines += ["", f"Baselines on the same test pairs: L1 between a photo and its own label map "
                  f"|a - b| = {baseline['identity_l1']:.4f} (translation = identity); L1 to the per-domain mean "
                  f"training image = {baseline['mean_image_l1']:.4f}."]
    lines += ["", "Cycle L1 on the logged test pairs during training:", "",
              "| step | " + " | ".join(r["model"] for r in results) + " |",
              "|---|" + "---|" * len(results)]
    steps = sorted({p["step"] for r in results for p in r["curve"]})
    for s in steps:
        cells = []
        for r in results:
            v = next((p["cycle_l1"] for p in r["curve"] if p["step"] == s), None)
            cells.append("" if v is None else f"{v:.4f}")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    lines += ["", f"One seed and {args.steps} steps of batch 1 (about {args.steps * 100 // 400 / 100:g} epochs of the 400 "
              "training images, constant learning rate): an early-training comparison, not converged models. "
              "The L1 to the true counterpart rewards blurry averages, so the mean-image baseline beats every "
              "GAN on it; it is reported for completeness, not as a quality score."]
    lines += ["", "Sample grids: " + ", ".join(f"[{r['model']}]({r['model']}.png)" for r in results)
              + " (rows: A, A->B, A->B->A, true B | B, B->A, B->A->B, true A)."]
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    """Parse options, train each model (resuming), and write the report."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=DEFAULT_DATA, help="paired facades folder (train/, test/)")
    p.add_argument("--models", default="cyclegan,unit,avb-gtn")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--log-images", type=int, default=32, help="test pairs used for the periodic cycle-L1 log")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--width", type=int, default=32, help="ngf = ndf (= AVB ntf)")
    p.add_argument("--threshold", type=float, default=0.15, help="cycle-L1 threshold for the convergence count")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="bench/results/unpaired")
    p.add_argument("--report-only", action="store_true", help="rewrite results.md from results.json (no training)")
    args = p.parse_args(argv)
    if args.report_only:
        with open(os.path.join(args.out, "results.json")) as f:
            saved = json.load(f)
        A_test, B_test = paired_arrays(args.data, "test", "AtoB", args.size)
        write_report(argparse.Namespace(**{**saved["args"], "out": args.out}), saved["results"],
                     saved.get("baseline") or baselines(args, A_test, B_test))
        return
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    os.makedirs(args.out, exist_ok=True)
    A_test, B_test = paired_arrays(args.data, "test", "AtoB", args.size)
    A_log, B_log = A_test[:args.log_images], B_test[:args.log_images]
    baseline = baselines(args, A_test, B_test)
    results = []
    for name in args.models.split(","):
        r = run_model(name, args, A_test, B_test, A_log, B_log)
        r["n_test"] = len(A_test)
        results.append(r)
        write_report(args, results, baseline)
        print(f"[{name}] test cycle L1 {r['test_cycle_l1']:.4f} pair L1 {r['test_pair_l1']:.4f} "
              f"s/step {r['s_per_step']}", flush=True)


if __name__ == "__main__":
    main()
