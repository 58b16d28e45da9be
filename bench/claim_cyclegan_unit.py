"""Claim: CycleGAN vs UNIT on the same unpaired data (the UCLA thesis compares them): cycle and counterpart L1.

Arms: the `cyclegan` preset (ResNet-6 generators at 64 px, PatchGAN, LSGAN, cycle 10, identity 0.5, pool 50, lr
linear to 0 over the second half) and the `unit` preset (shared-latent VAE-GANs, NIPS weights, constant lr); each
model is its paper's method, so the arms differ by the method, on the same data (facades photo A <-> label B as
two unaligned domains), size, width ngf = ndf = --width, batch 1, step count and seeds. The UNIT runs are the ones
of bench.claim_avb_unit (same --runs folder and options).

Verdict per measure: the arm whose seeds all score lower than every seed of the other arm wins it; with
overlapping ranges it is "inconclusive at this scale". There is no single paper number to reproduce here, so the
verdict says which method does better at this budget.

    python -m bench.claim_cyclegan_unit --steps 1200 --eval-every 100 --seeds 0 1 2    # the README run
    python -m bench.claim_cyclegan_unit --report-only
"""
from __future__ import annotations

import argparse
import os

from bench import experiment as X
from bench.claim_avb_unit import add_unpaired_options, setup_of, summary_table, unpaired_fns

ARMS = (X.Arm("cyclegan", "cyclegan"), X.Arm("unit", "unit"))


def verdict(found) -> str:
    if any(len(runs) < 3 for runs in found.values()):
        return "incomplete: fewer than 3 seeds per arm have finished"
    parts = []
    for key, label in (("cycle_l1", "cycle L1"), ("pair_l1", "L1 to the true counterpart")):
        c, u = (X.stats([r["final"][key] for r in found[a]]) for a in ("cyclegan", "unit"))
        parts.append(f"{label}: " + ("CycleGAN lower on every seed" if X.apart(c, u) else
                                     "UNIT lower on every seed" if X.apart(u, c) else "inconclusive (ranges overlap)"))
    return "; ".join(parts)


def write_report(args, found, started):
    setup = setup_of(args)
    os.makedirs(args.out, exist_ok=True)
    v = verdict(found)
    X.plot_curves(os.path.join(args.out, "curves.png"), found,
                  [("cycle_l1", "test cycle L1 (32 pairs)"), ("pair_l1", "test L1 to true counterpart")],
                  f"CycleGAN vs UNIT, facades {args.size}px, width {args.width}: mean and min-max of "
                  f"{len(args.seeds)} seeds")
    X.sample_grid(os.path.join(args.out, "samples.png"), found, args.runs, "grid.png")
    lines = [f"# CycleGAN vs UNIT (facades photo <-> label, {args.size}x{args.size})", "", f"**Verdict: {v}.**", "",
             f"Command: `{X.train_commands(found)}` (report written at commit "
             f"`{X.git_commit()}`). Each arm is its paper's preset (objective, generator, discriminator, "
             f"schedule); shared: data, {args.size} px, width {args.width}, batch 1, {args.steps} steps, seeds "
             f"{', '.join(map(str, args.seeds))}. Values: mean [min-max] over seeds on the 106 test pairs. "
             + X.wall_line(found), ""]
    lines += summary_table(found)
    lines += ["", "![curves](curves.png)", "",
              "![samples](samples.png)", "",
              "samples.png: per arm (first seed, CycleGAN on top) three test images, each as two rows: A, A->B, "
              "A->B->A, true B and B, B->A, B->A->B, true A. The L1 to the true counterpart rewards blurry averages; "
              "it measures whether a translation keeps the input's layout, not realism."]
    X.save_report(args.out, lines, "CycleGAN vs UNIT on the same unpaired data: cycle and counterpart L1", v, setup,
                  started, found)
    print("\n".join(lines[:2 + len(found) + 8]), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_unpaired_options(p, "bench/results/claims/cyclegan_unit")
    args = p.parse_args(argv)
    X.run_claim(args, ARMS, setup_of(args), unpaired_fns, write_report)


if __name__ == "__main__":
    main()
