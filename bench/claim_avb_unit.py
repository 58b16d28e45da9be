"""Claim: AVB-GTN converges in far fewer training iterations than UNIT (the AVB-GTN paper's one claim).

Arms: the `unit` preset (UNIT, NIPS weights, KL terms) and the `avb-gtn` preset (the same UNIT objective with every
KL term replaced by the AVB critic T(x, z), as Mescheder's AVB: prior term, simultaneous updates, 10x lr for T).
That replacement is the one thing under test: both arms share the data (facades photo A <-> label B as two
unaligned domains), the image size, ngf = ndf (= ntf) = --width, the constant lr, batch 1, the step count and, per
seed, the initial data order. Every --eval-every steps the test cycle L1 and the L1 to the true counterpart are
logged on the first --log-images test pairs; at the end both are measured on all 106 test pairs.

Verdict: at each cycle-L1 threshold reached by some run, an arm is faster when every one of its seeds gets under
it before every seed of the other arm (ranges apart). "reproduced" when AVB-GTN is faster at some thresholds and
UNIT at none; "not reproduced" when UNIT is faster at some and AVB-GTN at none; otherwise "inconclusive".

Resumable (bench/experiment.py): rerun the same command; finished runs are skipped, interrupted ones continue.
The runs live in --runs (shared with bench.claim_cyclegan_unit, which reuses the UNIT runs).

    python -m bench.claim_avb_unit --steps 1200 --eval-every 100 --seeds 0 1 2        # the README run
    python -m bench.claim_avb_unit --report-only                                     # re-render from the rows
"""
from __future__ import annotations

import argparse
import os

from bench import experiment as X
from bench import measures as M

ARMS = (X.Arm("unit", "unit"), X.Arm("avb-gtn", "avb-gtn"))
THRESHOLDS = (0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1)
RUNS = "bench/results/claims/unpaired_runs"


def add_unpaired_options(p: argparse.ArgumentParser, out: str) -> None:
    """Options shared by the two unpaired claims (they must agree for the UNIT runs to be shared)."""
    X.add_options(p, out, RUNS, width=16, steps=1200, eval_every=100,
                  data_help="paired facades folder (train/, test/), used unpaired")


def setup_of(args) -> X.Setup:
    return X.Setup(args.data, args.size, args.width, args.steps, args.eval_every, tuple(args.seeds))


def unpaired_fns(args):
    """(curve_fn, final_fn) of the unpaired claims: test cycle / pair L1 on a subset each epoch, on all at the end."""
    A, B = M.test_pairs(args.data, args.size, "AtoB")
    A_log, B_log = A[:args.log_images], B[:args.log_images]

    def curve_fn(model):
        return M.unpaired(model, A_log, B_log)[0]

    def final_fn(model, run_dir):
        scores, out = M.unpaired(model, A, B)
        M.unpaired_grid(os.path.join(run_dir, "grid.png"), A, B, out)
        return {**scores, "n_test": len(A)}

    return curve_fn, final_fn


def threshold_table(found, thresholds=THRESHOLDS):
    """{threshold: {arm: [steps per seed or None]}} for the thresholds some run reached."""
    table = {}
    for t in thresholds:
        per_arm = {name: [X.steps_to(r["curve"], "cycle_l1", t) for r in runs] for name, runs in found.items()}
        if any(s is not None for v in per_arm.values() for s in v):
            table[t] = per_arm
    return table


def faster(a_steps, b_steps) -> bool:
    """Every seed of a under the threshold before every seed of b (b's misses count as never)."""
    inf = float("inf")
    a = [s if s is not None else inf for s in a_steps]
    b = [s if s is not None else inf for s in b_steps]
    return bool(a and b) and max(a) < min(b)


def verdict(found) -> str:
    table = threshold_table(found)
    if len(found["unit"]) < 3 or len(found["avb-gtn"]) < 3:
        return "incomplete: fewer than 3 seeds per arm have finished"
    avb = [t for t, v in table.items() if faster(v["avb-gtn"], v["unit"])]
    unit = [t for t, v in table.items() if faster(v["unit"], v["avb-gtn"])]
    if avb and not unit:
        return f"reproduced: AVB-GTN reaches cycle L1 < {', '.join(map(str, avb))} in fewer steps on every seed"
    if unit and not avb:
        return (f"not reproduced: UNIT reaches cycle L1 < {', '.join(map(str, unit))} in fewer steps than AVB-GTN "
                "on every seed")
    return "inconclusive at this scale: the seeds' steps-to-threshold ranges overlap"


def summary_table(found, keys=("cycle_l1", "pair_l1")):
    lines = ["| arm | seeds | test cycle L1 | test L1 to true counterpart | s/step | train minutes per run |",
             "|---|---|---|---|---|---|"]
    for name, runs in found.items():
        s = {k: X.stats([r["final"][k] for r in runs]) for k in keys}
        sps = X.stats([r["s_per_step"] for r in runs])
        mins = X.stats([r["train_seconds"] / 60 for r in runs])
        lines.append(f"| {name} | {len(runs)} | {X.fmt(s['cycle_l1'])} | {X.fmt(s['pair_l1'])} | "
                     f"{X.fmt(sps, 3)} | {X.fmt(mins, 1)} |")
    return lines


def write_report(args, found, started):
    setup = setup_of(args)
    os.makedirs(args.out, exist_ok=True)
    table = threshold_table(found)
    v = verdict(found)
    X.plot_curves(os.path.join(args.out, "curves.png"), found,
                  [("cycle_l1", "test cycle L1 (32 pairs)"), ("pair_l1", "test L1 to true counterpart")],
                  f"UNIT vs AVB-GTN, facades {args.size}px, width {args.width}: mean and min-max of "
                  f"{len(args.seeds)} seeds")
    lines = [f"# AVB-GTN vs UNIT: steps to converge (facades photo <-> label, {args.size}x{args.size})", "",
             f"**Verdict: {v}.**", "",
             f"Command: `{X.train_commands(found)}` (report written at commit "
             f"`{X.git_commit()}`). Arms differ only in the latent regulariser (KL vs the AVB critic). Width "
             f"{args.width}, batch 1, {args.steps} steps, constant lr (both presets), seeds "
             f"{', '.join(map(str, args.seeds))}. Values: mean [min-max] over seeds; L1 on [-1, 1] images. "
             + X.wall_line(found), ""]
    lines += summary_table(found)
    lines += ["", f"Steps until the test cycle L1 (first {args.log_images} test pairs, logged every "
              f"{args.eval_every} steps) first falls under each threshold, per seed ('-': not within the run):", "",
              "| threshold | " + " | ".join(found) + " | faster (every seed) |", "|---|" + "---|" * (len(found) + 1)]
    for t, per_arm in table.items():
        cells = [", ".join("-" if s is None else str(s) for s in per_arm[name]) for name in found]
        who = ("avb-gtn" if faster(per_arm["avb-gtn"], per_arm["unit"]) else
               "unit" if faster(per_arm["unit"], per_arm["avb-gtn"]) else "neither (ranges overlap)")
        lines.append(f"| < {t:g} | " + " | ".join(cells) + f" | {who} |")
    lines += ["", "![curves](curves.png)", "",
              "Scale: MSGAN/UNIT-size runs take 10^5-10^6 iterations at 256 px; this is the first few epochs of "
              "the 400 training images at 64 px with narrow networks on a 2-core CPU, so it tests the early "
              "convergence speed the claim is about, not final quality."]
    X.save_report(args.out, lines, "AVB-GTN converges in far fewer training iterations than UNIT", v, setup, started,
                  found, thresholds={str(t): per_arm for t, per_arm in table.items()})
    print("\n".join(lines[:2 + len(found) + 8]), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_unpaired_options(p, "bench/results/claims/avb_unit")
    args = p.parse_args(argv)
    X.run_claim(args, ARMS, setup_of(args), unpaired_fns, write_report)


if __name__ == "__main__":
    main()
