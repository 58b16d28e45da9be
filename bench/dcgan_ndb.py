"""MSGAN Table 1 at small scale: class-conditional DCGAN vs DCGAN + mode seeking, per-class NDB and JSD.

Data: scikit-learn's 8x8 handwritten digits (1797 real images, shipped with the package, no download), scaled to
[-1, 1] and bilinearly upscaled to 32x32, split 80/20 (stratified, fixed seed). Both models train for the same
number of steps from the same seed; then per class c, K-means bins are fitted on the training images of class c and
`--samples` generated images of class c are tested against them (NDB, JSD). The held-out real images of each class
give the baseline a perfect generator would get at that sample size.

    python -m bench.dcgan_ndb                      # default: 3000 steps per model, ~15-25 min on 2 cores
    python -m bench.dcgan_ndb --steps 200 --out /tmp/dcgan_smoke
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np


def load_digits_32(seed: int = 0):
    """(x_train, x_test, y_train, y_test): sklearn digits in [-1, 1], 32x32x1, stratified 80/20 split."""
    import tensorflow as tf
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images.astype("float32") / 16.0) * 2.0 - 1.0
    x = tf.image.resize(x[..., None], (32, 32), method="bilinear").numpy().clip(-1, 1)
    return train_test_split(x, d.target.astype("int32"), test_size=0.2, stratify=d.target, random_state=seed)


def main(argv=None) -> int:
    """Train both models, evaluate per-class NDB/JSD, write results.json and results.md."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3000, help="training steps per model (batch 32)")
    p.add_argument("--bins", type=int, default=10, help="K-means bins per class")
    p.add_argument("--bins-all", type=int, default=50, help="K-means bins over all classes together")
    p.add_argument("--samples", type=int, default=1000, help="generated images per class")
    p.add_argument("--lambda-ms", type=float, default=1.0)
    p.add_argument("--width", type=int, default=32, help="ngf = ndf")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads (inter-op: 1)")
    p.add_argument("--out", default=os.path.join("bench", "results", "dcgan_ndb"))
    args = p.parse_args(argv)

    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from tfgan_i2i.data import image_grid, write_image
    from tfgan_i2i.metrics import NDB, pairwise_l1
    from tfgan_i2i.models.dcgan import ConditionalDCGAN, dcgan_config

    os.makedirs(args.out, exist_ok=True)
    x_tr, x_te, y_tr, y_te = load_digits_32(args.seed)
    classes = sorted(set(y_tr.tolist()))
    per_class_ndb = {c: NDB(x_tr[y_tr == c], k=args.bins, seed=args.seed) for c in classes}
    ndb_all = NDB(x_tr, k=args.bins_all, seed=args.seed)
    results = {
        "setup": {**vars(args), "train_images": int(len(x_tr)), "test_images": int(len(x_te)),
                  "data": "sklearn load_digits 8x8 -> 32x32 bilinear, [-1, 1]", "batch_size": 32,
                  "tensorflow": tf.__version__, "keras": keras.__version__, "machine": platform.machine()},
        "real_test": {
            "per_class": {int(c): per_class_ndb[c].evaluate(x_te[y_te == c]) for c in classes},
            "all": ndb_all.evaluate(x_te),
        },
    }
    grids = []
    for name, lambda_ms in (("dcgan", 0.0), ("dcgan-ms", args.lambda_ms)):
        keras.utils.set_random_seed(args.seed)
        config = dcgan_config(lambda_ms=lambda_ms, output_nc=1, ngf=args.width, ndf=args.width, seed=args.seed,
                              extra={"num_classes": len(classes)})
        model = ConditionalDCGAN(config)
        model.compile()
        ds = (tf.data.Dataset.from_tensor_slices((x_tr, y_tr)).shuffle(len(x_tr), seed=args.seed)
              .repeat().batch(32, drop_remainder=True).prefetch(2))
        model.fit(ds, steps_per_epoch=20, epochs=1, verbose=0)  # warm-up (tracing), counted in the steps
        start = time.perf_counter()
        history = model.fit(ds, steps_per_epoch=args.steps - 20, epochs=1, verbose=2)
        seconds = time.perf_counter() - start
        per_class, generated = {}, []
        for c in classes:
            labels = np.full(args.samples, c, "int32")
            imgs = np.concatenate([keras.ops.convert_to_numpy(model.translate(labels[i:i + 500]))
                                   for i in range(0, args.samples, 500)])
            generated.append(imgs)
            per_class[int(c)] = per_class_ndb[c].evaluate(imgs)
            per_class[int(c)]["pixel_diversity"] = float(pairwise_l1(imgs[:min(200, len(imgs) // 10 * 10)].reshape(-1, 10, 32, 32, 1)).mean())
        counts = np.bincount(y_tr, minlength=len(classes))
        mixed = np.concatenate([g[:max(1, int(round(args.samples * n / counts.max())))]
                                for g, n in zip(generated, counts)])
        results[name] = {
            "lambda_ms": lambda_ms,
            "seconds_per_step": seconds / (args.steps - 20),
            "final_losses": {k: float(v[-1]) for k, v in history.history.items()},
            "per_class": per_class,
            "all": ndb_all.evaluate(mixed),
        }
        grids.append([g[j] for g in generated for j in range(2)])
        print(name, "mean NDB", np.mean([v["ndb"] for v in per_class.values()]),
              "mean JSD", np.mean([v["jsd"] for v in per_class.values()]), flush=True)
    write_image(os.path.join(args.out, "samples.png"), image_grid(grids, padding=2))

    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    lines = [
        "# DCGAN vs DCGAN + mode seeking: per-class NDB / JSD (sklearn digits, 32x32)", "",
        f"Command: `python -m bench.dcgan_ndb --steps {args.steps} --bins {args.bins} --samples {args.samples}`; "
        f"{args.steps} steps of batch 32 per model, ngf = ndf = {args.width}, seed {args.seed}, lambda_ms "
        f"{args.lambda_ms}. Per class: K = {args.bins} K-means bins on that class's {len(x_tr) // len(classes)}-ish "
        f"training images, {args.samples} generated images, z-test alpha 0.05. 'real test' = the held-out real "
        "images of the class (about 36), i.e. what a perfect generator scores at that (smaller) sample size.", "",
        "| class | real test NDB | real test JSD | DCGAN NDB | DCGAN JSD | DCGAN+MS NDB | DCGAN+MS JSD |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in classes:
        r, a, b = (results[k]["per_class"][int(c)] for k in ("real_test", "dcgan", "dcgan-ms"))
        lines.append(f"| {c} | {r['ndb']} | {r['jsd']:.4f} | {a['ndb']} | {a['jsd']:.4f} | {b['ndb']} | {b['jsd']:.4f} |")
    mean = lambda k, f: np.mean([v[f] for v in results[k]["per_class"].values()])  # noqa: E731
    lines.append(f"| **mean** | {mean('real_test', 'ndb'):.1f} | {mean('real_test', 'jsd'):.4f} | "
                 f"{mean('dcgan', 'ndb'):.1f} | {mean('dcgan', 'jsd'):.4f} | {mean('dcgan-ms', 'ndb'):.1f} | "
                 f"{mean('dcgan-ms', 'jsd'):.4f} |")
    lines += ["", f"All classes together (K = {args.bins_all}, generated images in the training class proportions):", "",
              "| set | NDB | NDB/K | JSD |", "|---|---|---|---|"]
    for k in ("real_test", "dcgan", "dcgan-ms"):
        a = results[k]["all"]
        lines.append(f"| {k} | {a['ndb']} | {a['ndb_fraction']:.2f} | {a['jsd']:.4f} |")
    lines += ["", "| model | s/step | mean within-class pixel diversity (L1) |", "|---|---|---|"]
    for k in ("dcgan", "dcgan-ms"):
        lines.append(f"| {k} | {results[k]['seconds_per_step']:.3f} | {mean(k, 'pixel_diversity'):.4f} |")
    lines += ["", "samples.png: per model one row, two samples of each class 0-9.", "",
              "Notes: one seed; s/step depends on what else runs on the machine. JSD from the ~36 real test images "
              "per class is inflated by their small number (bin shares of few samples are noisy), so compare the two "
              "models, which use the same number of samples per class, with each other.", ""]
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
