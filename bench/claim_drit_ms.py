"""Claim: DRIT-MS is more diverse than DRIT at equal or better realism (MSGAN, Mao et al. 2019, its DRIT test bed).

Arms: the `drit` preset (DRIT++ concat variant, as HelenMao/MSGAN's DRIT-Mode-Seeking without its mode-seeking
term) and the `drit-ms` preset (the same with MSGAN's term 1 / (ratio + 1e-5) in both directions, weight 1, and
the second random attribute it needs in the random-attribute branch). That term is the one thing under test: both
arms share the data (facades photo A <-> label B as two unaligned domains), 64 px, ngf = nef = ndf = --width,
batch 2, the reference's d_iter 3, lr and coupled weight decay, lr linear to 0 over the second half, the step
count and the seeds. Measured per direction on the 106 test inputs with k attribute codes each (the same codes for
every input and arm, seed 1000 + the run's seed):
  diversity       mean pairwise L1 of an input's k samples (the MSGAN paper uses LPIPS; pixel L1 here);
  NDB, JSD        of all N * k samples against K-means bins (K = --ndb-bins) of the real training images of the
                  target domain at 32 px (Richardson & Weiss; MSGAN reports them for DRIT); the same test on the
                  106 real test images gives the floor a perfect generator would reach with this few images;
  best-of-k L1    to the true counterpart (aligned test pairs never seen as pairs), and between-inputs L1 (the
                  same code on neighbouring inputs: near 0 when the output ignores its input).
Every --eval-every steps the diversity and best-of-k L1 of the first --log-images test inputs are logged.

Verdict per direction: "reproduced" when every seed of drit-ms is more diverse than every seed of drit and neither
its NDB nor its JSD is worse on every seed; "not reproduced" when it is less diverse on every seed, or more diverse
but worse on NDB or JSD on every seed (the paper claims no loss of realism); otherwise "inconclusive at this scale".
Labels -> photo (BtoA) is the headline: a label map has many photos, a photo nearly one label map.

Resumable (bench/experiment.py): rerun the same command; finished runs are skipped, interrupted ones continue.

    python -m bench.claim_drit_ms --steps 3000 --eval-every 300 --seeds 0 1 2        # the README run
    python -m bench.claim_drit_ms --report-only
"""
from __future__ import annotations

import argparse
import os

import numpy as np

from bench import experiment as X
from bench import measures as M

ARMS = (X.Arm("drit", "drit"), X.Arm("drit-ms", "drit-ms"))
RUNS = "bench/results/claims/drit_runs"
DIRECTIONS = (("BtoA", "labels -> photo"), ("AtoB", "photo -> labels"))
NDB_SIZE = 32


class OneWay:
    """A DRIT model seen as a paired sampler in one direction (bench.measures.paired calls sample(x, k=, seed=))."""

    def __init__(self, model, direction: str):
        self.model, self.direction = model, direction

    def sample(self, images, k: int, seed: int):
        return self.model.sample(images, k, seed, self.direction)


def _small(images) -> np.ndarray:
    import tensorflow as tf

    flat = np.asarray(images).reshape(-1, *np.shape(images)[-3:])
    return tf.image.resize(flat, (NDB_SIZE, NDB_SIZE), method="bilinear", antialias=True).numpy()


def drit_fns(args):
    """(curve_fn, final_fn): diversity / best-of-k on a subset each epoch; on all test inputs at the end, with
    NDB/JSD against bins of the target domain's training images and a sample grid."""
    from tfgan_i2i.data import image_grid, paired_arrays, write_image
    from tfgan_i2i.metrics import NDB

    photos, labels = M.test_pairs(args.data, args.size, "AtoB")
    train_photos, train_labels = paired_arrays(args.data, "train", "AtoB", args.size)
    tests = {"AtoB": (photos, labels), "BtoA": (labels, photos)}  # (inputs, true counterparts)
    bins = {"AtoB": NDB(_small(train_labels), k=args.ndb_bins, seed=0),
            "BtoA": NDB(_small(train_photos), k=args.ndb_bins, seed=0)}

    def curve_fn(model):
        point = {}
        for direction, _ in DIRECTIONS:
            x, y = (t[:args.log_images] for t in tests[direction])
            scores, _ = M.paired(OneWay(model, direction), x, y, args.k, seed=1000 + model.config.seed)
            point[f"diversity_{direction}"] = scores["diversity_l1"]
            point[f"best_of_k_l1_{direction}"] = scores["best_of_k_l1"]
        return point

    def final_fn(model, run_dir):
        out, grid = {"n_test": len(photos), "k": args.k, "ndb_bins": args.ndb_bins}, []
        for direction, _ in DIRECTIONS:
            x, y = tests[direction]
            scores, samples = M.paired(OneWay(model, direction), x, y, args.k, seed=1000 + model.config.seed)
            ndb, real = bins[direction].evaluate(_small(samples)), bins[direction].evaluate(_small(y))
            out[direction] = {**scores, "ndb": ndb["ndb"], "jsd": ndb["jsd"], "ndb_real_test": real["ndb"],
                              "jsd_real_test": real["jsd"]}
            grid += [[x[i], *samples[i], y[i]] for i in range(3)]
        write_image(os.path.join(run_dir, "grid.png"), image_grid(grid, padding=2))
        return out

    return curve_fn, final_fn


def _stats(runs, direction, key):
    return X.stats([r["final"][direction][key] for r in runs])


def verdict(found, direction: str) -> str:
    plain, ms = found["drit"], found["drit-ms"]
    if len(plain) < 3 or len(ms) < 3:
        return "incomplete: fewer than 3 seeds per arm have finished"
    d0, d1 = _stats(plain, direction, "diversity_l1"), _stats(ms, direction, "diversity_l1")
    worse = [key.upper() for key in ("ndb", "jsd") if X.apart(_stats(plain, direction, key), _stats(ms, direction, key))]
    if X.apart(d1, d0):
        return "not reproduced: DRIT-MS is less diverse on every seed"
    if X.apart(d0, d1) and worse:
        return f"not reproduced as claimed: more diverse on every seed, but a worse {' and '.join(worse)} on every seed"
    if X.apart(d0, d1):
        return "reproduced: more diverse on every seed, NDB and JSD within DRIT's range or better"
    return "inconclusive at this scale: the diversity ranges overlap"


def arm_table(found, direction: str):
    lines = ["| arm | seeds | diversity (mean pairwise L1) | NDB (of K) | JSD | best-of-k L1 to truth | between inputs, "
             "same code | s/step |", "|---|---|---|---|---|---|---|---|"]
    for name, runs in found.items():
        cells = [X.fmt(_stats(runs, direction, key), digits) for key, digits in
                 (("diversity_l1", 4), ("ndb", 1), ("jsd", 4), ("best_of_k_l1", 4), ("between_inputs_l1", 4))]
        lines.append(f"| {name} | {len(runs)} | " + " | ".join(cells)
                     + f" | {X.fmt(X.stats([r['s_per_step'] for r in runs]), 3)} |")
    real = [r["final"][direction] for runs in found.values() for r in runs]
    if real:
        lines.append(f"| real test images | - | - | {real[0]['ndb_real_test']} | {real[0]['jsd_real_test']:.4f} | "
                     "- | - | - |")
    return lines


def write_report(args, found, started):
    setup = setup_of(args)
    os.makedirs(args.out, exist_ok=True)
    verdicts = {direction: verdict(found, direction) for direction, _ in DIRECTIONS}
    X.plot_curves(os.path.join(args.out, "curves.png"), found,
                  [(f"{key}_{direction}", f"{label}: {name}") for direction, label in DIRECTIONS
                   for key, name in (("diversity", "diversity"), ("best_of_k_l1", f"best-of-{args.k} L1"))],
                  f"DRIT vs DRIT-MS, facades {args.size}px, width {args.width}: mean and min-max of "
                  f"{len(args.seeds)} seeds ({args.log_images} test inputs)")
    X.sample_grid(os.path.join(args.out, "samples.png"), found, args.runs, "grid.png")
    lines = [f"# Mode seeking on DRIT (MSGAN): DRIT vs DRIT-MS (facades photo <-> label, {args.size}x{args.size})",
             "", *[f"**Verdict, {label}: {verdicts[d]}.**" for d, label in DIRECTIONS], "",
             f"Command: `{X.train_commands(found)}` (report written at commit `{X.git_commit()}`). One change: the "
             f"mode-seeking term (`drit` vs `drit-ms`); shared: width {args.width}, batch 2, d_iter 3, {args.steps} "
             f"steps (lr linear to 0 over the second half), seeds {', '.join(map(str, args.seeds))}, the same "
             f"{args.k} codes per test input. Values: mean [min-max] over seeds on the 106 test inputs; L1 on "
             f"[-1, 1] images; NDB/JSD against {args.ndb_bins} K-means bins of the 400 training images of the target "
             f"domain at {NDB_SIZE} px (lower is better for both). " + X.wall_line(found), ""]
    for direction, label in DIRECTIONS:
        lines += [f"### {label} ({direction})", "", *arm_table(found, direction), ""]
    lines += ["![curves](curves.png)", "", "![samples](samples.png)", "",
              f"samples.png: per arm (first seed, DRIT on top) three test inputs labels -> photo, then three photo -> "
              f"labels; each row the input, its {args.k} samples and the true counterpart."]
    v = "; ".join(f"{label}: {verdicts[d]}" for d, label in DIRECTIONS)
    X.save_report(args.out, lines, "DRIT-MS is more diverse than DRIT at equal or better realism (MSGAN)", v, setup,
                  started, found, verdicts=verdicts)
    print("\n".join(lines), flush=True)


def setup_of(args) -> X.Setup:
    return X.Setup(args.data, args.size, args.width, args.steps, args.eval_every, tuple(args.seeds),
                   shared=(("batch_size", 2),))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    X.add_options(p, "bench/results/claims/drit_ms", RUNS, width=16, steps=3000, eval_every=300,
                  data_help="paired facades folder (train/, test/), used unpaired")
    p.add_argument("--k", type=int, default=5, help="attribute codes (samples) per test input")
    p.add_argument("--ndb-bins", type=int, default=20, help="K-means bins of NDB/JSD")
    args = p.parse_args(argv)
    X.run_claim(args, ARMS, setup_of(args), drit_fns, write_report)


if __name__ == "__main__":
    main()
