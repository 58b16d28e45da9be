"""Which TensorFlow CPU kernel library is faster for each model: oneDNN on vs TF's default kernels (issue 16).

TF_ENABLE_ONEDNN_OPTS is read once, when TensorFlow loads, so every (model, size, setting) runs in its own
bench.run child process (bench.speed.measure: the preset's reference architecture and batch on one in-memory
random batch; training step median of --steps after --warmup, G inference median of --infer-runs). Prints a
table and writes --out (and the table as its .md); tfgan_i2i.kernels.FASTER_TRAINING is read off it (a test checks
that the two agree).

    python -m bench.kernel_choice --out bench/results/kernel_choice.json          # on an idle machine
    python -m bench.kernel_choice --configs pix2pix:64,drit:64 --steps 2 --warmup 1 --infer-runs 2 --out /tmp/k.json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from . import machine
from .run import add_derived, child_options, parse_args as run_args, run_child

# one configuration per network family of the image-to-image models (DCGAN, the class-conditional MSGAN test bed,
# is left out: its batch is labels, not images), at the preset's own size and batch (the reference ones where they
# exist)
CONFIGS = "pix2pix:256,bicyclegan:128,bicyclegan:256,cyclegan:256,unit:256,avb-gtn:256,drit:216"


def measure(spec: str, onednn: str, args) -> dict:
    """bench.run's result for MODEL:SIZE in float32 with TF_ENABLE_ONEDNN_OPTS=onednn (no export, no FLOPs)."""
    name, size = spec.split(":")
    bench_args = run_args(["--steps", str(args.steps), "--warmup", str(args.warmup), "--infer-runs",
                           str(args.infer_runs), "--no-export", "--no-flops"])
    result = run_child([*child_options(bench_args), "--one", f"{name}:{size}:float32"],
                       {"model": name, "size": int(size), "precision": "float32"}, {"TF_ENABLE_ONEDNN_OPTS": onednn})
    return add_derived(result, {})


def choice(row: dict) -> dict:
    """The faster setting for training and for inference, with the speed-up of the winner over the loser."""
    out = {}
    for what, key in (("train", "step_s_median"), ("infer", "infer_keras_s")):
        t0, t1 = row["0"].get(key), row["1"].get(key)
        if t0 and t1:
            out[what] = {"onednn": "1" if t1 < t0 else "0", "speedup": max(t0, t1) / min(t0, t1)}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", default=CONFIGS, help="comma-separated MODEL:SIZE")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--infer-runs", type=int, default=10)
    p.add_argument("--out", default="bench/results/kernel_choice.json")
    p.add_argument("--append", action="store_true", help="keep --out's rows, add (or re-measure) these configs")
    args = p.parse_args(argv)
    described = machine.describe()
    print(machine.summary_line(described))
    command = "python -m bench.kernel_choice " + " ".join(sys.argv[1:] if argv is None else argv)
    done = {}
    if args.append and os.path.exists(args.out):
        with open(args.out) as f:
            done = json.load(f)
    rows = done.get("rows", {})
    runs = done.get("runs", [])
    runs.append({"date": time.strftime("%Y-%m-%d %H:%M %Z"), "command": command, "configs": args.configs})
    for spec in args.configs.split(","):
        rows[spec] = {onednn: measure(spec, onednn, args) for onednn in ("0", "1")}
        rows[spec]["choice"] = choice(rows[spec])
        print(json.dumps({spec: rows[spec]["choice"]}), flush=True)
        write(args.out, {"machine": described, "runs": runs, "rows": rows})  # a killed run keeps its finished rows
    print("\n" + table(rows))
    print(f"wrote {args.out} and its .md table")
    return 0


def write(out: str, data: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(data, f, indent=2)
    with open(os.path.splitext(out)[0] + ".md", "w") as f:
        f.write(table(data["rows"]) + "\n")


def table(rows: dict) -> str:
    """The markdown table of a run: step and G inference time both ways, and which is faster by how much."""
    lines = ["| model:size | step s, default kernels | step s, oneDNN | faster | G inference s, default | oneDNN "
             "| faster | other CPU (cores) |", "|---|---|---|---|---|---|---|---|"]
    for spec, row in rows.items():
        c = row["choice"]
        other = max(row.get(s, {}).get("other_cpu_cores", 0.0) for s in ("0", "1"))
        cells = [_seconds(row.get(s, {}).get("step_s_median")) for s in ("0", "1")]
        cells.append(_faster(c.get("train")))
        cells += [_seconds(row.get(s, {}).get("infer_keras_s")) for s in ("0", "1")]
        cells.append(_faster(c.get("infer")))
        lines.append(f"| {spec} | " + " | ".join(cells) + f" | {other:.2f} |")
    return "\n".join(lines)


def _seconds(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def _faster(c: dict | None) -> str:
    if not c:
        return "?"
    return f"{'oneDNN' if c['onednn'] == '1' else 'default'} {c['speedup']:.2f}x"


if __name__ == "__main__":
    sys.exit(main())
