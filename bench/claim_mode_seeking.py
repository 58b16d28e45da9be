"""Claim: the mode-seeking term raises diversity without losing realism (MSGAN, Mao et al. 2019).

Part 1, pix2pix + noise on facades labels -> photo. Arms: the `pix2pix-noise` preset with lambda_ms 0 and the
same preset with lambda_ms = --lambda-ms (MSGAN's pix2pix weight 1): MSGAN's step (two codes per input, D and G's
GAN terms over both fakes, the L1 on the first) is what lambda_ms > 0 turns on; nothing else differs (dropout, crop
jitter, code count, schedule, batch, width, seeds are the same). Measured on the 106 test inputs with k samples
each: diversity (mean pairwise L1 of the k samples), best-of-k L1 to the truth, between-inputs L1 (same code,
neighbouring inputs); the first two also every --eval-every steps on --log-images inputs.
Part 2, class-conditional DCGAN vs DCGAN-MS with MSGAN's networks (NDB/JSD): bench.dcgan_ndb, whose
results.json this report includes.

Verdict (part 1): "reproduced" when every seed of the mode-seeking arm has a higher diversity than every seed of
the plain arm and its best-of-k L1 is not worse on every seed; "not reproduced" when the diversity ranges are
apart the other way, or when the diversity comes with a worse best-of-k L1 on every seed (the paper claims no
loss of quality); otherwise inconclusive. The verdict also says when the outputs depend less on the input.

The paired runs (--runs) are shared with bench.claim_bicycle_halves (its pix2pix + noise arm is this lambda_ms 0
arm). Resumable: rerun the same command.

    python -m bench.claim_mode_seeking --steps 1500 --eval-every 150 --seeds 0 1 2        # the README run
    python -m bench.claim_mode_seeking --report-only
"""
from __future__ import annotations

import argparse
import os

from bench import experiment as X
from bench import measures as M

RUNS = "bench/results/claims/paired_runs"
P2P_NOISE = X.Arm("pix2pix-noise", "pix2pix-noise")


def ms_arm(lambda_ms: float, warmup: int = 0) -> X.Arm:
    """The mode-seeking arm; warmup > 0 is the package's option beyond the paper (lambda_ms ramped from 0)."""
    if warmup:
        return X.Arm(f"pix2pix-noise-ms{lambda_ms:g}-warmup{warmup}", "pix2pix-noise",
                     {"lambda_ms": lambda_ms, "ms_warmup": warmup})
    return X.Arm(f"pix2pix-noise-ms{lambda_ms:g}", "pix2pix-noise", {"lambda_ms": lambda_ms})


def add_paired_options(p: argparse.ArgumentParser, out: str) -> None:
    """Options shared by the paired claims (they must agree for the shared runs)."""
    X.add_options(p, out, RUNS, width=32, steps=1500, eval_every=150,
                  data_help="facades folder (train/, test/ of A|B pairs)")
    p.add_argument("--batch-size", type=int, default=2, help="every arm's batch (BicycleGAN's default 2)")
    p.add_argument("--k", type=int, default=5, help="samples per test input")


def setup_of(args) -> X.Setup:
    return X.Setup(args.data, args.size, args.width, args.steps, args.eval_every, tuple(args.seeds),
                   shared=(("direction", "BtoA"), ("batch_size", args.batch_size)))


def paired_fns(args):
    """(curve_fn, final_fn): diversity / best-of-k / between-inputs L1 on a subset each epoch, on all at the end.
    The codes come from seed 1000 + the run's seed (the same codes for every arm of a seed)."""
    A, B = M.test_pairs(args.data, args.size, "BtoA")
    A_log, B_log = A[:args.log_images], B[:args.log_images]

    def curve_fn(model):
        return M.paired(model, A_log, B_log, args.k, seed=1000 + model.config.seed)[0]

    def final_fn(model, run_dir):
        scores, samples = M.paired(model, A, B, args.k, seed=1000 + model.config.seed)
        M.paired_strip(os.path.join(run_dir, "strip.png"), A, B, samples)
        return {**scores, "n_test": len(A), "k": args.k}

    return curve_fn, final_fn


def final_stats(runs, key):
    return X.stats([r["final"][key] for r in runs])


def verdict(plain, ms) -> str:
    if len(plain) < 3 or len(ms) < 3:
        return "incomplete: fewer than 3 seeds per arm have finished"
    d0, d1 = final_stats(plain, "diversity_l1"), final_stats(ms, "diversity_l1")
    b0, b1 = final_stats(plain, "best_of_k_l1"), final_stats(ms, "best_of_k_l1")
    more, less, worse = X.apart(d0, d1), X.apart(d1, d0), X.apart(b0, b1)
    e0, e1 = final_stats(plain, "between_inputs_l1"), final_stats(ms, "between_inputs_l1")
    ignores = (", and its outputs depend less on the input (between-inputs L1 lower on every seed)"
               if X.apart(e1, e0) else "")
    if more and not worse:
        return ("reproduced: higher diversity on every seed, best-of-k L1 within the plain arm's range or better"
                + ignores)
    if more:
        return ("not reproduced as claimed: higher diversity on every seed, but at a cost the paper does not report: "
                "a worse best-of-k L1 on every seed" + ignores)
    if less:
        return "not reproduced: lower diversity on every seed"
    return "inconclusive at this scale: the diversity ranges overlap"


def arm_table(found, names=None):
    lines = ["| arm | seeds | diversity (mean pairwise L1) | best-of-k L1 to truth | between inputs, same code | "
             "s/step |", "|---|---|---|---|---|---|"]
    for name, runs in found.items():
        if names and name not in names:
            continue
        lines.append(f"| {name} | {len(runs)} | {X.fmt(final_stats(runs, 'diversity_l1'))} | "
                     f"{X.fmt(final_stats(runs, 'best_of_k_l1'))} | {X.fmt(final_stats(runs, 'between_inputs_l1'))} "
                     f"| {X.fmt(X.stats([r['s_per_step'] for r in runs]), 3)} |")
    return lines


def dcgan_part(path="bench/results/dcgan_ndb/results.json"):
    """Lines summarising bench.dcgan_ndb (part 2) from its results file."""
    saved = X.read_json(path)
    if not saved:
        return ["Part 2 (DCGAN vs DCGAN-MS, NDB/JSD): not run yet (`python -m bench.dcgan_ndb`)."]
    return [f"Part 2, class-conditional DCGAN vs DCGAN-MS (NDB/JSD, `{saved.get('command', 'bench.dcgan_ndb')}`): "
            f"**{saved.get('verdict', '?')}.** See [dcgan_ndb/results.md](../../dcgan_ndb/results.md)."]


def write_report(args, found, started):
    setup = setup_of(args)
    os.makedirs(args.out, exist_ok=True)
    plain, ms = found[P2P_NOISE.name], found[ms_arm(args.lambda_ms).name]
    v = verdict(plain, ms)
    X.plot_curves(os.path.join(args.out, "curves.png"), found,
                  [("diversity_l1", "diversity: mean pairwise L1"), ("best_of_k_l1", f"best-of-{args.k} L1 to truth"),
                   ("between_inputs_l1", "between inputs, same code")],
                  f"pix2pix + noise, lambda_ms 0 vs {args.lambda_ms:g}: mean and min-max of {len(args.seeds)} seeds "
                  f"({args.log_images} test inputs)")
    X.sample_grid(os.path.join(args.out, "samples.png"), found, args.runs, "strip.png")
    lines = [f"# Mode seeking (MSGAN): pix2pix + noise with and without the mode-seeking term", "",
             f"**Verdict (part 1, facades labels -> photo, {args.size}x{args.size}): {v}.**", "",
             f"Command: `{X.train_commands(found)}` (report written at commit "
             f"`{X.git_commit()}`). One change: lambda_ms 0 vs {args.lambda_ms:g} on the pix2pix-noise preset; "
             f"shared: width {args.width}, batch {args.batch_size}, {args.steps} steps (lr linear to 0 over the "
             f"second half), seeds {', '.join(map(str, args.seeds))}, the same codes at test time. Values: mean "
             f"[min-max] over seeds, {args.k} samples of each of the 106 test inputs, L1 on [-1, 1] images. "
             + X.wall_line(found), ""]
    lines += arm_table(found)
    if args.warmup:
        lines += ["", f"The third arm is the package's `ms_warmup` option (beyond the paper): lambda_ms ramps "
                  f"linearly from 0 to {args.lambda_ms:g} over the first {args.warmup} steps; the verdict is on the "
                  "paper's arm (full weight from step 1)."]
    lines += ["", "![curves](curves.png)", "", "![samples](samples.png)", "",
              "samples.png: per arm (first seed) three test inputs, each row label map, the k samples, true photo.",
              "", *dcgan_part(), ""]
    X.save_report(args.out, lines, "mode seeking raises diversity without losing realism (MSGAN)", v, setup, started,
                  found)
    print("\n".join(lines), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_paired_options(p, "bench/results/claims/mode_seeking")
    p.add_argument("--lambda-ms", type=float, default=1.0, help="the mode-seeking arm's weight (MSGAN: 1)")
    p.add_argument("--warmup", type=int, default=0,
                   help="also run a third arm with lambda_ms ramped up over this many steps (the package's "
                        "ms_warmup option, beyond the paper; the verdict stays on the paper's arm)")
    args = p.parse_args(argv)
    arms = (P2P_NOISE, ms_arm(args.lambda_ms)) + ((ms_arm(args.lambda_ms, args.warmup),) if args.warmup else ())
    X.run_claim(args, arms, setup_of(args), paired_fns, write_report)


if __name__ == "__main__":
    main()
