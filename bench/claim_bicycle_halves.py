"""Claim: BicycleGAN combines its halves' strengths (Zhu et al. 2017): cVAE-GAN and cLR-GAN trade realism against
diversity, pix2pix + noise ignores its code, and BicycleGAN is both diverse and close to the truth.

Arms (facades labels -> photo): `pix2pix-noise` (the lambda_ms 0 arm of bench.claim_mode_seeking, the same runs),
`cvae-gan`, `clr-gan` and `bicyclegan`, each its preset's objective, on the same U-Net generator with z at every
layer, 2-scale PatchGAN discriminators, the same data, size, width ngf = ndf = nef = --width, batch, steps, linear
schedule and seeds. pix2pix + noise keeps pix2pix's conditional D (part of its objective); the BicycleGAN family
uses unconditional ones, as the reference. Measured on the 106 test inputs x k samples: diversity (mean pairwise
L1) against best-of-k L1 to the truth, one point per arm with min-max error bars over seeds (scatter.png).

Verdict: the paper's qualitative statements (STATEMENTS; its Table 1 measures realism by a human fooling rate,
replaced here by best-of-k L1, a closeness proxy) are each checked with the seed ranges apart: all hold on every
seed: "reproduced"; any reversed on every seed: "not reproduced"; otherwise "inconclusive at this scale", listing
which held.

    python -m bench.claim_bicycle_halves --steps 1500 --eval-every 150 --seeds 0 1 2      # the README run
    python -m bench.claim_bicycle_halves --report-only
"""
from __future__ import annotations

import argparse
import os

from bench import experiment as X
from bench.claim_mode_seeking import P2P_NOISE, add_paired_options, arm_table, final_stats, paired_fns, setup_of

ARMS = (P2P_NOISE, X.Arm("cvae-gan", "cvae-gan"), X.Arm("clr-gan", "clr-gan"), X.Arm("bicyclegan", "bicyclegan"))

# The paper's statements (Table 1, Sec. 5): (a, key, b) means arm a's key is higher than arm b's on every seed.
STATEMENTS = (
    ("bicyclegan", "diversity_l1", "pix2pix-noise", "BicycleGAN is more diverse than pix2pix + noise"),
    ("cvae-gan", "diversity_l1", "pix2pix-noise", "cVAE-GAN is more diverse than pix2pix + noise"),
    ("clr-gan", "diversity_l1", "pix2pix-noise", "cLR-GAN is more diverse than pix2pix + noise"),
    ("bicyclegan", "diversity_l1", "cvae-gan", "BicycleGAN is more diverse than cVAE-GAN"),
    ("clr-gan", "best_of_k_l1", "bicyclegan", "BicycleGAN is closer to the truth (best-of-k L1) than cLR-GAN"),
)


def check(found):
    """[(statement, 'holds' | 'reversed' | 'overlap')] on the final test measures."""
    out = []
    for high, key, low, text in STATEMENTS:
        h, l = final_stats(found[high], key), final_stats(found[low], key)
        out.append((text, "holds" if X.apart(l, h) else "reversed" if X.apart(h, l) else "overlap"))
    return out


def verdict(found) -> str:
    if any(len(runs) < 3 for runs in found.values()):
        return "incomplete: fewer than 3 seeds per arm have finished"
    results = check(found)
    held = [t for t, r in results if r == "holds"]
    reversed_ = [t for t, r in results if r == "reversed"]
    if len(held) == len(results):
        return "reproduced: " + "; ".join(held)
    if reversed_:
        return "not reproduced: reversed on every seed: " + "; ".join(reversed_)
    return (f"inconclusive at this scale: {len(held)} of {len(results)} statements hold on every seed"
            + (" (" + "; ".join(held) + ")" if held else ""))


def scatter(path, found, k):
    """Diversity (x) against best-of-k L1 (y), mean per arm with min-max bars over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, runs in found.items():
        if not runs:
            continue
        d, b = final_stats(runs, "diversity_l1"), final_stats(runs, "best_of_k_l1")
        ax.errorbar(d["mean"], b["mean"], xerr=[[d["mean"] - d["min"]], [d["max"] - d["mean"]]],
                    yerr=[[b["mean"] - b["min"]], [b["max"] - b["mean"]]], fmt="o", capsize=4,
                    label=f"{name} ({len(runs)} seeds)")
    ax.set_xlabel("diversity: mean pairwise L1 of the samples (higher: more diverse)")
    ax.set_ylabel(f"best-of-{k} L1 to the truth (lower: closer)")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("BicycleGAN and its halves, facades labels -> photo")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(args, found, started):
    setup = setup_of(args)
    os.makedirs(args.out, exist_ok=True)
    v = verdict(found)
    scatter(os.path.join(args.out, "scatter.png"), found, args.k)
    X.sample_grid(os.path.join(args.out, "samples.png"), found, args.runs, "strip.png")
    lines = ["# BicycleGAN vs its halves: diversity against best-of-k L1", "", f"**Verdict: {v}.**", "",
             f"Command: `{X.train_commands(found)}` (report written at commit "
             f"`{X.git_commit()}`). Facades labels -> photo, {args.size}x{args.size}, width {args.width}, batch "
             f"{args.batch_size}, {args.steps} steps (lr linear to 0 over the second half), seeds "
             f"{', '.join(map(str, args.seeds))}; each arm its preset's objective. Values: mean [min-max] over "
             f"seeds, {args.k} samples of each of the 106 test inputs, L1 on [-1, 1] images. "
             + X.wall_line(found), ""]
    lines += arm_table(found)
    if all(len(r) for r in found.values()):
        lines += ["", "| the paper's statement | here (every seed) |", "|---|---|"]
        lines += [f"| {t} | {r} |" for t, r in check(found)]
    lines += ["", "![scatter](scatter.png)", "", "![samples](samples.png)", "",
              "samples.png: per arm (first seed) three test inputs, each row label map, the k samples, true photo.", ""]
    X.save_report(args.out, lines, "BicycleGAN is both diverse and close to the truth; its halves trade one for the "
                  "other", v, setup, started, found)
    print("\n".join(lines), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_paired_options(p, "bench/results/claims/bicycle_halves")
    args = p.parse_args(argv)
    X.run_claim(args, ARMS, setup_of(args), paired_fns, write_report)


if __name__ == "__main__":
    main()
