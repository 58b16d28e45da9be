"""Issue #18: which audio translator is best on the held-out melodies, at the same steps, over several seeds?

Arms (one thing changes between them: the model; data, spectrogram settings, widths, steps and seeds are shared):
  * avb-gtn: UNIT with AVB critics in place of the KL terms (the app's default, the shipped model's kind);
  * unit:    UNIT with its KL terms (the baseline AVB-GTN was proposed against);
  * pix2pix: a paired pix2pix per direction (`--paired-data`), trained on the time-aligned renders: what the
             spectrogram representation allows when pairs exist. The unpaired arms see the same files as two
             unpaired domains (each cropped and shuffled on its own).
Data: ../shared/data/violin_piano_midi; the last --test melodies by sorted name are held out (bench.audio_evidence's
split, the one the shipped model used), the others are linked into WORK/data/{violin,piano}/ for training.

Each run is `python -m apps.audio_translation train ... --logdir WORK/runs/ARM/sSEED` (a killed run resumes from its
last epoch; checkpoints stay out of the repository in WORK, default runs/audio_compare) and is then scored by
`python -m bench.audio_score` (renders only) into OUT/scores/ARM_sSEED/. A finished
run or score is never redone, so re-running the command resumes the whole experiment. Per arm and direction the
report gives the mean over seeds with [min-max] of each seed's mean over the held-out melodies, beside the
untranslated input and the issue's targets.

  python -m bench.audio_compare                                     # the README run: 3 arms x 2 seeds
  python -m bench.audio_compare --steps 4 --steps-per-epoch 2 --seeds 0 --frame-length 64 --frame-step 16 \
      --width 4 --out /tmp/audio_compare                            # a smoke test
  python -m bench.audio_compare --report-only                       # rewrite results.md from the scores
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from bench.audio_evidence import DEFAULT_DATA, DIRECTIONS, melody_split, wav
from bench.experiment import apart, command, fmt, git_commit, read_json, stats, write_json

ARMS = {"avb-gtn": [], "unit": [], "pix2pix": ["--paired-data"]}
# measure -> (label, digits, the target for the shipped violin -> piano model, or None)
MEASURES = {
    "lsd_db": ("LSD to the true target (dB)", 2, "at least 5 dB below the input's"),
    "sc": ("SC to the true target", 3, None),
    "onset_corr_truth": ("onset correlation with the true target", 3, None),
    "pitch_cents": ("median pitch error vs input (cents)", 0, "under 50"),
    "level_lufs_db": ("level vs input (LUFS dB)", 2, "within 3 dB"),
}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench.audio_compare", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=DEFAULT_DATA, help="violin_piano_midi folder (violin/, piano/)")
    p.add_argument("--test", type=int, default=2, help="held-out melodies: the last N by sorted name (default 2)")
    p.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, of {', '.join(ARMS)}")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--steps", type=int, default=2000, help="training steps per model (default 2000)")
    p.add_argument("--steps-per-epoch", type=int, default=200, help="steps between checkpoints (default 200)")
    p.add_argument("--width", type=int, default=16, help="ngf = ndf = ntf (default 16, the shipped model's)")
    p.add_argument("--n-res", type=int, default=2, help="residual blocks (default 2, the shipped model's)")
    p.add_argument("--frame-length", type=int, default=256)
    p.add_argument("--frame-step", type=int, default=64)
    p.add_argument("--representation", default="if")
    p.add_argument("--out", default=os.path.join("bench", "results", "audio_compare"), help="scores and report")
    p.add_argument("--work", default=os.path.join("runs", "audio_compare"), help="training data links and runs")
    p.add_argument("--report-only", action="store_true", help="rewrite results.md from the finished scores")
    args = p.parse_args(argv)
    args.arms = [a for a in args.arms.split(",") if a]
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    bad = [a for a in args.arms if a not in ARMS]
    if bad or not args.seeds or args.steps < args.steps_per_epoch or args.steps % args.steps_per_epoch:
        print(f"audio_compare: --arms must be of {', '.join(ARMS)} (got {','.join(bad) or 'ok'}), --seeds not empty, "
              "and --steps a multiple of --steps-per-epoch", file=sys.stderr)
        raise SystemExit(2)
    if not all(os.path.isdir(os.path.join(args.data, i)) for i in ("violin", "piano")):
        print(f"audio_compare: --data {args.data} has no violin/ and piano/ folders; pass violin_piano_midi",
              file=sys.stderr)
        raise SystemExit(2)
    return args


def training_data(args) -> str:
    """OUT/data/{violin,piano}/: links to the training melodies of both instruments (the held-out ones left out)."""
    root = os.path.join(args.work, "data")
    train, _ = melody_split(args.data, args.test)
    for instrument in ("violin", "piano"):
        os.makedirs(os.path.join(root, instrument), exist_ok=True)
        for name in train:
            link = os.path.join(root, instrument, f"{name}.wav")
            if not os.path.lexists(link):
                os.symlink(os.path.abspath(wav(args.data, instrument, name)), link)
    return root


def _run(cmd: list[str], log: str) -> None:
    print(f"$ {' '.join(cmd)}  (log: {log})", flush=True)
    with open(log, "a") as f:
        done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if done.returncode:
        raise SystemExit(f"audio_compare: {cmd[2]} failed (exit {done.returncode}); see {log}")


def train_and_score(args, data: str, arm: str, seed: int) -> dict:
    """Train one arm at one seed (resuming), score it, return its results.json (kept: never redone)."""
    name = f"{arm}_s{seed}"
    logdir = os.path.join(args.work, "runs", arm, f"s{seed}")
    scores = os.path.join(args.out, "scores")
    result = os.path.join(scores, name, "results.json")
    if (found := read_json(result)) is not None:
        return found
    os.makedirs(logdir, exist_ok=True)
    trained = os.path.join(logdir, "trained.json")
    if read_json(trained) is None:
        started = time.time()
        w = str(args.width)
        cmd = [sys.executable, "-m", "apps.audio_translation", "train", "--data", data, "--no-holdout", *ARMS[arm],
               "--model", arm, "--logdir", logdir, "--epochs", str(args.steps // args.steps_per_epoch),
               "--steps-per-epoch", str(args.steps_per_epoch), "--seed", str(seed), "--quiet",
               "--ngf", w, "--ndf", w, "--ntf", w, "--n-res", str(args.n_res), "--representation",
               args.representation, "--frame-length", str(args.frame_length), "--frame-step", str(args.frame_step)]
        _run(cmd, os.path.join(logdir, "train.log"))
        write_json(trained, {"command": " ".join(cmd[1:]), "seconds": time.time() - started})
    _run([sys.executable, "-m", "bench.audio_score", "--model", logdir, "--name", name, "--out", scores,
          "--midi", args.data, "--vsco2", "", "--test", str(args.test)], os.path.join(logdir, "score.log"))
    return read_json(result)


def seed_means(report: dict, direction: str, column: str) -> dict:
    """{measure: this seed's mean over the held-out melodies} for one direction and column (output / input)."""
    summary = report["renders"]["directions"][direction]["summary"].get(column, {})
    return {k: s["mean"] for k, s in summary.items()}


def aggregate(found: dict) -> dict:
    """{direction: {arm: {measure: stats over seeds}}, "input": the untranslated input's}."""
    table = {}
    for direction in DIRECTIONS:
        rows = {arm: [seed_means(r, direction, "output") for r in reports] for arm, reports in found.items()}
        inputs = [seed_means(r, direction, "input") for reports in found.values() for r in reports]
        table[direction] = {arm: {k: stats(m.get(k) for m in ms) for k in MEASURES} for arm, ms in rows.items()}
        # the input is the same audio in every run: its scores do not vary with the seed
        table[direction]["input (untranslated)"] = {k: stats(m.get(k) for m in inputs[:1]) for k in MEASURES}
    return table


def verdicts(table: dict) -> list[str]:
    """Plain sentences: the issue's targets per arm and direction, and which arm is best on LSD."""
    lines = []
    for direction, arms in table.items():
        base = arms["input (untranslated)"]["lsd_db"]["mean"]
        for arm, m in arms.items():
            if arm.startswith("input") or not m["lsd_db"]["n"]:
                continue
            gain = base - m["lsd_db"]["mean"]
            pitch, level = m["pitch_cents"]["mean"], m["level_lufs_db"]["mean"]
            where = f"{gain:.2f} dB below" if gain >= 0 else f"{-gain:.2f} dB above"
            met = [f"LSD {where} the input's ({'met' if gain >= 5 else 'not met'}: target at least 5 dB below)",
                   f"pitch error {pitch:.0f} cents ({'met' if pitch < 50 else 'not met'}: target < 50)",
                   f"level {level:+.2f} dB ({'met' if abs(level) <= 3 else 'not met'}: target within 3)"]
            lines.append(f"- {direction}, {arm} ({m['lsd_db']['n']} seed(s)): " + "; ".join(met))
        ranked = sorted(((m["lsd_db"]["mean"], a) for a, m in arms.items() if not a.startswith("input")
                         and m["lsd_db"]["n"]))
        if len(ranked) > 1:
            best = ranked[0][1]
            others = [a for _, a in ranked[1:]]
            clear = all(apart(arms[best]["lsd_db"], arms[a]["lsd_db"]) for a in others)
            if min(arms[a]["lsd_db"]["n"] for a in [best, *others]) < 2:
                why = "fewer than 2 seeds per arm, so the ranking is an anecdote"
            elif clear:
                why = "every seed below every seed of the other arms"
            else:
                why = "its seed range overlaps another arm's, so the ranking is not settled"
            lines.append(f"- {direction}: lowest mean LSD {best}; {why}")
    return lines


def write_report(args, found: dict, started: float | None) -> None:
    table = aggregate(found)
    before = read_json(os.path.join(args.out, "results.json"), {})
    meta = before.get("meta", {})
    if started is not None:
        meta = {"command": command(), "commit": git_commit(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                "wall_seconds": time.time() - started, "args": {k: v for k, v in vars(args).items()}}
    runs = {arm: [read_json(os.path.join(args.work, "runs", arm, f"s{s}", "trained.json"))
                  or (before.get("runs", {}).get(arm, []) + [None] * len(args.seeds))[i]
                  for i, s in enumerate(args.seeds)]
            for arm in found}  # kept from the report before when WORK is gone (e.g. --report-only elsewhere)
    write_json(os.path.join(args.out, "results.json"), {"table": table, "runs": runs, "meta": meta})
    lines = ["# Audio translators compared on the held-out melodies (issue #18)", "",
             f"`{meta.get('command', '')}` at commit {meta.get('commit', '?')[:12]}, {meta.get('date', '')}.", "",
             f"{args.steps} training steps per model (batch 1), ngf = ndf = ntf = {args.width}, {args.n_res} residual "
             f"blocks, `{args.representation}` spectrograms {args.frame_length}/{args.frame_step}; seeds "
             f"{', '.join(map(str, args.seeds))}. Trained on {len(melody_split(args.data, args.test)[0])} melodies, "
             f"scored on the {args.test} held out. Each cell: mean over seeds [min-max] of each seed's mean over "
             "the held-out melodies; output matched to the input's RMS level (the app's default). pix2pix is "
             "paired (one model per direction, trained on the time-aligned renders); the other two are unpaired.",
             ""]
    for direction, arms in table.items():
        lines += [f"## {direction.replace('_', ' ')}", "", "| arm | " + " | ".join(l for l, _, _ in MEASURES.values())
                  + " |", "|---" * (len(MEASURES) + 1) + "|"]
        for arm, m in arms.items():
            cell = (lambda s, d: "-" if not s["n"] else f"{s['mean']:.{d}f}") if arm.startswith("input") else fmt
            lines.append(f"| {arm} | " + " | ".join(cell(m[k], d) for k, (_, d, _) in MEASURES.items()) + " |")
        lines.append("")
    lines += ["## Verdict", "", *verdicts(table), "",
              "Targets (issue #18, for the shipped violin -> piano model): " + "; ".join(
                  f"{label}: {t}" for label, _, t in MEASURES.values() if t) + "."]
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}/results.json and results.md")


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.makedirs(args.out, exist_ok=True)
    started = None if args.report_only else time.time()
    if args.report_only:
        found = {a: [r for s in args.seeds if (r := read_json(os.path.join(args.out, "scores", f"{a}_s{s}",
                                                                          "results.json")))] for a in args.arms}
    else:
        data = training_data(args)
        found = {a: [] for a in args.arms}
        for seed in args.seeds:                 # seed-major: a cut-short run still has every arm at seed 0
            for arm in args.arms:
                found[arm].append(train_and_score(args, data, arm, seed))
                write_report(args, found, started)
    write_report(args, found, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
