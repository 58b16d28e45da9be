"""Does mode seeking lower NDB/JSD? Conditional DCGAN vs DCGAN-MS (MSGAN Table 1), per-class NDB and JSD, 3+ seeds.

Claim under test (Mao et al. 2019, Table 1, CIFAR-10): adding the mode-seeking term to a class-conditional DCGAN
lowers the number of statistically different bins (NDB) and the Jensen-Shannon divergence (JSD) of the bin shares.
One variable: lambda_ms (arm "dcgan" 0, arm "dcgan-ms" --lambda-ms). Everything else is shared: MSGAN's DCGAN-MS
networks at full size (d = 128, 3,531,395 + 2,658,689 parameters), its step (two codes per example, one G call,
D and G GAN terms summed over both fakes; see ConditionalDCGAN), Adam(2e-4, 0.5, 0.999) with coupled L2 1e-4,
batch 32, the same data, the same number of steps, and per seed the same initial weights, data order and codes.

Data: scikit-learn's 8x8 handwritten digits (1797 images, shipped with scikit-learn, no download), scaled to [-1, 1],
bilinearly upscaled to 32x32 and repeated to 3 channels (the reference's RGB input), split 80/20 (stratified,
fixed seed 0 for every run). NDB/JSD (tfgan_i2i.metrics.NDB): per class c, K-means bins fitted on the training
images of class c, tested against --samples generated images of class c; also K = --bins-all bins over all classes.
The held-out real images give what a perfect generator scores at their (smaller) sample size.

Resumable: each (arm, seed) trains in chunks of --chunk steps, checkpointing networks, optimizers, seed state and
its loss curve to OUT/ckpt/<arm>-s<seed>/ after every chunk (the data order resumes exactly); when it has finished
and been evaluated, its row goes to OUT/rows/<arm>-s<seed>.json. Re-running the same command skips finished rows and
continues an interrupted one; results.json / results.md / samples.png are rewritten from the rows present.

    python -m bench.dcgan_ndb --steps 80 --chunk 20 --seeds 0 1 2        # the README run (see results.md)
    python -m bench.dcgan_ndb --steps 300 --chunk 20 --seeds 0 1 2       # later: extends those runs to 300 steps
    python -m bench.dcgan_ndb --steps 4 --chunk 2 --samples 20 --seeds 0 --out /tmp/dcgan_smoke
    python -m bench.dcgan_ndb --report-only                              # re-render results.md from the rows
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

import tfgan_i2i  # noqa: F401  (first: it turns TensorFlow's oneDNN kernels on before TensorFlow loads)
from bench.experiment import git_commit, read_json, write_json

ARMS = ("dcgan", "dcgan-ms")
BATCH = 32
SPLIT_SEED = 0
BIN_SEED = 0


def load_digits_32(seed: int = SPLIT_SEED):
    """(x_train, x_test, y_train, y_test): sklearn digits in [-1, 1], 32x32x3 (grey repeated), stratified 80/20."""
    import tensorflow as tf
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images.astype("float32") / 16.0) * 2.0 - 1.0
    x = tf.image.resize(x[..., None], (32, 32), method="bilinear").numpy().clip(-1, 1)
    x = np.repeat(x, 3, axis=-1)
    return train_test_split(x, d.target.astype("int32"), test_size=0.2, stratify=d.target, random_state=seed)


def arm_config(arm: str, seed: int, lambda_ms: float):
    """The arm's config: MSGAN's DCGAN preset (full-size reference networks); only lambda_ms differs."""
    from tfgan_i2i.models.dcgan import dcgan_config

    return dcgan_config(lambda_ms=lambda_ms if arm == "dcgan-ms" else 0.0, seed=seed, output_nc=3,
                        extra={"num_classes": 10})


def train_arm(arm: str, seed: int, args, x_tr, y_tr):
    """Train one (arm, seed) to args.steps in checkpointed chunks (resuming); returns (model, state)."""
    import keras
    import tensorflow as tf

    from tfgan_i2i.models.dcgan import ConditionalDCGAN

    run_dir = os.path.join(args.out, "ckpt", f"{arm}-s{seed}")
    os.makedirs(run_dir, exist_ok=True)
    state_path = os.path.join(run_dir, "state.json")
    state = read_json(state_path, {"curve": [], "chunk_seconds": [], "train_seconds": 0.0})
    keras.utils.set_random_seed(seed)  # initial weights: the same for both arms of a seed
    model = ConditionalDCGAN(arm_config(arm, seed, args.lambda_ms))
    model.compile()
    step = tf.Variable(0, dtype=tf.int64)
    ckpt = tf.train.Checkpoint(step=step, seed=model.seed_generator.state, **model.nets,
                               **{f"opt_{k}": o for k, o in model.optimizers_by_name.items()})
    manager = tf.train.CheckpointManager(ckpt, run_dir, max_to_keep=2)
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    done = int(step.numpy())
    if done:
        print(f"[{arm} s{seed}] resuming at step {done}/{args.steps}", flush=True)
    # One fixed shuffled stream per seed; skipping `done` batches puts a resumed run exactly where it stopped.
    stream = (tf.data.Dataset.from_tensor_slices((x_tr, y_tr)).shuffle(len(x_tr), seed=seed)
              .repeat().batch(BATCH, drop_remainder=True))
    first = True
    while done < args.steps:
        chunk = min(args.chunk, args.steps - done)
        t = time.perf_counter()
        data = stream.skip(done).take(chunk).prefetch(2)
        history = model.fit(data, epochs=1, verbose=0).history
        seconds = time.perf_counter() - t
        done += chunk
        state["train_seconds"] += seconds
        if not first:  # the first chunk of a process includes tracing
            state["chunk_seconds"].append(seconds / chunk)
        first = False
        state["curve"].append({"step": done, **{k: float(v[-1]) for k, v in history.items()}})
        print(f"[{arm} s{seed}] step {done}/{args.steps} " + " ".join(
            f"{k} {v:.3f}" for k, v in state["curve"][-1].items() if k != "step") + f" ({seconds / chunk:.2f} s/step)",
            flush=True)
        step.assign(done)
        manager.save(checkpoint_number=done)
        write_json(state_path, state)
    return model, state


def evaluate_arm(model, seed: int, args, per_class_ndb, ndb_all, y_tr):
    """Per-class and all-class NDB/JSD of generated images, within-class pixel diversity; plus a few samples."""
    import keras

    from tfgan_i2i.metrics import pairwise_l1

    classes = sorted(per_class_ndb)
    per_class, generated = {}, []
    z_all = keras.random.normal((len(classes) * args.samples, model.config.nz), seed=10_000 + seed)
    for i, c in enumerate(classes):
        z = z_all[i * args.samples:(i + 1) * args.samples]
        labels = np.full(args.samples, c, "int32")
        imgs = np.concatenate([keras.ops.convert_to_numpy(model.translate(labels[j:j + 250], z[j:j + 250]))
                               for j in range(0, args.samples, 250)])
        generated.append(imgs)
        per_class[int(c)] = {k: v for k, v in per_class_ndb[c].evaluate(imgs).items() if k in ("ndb", "jsd", "n")}
        groups = imgs[:min(200, len(imgs)) // 10 * 10].reshape(-1, 10, *imgs.shape[1:])
        per_class[int(c)]["pixel_diversity"] = float(pairwise_l1(groups).mean())
    counts = np.bincount(y_tr, minlength=len(classes))
    mixed = np.concatenate([g[:max(1, int(round(args.samples * n / counts.max())))] for g, n in zip(generated, counts)])
    a = ndb_all.evaluate(mixed)
    return {
        "per_class": per_class,
        "mean_ndb": float(np.mean([v["ndb"] for v in per_class.values()])),
        "mean_jsd": float(np.mean([v["jsd"] for v in per_class.values()])),
        "mean_pixel_diversity": float(np.mean([v["pixel_diversity"] for v in per_class.values()])),
        "all_ndb": int(a["ndb"]), "all_jsd": float(a["jsd"]),
    }, [g[j] for g in generated for j in range(2)]


def _stats(values):
    return {"mean": float(np.mean(values)), "min": float(np.min(values)), "max": float(np.max(values)), "n": len(values)}


def verdict(summary) -> str:
    """reproduced: DCGAN-MS below DCGAN on every seed range of mean per-class NDB and JSD; not reproduced: not lower on
    either mean; otherwise inconclusive."""
    a, b = summary.get("dcgan"), summary.get("dcgan-ms")
    if not a or not b or min(a["mean_ndb"]["n"], b["mean_ndb"]["n"]) < 3:
        return "incomplete (fewer than 3 seeds per arm so far)"
    keys = ("mean_ndb", "mean_jsd")
    if all(b[k]["max"] < a[k]["min"] for k in keys):
        return "reproduced: mode seeking lowers per-class NDB and JSD, with no overlap between the seeds' ranges"
    if all(b[k]["mean"] >= a[k]["mean"] for k in keys):
        return "not reproduced: mode seeking does not lower per-class NDB or JSD on average at this scale"
    better = [k.split("_")[1].upper() for k in keys if b[k]["mean"] < a[k]["mean"]]
    return (f"inconclusive at this scale: mode seeking lowers the mean {' and '.join(better)}, but the seeds' ranges "
            "overlap")


def write_report(args, rows, real_test, setup):
    """results.json (rows, summary, command, commit, wall time) and results.md (table + verdict)."""
    summary = {}
    for arm in ARMS:
        arm_rows = [r for r in rows if r["arm"] == arm]
        if arm_rows:
            summary[arm] = {k: _stats([r["metrics"][k] for r in arm_rows])
                            for k in ("mean_ndb", "mean_jsd", "all_ndb", "all_jsd", "mean_pixel_diversity")}
            summary[arm]["s_per_step"] = _stats([r["s_per_step"] for r in arm_rows if r["s_per_step"]] or [0.0])
    line = verdict(summary)
    wall = sum(r["train_seconds"] + r["eval_seconds"] for r in rows)
    results = {"claim": "MSGAN Table 1: DCGAN + mode seeking has lower NDB and JSD than DCGAN", "verdict": line,
               "command": setup["command"], "commit": setup["commit"], "setup": setup,
               "wall_seconds_total": wall, "real_test": real_test, "summary": summary, "rows": rows}
    write_json(os.path.join(args.out, "results.json"), results)

    fmt = lambda s, p: f"{s['mean']:.{p}f} [{s['min']:.{p}f}-{s['max']:.{p}f}]"  # noqa: E731
    lines = [
        "# Conditional DCGAN vs DCGAN-MS: per-class NDB / JSD (sklearn digits, 32x32x3)", "",
        f"**Verdict: {line}.**", "",
        f"Command: `{setup['command']}` (commit `{setup['commit']}`). "
        f"{args.steps} steps of batch {BATCH} per run ({args.steps * BATCH / setup['train_images']:.1f} epochs of "
        f"{setup['train_images']} training images), seeds {', '.join(str(s) for s in args.seeds)}; the arms differ "
        f"only in lambda_ms (0 vs {args.lambda_ms}). Networks: MSGAN's DCGAN-MS at full size (d = 128; G "
        f"{setup['params']['G']:,}, D {setup['params']['D']:,} parameters). Per class: K = {args.bins} K-means bins "
        f"on that class's ~{setup['train_images'] // 10} training images, {args.samples} generated images, z-test "
        f"alpha 0.05; 'all': K = {args.bins_all} over all classes. Values: mean over seeds [min-max]. Wall time "
        f"{wall / 60:.0f} min for {len(rows)} runs.", "",
        "| arm | seeds | mean per-class NDB (of K) | mean per-class JSD | all-class NDB | all-class JSD | "
        "within-class pixel diversity | s/step |",
        "|---|---|---|---|---|---|---|---|",
        f"| real test images | - | {real_test['mean_ndb']:.1f} | {real_test['mean_jsd']:.4f} | {real_test['all_ndb']} | "
        f"{real_test['all_jsd']:.4f} | - | - |",
    ]
    for arm, s in summary.items():
        lines.append(f"| {arm} | {s['mean_ndb']['n']} | {fmt(s['mean_ndb'], 1)} | {fmt(s['mean_jsd'], 4)} | "
                     f"{fmt(s['all_ndb'], 1)} | {fmt(s['all_jsd'], 4)} | {fmt(s['mean_pixel_diversity'], 4)} | "
                     f"{s['s_per_step']['mean']:.2f} |")
    lines += ["", "Per seed:", "", "| arm | seed | mean NDB | mean JSD | all NDB | all JSD | final D | final G_GAN |",
              "|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["arm"], r["seed"])):
        m, last = r["metrics"], r["curve"][-1]
        lines.append(f"| {r['arm']} | {r['seed']} | {m['mean_ndb']:.1f} | {m['mean_jsd']:.4f} | {m['all_ndb']} | "
                     f"{m['all_jsd']:.4f} | {last.get('D', float('nan')):.3f} | {last.get('G_GAN', float('nan')):.3f} |")
    lines += ["", "samples.png: per run (arms x seeds) one row, two samples of each class 0-9.", "",
              "Notes: MSGAN trains 200 epochs of CIFAR-10 (about 312k steps); this run is a few hundred steps on a "
              "shared 2-core CPU, so it tests the direction of the effect early in training, not the paper's "
              "numbers. The real-test JSD comes from ~36 images per class and is inflated by their small number; "
              "compare the arms, which use the same number of samples, with each other.", ""]
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines), flush=True)


def main(argv=None) -> int:
    """Train and evaluate every (arm, seed) not yet finished, then rewrite results.json / results.md / samples.png."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=80, help="training steps per run (batch 32)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--chunk", type=int, default=20, help="steps between checkpoints")
    p.add_argument("--bins", type=int, default=10, help="K-means bins per class")
    p.add_argument("--bins-all", type=int, default=50, help="K-means bins over all classes together")
    p.add_argument("--samples", type=int, default=500, help="generated images per class")
    p.add_argument("--lambda-ms", type=float, default=1.0, help="the dcgan-ms arm's weight (MSGAN: 1)")
    p.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads (inter-op: 1)")
    p.add_argument("--report-only", action="store_true", help="only re-render the report from the finished rows")
    p.add_argument("--out", default=os.path.join("bench", "results", "dcgan_ndb"))
    args = p.parse_args(argv)

    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from tfgan_i2i.data import image_grid, write_image
    from tfgan_i2i.metrics import NDB

    os.makedirs(os.path.join(args.out, "rows"), exist_ok=True)
    x_tr, x_te, y_tr, y_te = load_digits_32()
    classes = sorted(set(y_tr.tolist()))
    per_class_ndb = {c: NDB(x_tr[y_tr == c], k=args.bins, seed=BIN_SEED) for c in classes}
    ndb_all = NDB(x_tr, k=args.bins_all, seed=BIN_SEED)
    real_pc = {int(c): per_class_ndb[c].evaluate(x_te[y_te == c]) for c in classes}
    real_all = ndb_all.evaluate(x_te)
    real_test = {"mean_ndb": float(np.mean([v["ndb"] for v in real_pc.values()])),
                 "mean_jsd": float(np.mean([v["jsd"] for v in real_pc.values()])),
                 "all_ndb": int(real_all["ndb"]), "all_jsd": float(real_all["jsd"]),
                 "per_class": {c: {"ndb": int(v["ndb"]), "jsd": float(v["jsd"])} for c, v in real_pc.items()}}
    from tfgan_i2i.models.dcgan import ConditionalDCGAN

    probe = ConditionalDCGAN(arm_config("dcgan", 0, args.lambda_ms))
    setup = {"command": "python -m bench.dcgan_ndb " + " ".join(argv), "commit": git_commit(),
             "args": vars(args), "train_images": int(len(x_tr)), "test_images": int(len(x_te)),
             "data": "sklearn load_digits 8x8 -> 32x32 bilinear, grey repeated to 3 channels, [-1, 1]",
             "batch_size": BATCH, "split_seed": SPLIT_SEED, "bin_seed": BIN_SEED,
             "params": {k: int(sum(np.prod(v.shape) for v in net.trainable_variables)) for k, net in probe.nets.items()},
             "tensorflow": tf.__version__, "keras": keras.__version__, "machine": platform.machine(),
             "cpus": os.cpu_count()}
    del probe
    previous = read_json(os.path.join(args.out, "results.json"), {})
    if args.report_only and previous.get("command"):  # keep the command and commit of the run the rows came from
        setup["command"], setup["commit"] = previous["command"], previous["commit"]

    def row_path(arm, seed):
        return os.path.join(args.out, "rows", f"{arm}-s{seed}.json")

    def report():
        rows = [r for r in (read_json(row_path(a, s)) for s in args.seeds for a in ARMS) if r]
        strip_files = [os.path.join(args.out, "ckpt", f"{r['arm']}-s{r['seed']}", "strip.npy") for r in rows]
        strips = [np.load(f) for f in strip_files if os.path.isfile(f)]
        if strips:
            write_image(os.path.join(args.out, "samples.png"), image_grid([list(s) for s in strips], padding=2))
        write_report(args, rows, real_test, setup)

    for seed in args.seeds:
        for arm in ARMS:
            row = read_json(row_path(arm, seed))
            if args.report_only or (row and row["steps"] >= args.steps):
                continue  # finished (a row of fewer steps than --steps is extended from its checkpoint)
            model, state = train_arm(arm, seed, args, x_tr, y_tr)
            t = time.perf_counter()
            metrics, strip = evaluate_arm(model, seed, args, per_class_ndb, ndb_all, y_tr)
            np.save(os.path.join(args.out, "ckpt", f"{arm}-s{seed}", "strip.npy"), np.stack(strip))
            row = {"arm": arm, "seed": seed, "lambda_ms": model.config.lambda_ms, "steps": args.steps,
                   "metrics": metrics, "curve": state["curve"], "train_seconds": state["train_seconds"],
                   "eval_seconds": time.perf_counter() - t,
                   "s_per_step": float(np.median(state["chunk_seconds"])) if state["chunk_seconds"] else None,
                   "commit": setup["commit"], "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
            write_json(row_path(arm, seed), row)
            print(f"[{arm} s{seed}] row written: mean NDB {metrics['mean_ndb']:.2f} mean JSD {metrics['mean_jsd']:.4f}",
                  flush=True)
            del model
            keras.backend.clear_session()
            report()  # the report follows the run as it goes (verdict "incomplete" until every row is in)
    report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
