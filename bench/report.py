"""Write bench/README.md from a bench.run results file: how to run the benchmark, how the figures are computed, and
the result tables (training, inference, mixed precision losses, input pipeline) with the run's date, machine,
TF version, thread settings and exact command.

    python -m bench.report --results bench/results/speed.json --notes bench/levers.md --out bench/README.md
    python -m bench.report --out bench/README.md          # no results yet: how-to only, says so plainly

Runs with fewer than 20 timed steps or 3 warm-up steps (smoke runs) are refused unless --allow-short, and then
headed as not being benchmark results.
"""
from __future__ import annotations

import argparse
import json
import os

from .machine import summary_line
from .reference import TARGET_INFER_SPEEDUP, TARGET_TRAIN_SPEEDUP

MIN_STEPS, MIN_WARMUP = 20, 3
BUSY_CORES = 0.1  # other processes using more than this many cores on average during a configuration: flagged

HOW_TO_RUN = """\
## How to run

Benchmark only on an otherwise idle machine: on 2 cores a second busy process makes a step 2-7x slower. Check
with `uptime` / `top` first; the benchmark records the load average at the start and, per configuration, the CPU
time other processes used meanwhile (column "other CPU"; rows marked `!` were disturbed and should be re-run).

```
# everything issue 7 asks for, on the reference configurations (BicycleGAN 128 and 256 batch 2,
# pix2pix 256 batch 1, CycleGAN 256 batch 1), float32 and mixed_bfloat16, two stall checks:
python -m bench.run --models bicyclegan,pix2pix,cyclegan --sizes 128,256 --precision float32,mixed_bfloat16 \\
    --only-reference --pipeline pix2pix:256,bicyclegan:256 --out bench/results/speed.json
python -m bench.report --results bench/results/speed.json --notes bench/levers.md --out bench/README.md

# a smoke run of the code (a few minutes, figures meaningless; bench.report refuses it without --allow-short)
python -m bench.run --models bicyclegan --sizes 32 --steps 2 --warmup 1 --infer-runs 2 \\
    --pipeline pix2pix:32 --out /tmp/bench_smoke.json

# the FLOP counter's cross-check (graph count vs. per-layer count)
python -m bench.flops

# issue 16: each model with the CPU kernels the package picks for it, each configuration right after the PyTorch
# reference in the same run (time_peers.py set up in /work/peers as ../shared/tools/reference-timing says, torch in
# /work/torchenv); which kernel library is faster per model; TorchAdam fused vs op by op
python -m bench.run --models bicyclegan,pix2pix,cyclegan --sizes 128,256 --only-reference --onednn auto \\
    --peers /work/peers --peers-python /work/torchenv/bin/python --infer-runs 5 --pipeline none \\
    --out bench/results/speed.json
python -m bench.kernel_choice --steps 6 --warmup 2 --infer-runs 5 --out bench/results/kernel_choice.json
python -m bench.run --models pix2pix,bicyclegan --sizes 256,128 --only-reference --onednn auto --adam op-by-op \\
    --steps 10 --warmup 2 --no-export --no-flops --pipeline none --out bench/results/adam_ab_op-by-op.json
```

Run from the repository root. Useful options of `bench.run`: `--intra N --inter M` (TF thread counts; default:
the core count and 1), `--jit-compile auto|on|off` (XLA; auto is on with a GPU, off on a CPU), `--fma-units N`
(for the peak, default 2), `--no-export`, `--no-flops`, `--pipeline none`. On a GPU machine the same command
works: the device is printed and recorded, and the fraction of CPU peak is then not meaningful.
"""

METHOD = f"""\
## How the figures are computed

- **Training step**: the preset's reference architecture and batch size on one random batch already in memory
  (convolution cost does not depend on the data), like the PyTorch reference in ../shared/REFERENCE.md. The first
  call (tracing + first run) is timed separately, then warm-up steps, then the timed steps, each until its losses
  are on the host: median [min-max]. Each configuration runs in its own process, so peak RSS (read right after
  training, before export) is per configuration. Targets: at least {TARGET_TRAIN_SPEEDUP}x the reference's speed,
  peak memory no higher.
- **Inference**: one image through the generator (G; G_AB for CycleGAN) from Keras, from the exported SavedModel
  (`translate` signature, uint8 in/out) and from TFLite float32 / float16 / dynamic-range int8 conversions;
  median of the timed calls. Target: the best export at least {TARGET_INFER_SPEEDUP}x faster than the reference.
- **FLOPs**: counted on the traced graph with TensorFlow's per-op statistics (tf.compat.v1.profiler,
  `float_operation()`): convolutions and matrix products as 2 x multiply-adds, forward and backward, plus
  element-wise ops; ops the step does not need (pruned by Grappler) left out. Cross-checked against a per-layer
  count of Conv2D / Conv2DTranspose / Dense (`python -m bench.flops`; the inference table shows both).
  GFLOP/s = GFLOP per step / median step time; % of peak divides by the machine peak below.
- **Machine peak**: FP32 = cores x clock x SIMD lanes (8 AVX2, 16 AVX-512) x 2 (FMA) x FMA units per core
  (assumed 2); bf16 on AMX (when the CPU lists amx_bf16) = cores x clock x 1024 FLOP/cycle (one 16x32x16 tile
  product per 16 cycles per core). mixed_bfloat16 runs are measured against the AMX peak where there is one.
- **Mixed precision**: the same seeds, data and number of steps in float32 and mixed_bfloat16; the table shows the
  losses of both (mean over the timed steps and at the last one) so one can judge whether bf16 still trains.
- **Input pipeline**: step time with `tfgan_i2i.data.paired_dataset` decoding the facades JPEGs vs. the same
  model on one batch in memory; a ratio above 1.05 counts as a stall. "Pipeline alone" is the time to produce a
  batch with no training running.
"""

NO_RESULTS = """\
## Results

No idle-machine figures have been recorded yet: the benchmark code is in place, but the only runs so far were
smoke runs of the code on a busy machine, whose timings mean nothing. Run the commands above on an idle machine
and regenerate this file with `bench.report`.
"""


def fmt(x, digits: int = 3) -> str:
    """A number with `digits` significant digits (no exponent for ordinary magnitudes); '-' for None."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if x == 0:
        return "0"
    return f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:.0f}"


def spread(r: dict, prefix: str) -> str:
    """'median [min-max]' of <prefix>_median / _min / _max."""
    return f"{fmt(r.get(prefix + '_median'))} [{fmt(r.get(prefix + '_min'))}-{fmt(r.get(prefix + '_max'))}]"


def pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def speedup(x, target: float) -> str:
    return "-" if x is None else f"{x:.2f}x" + (" (target met)" if x >= target else "")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _busy_mark(r: dict) -> str:
    cores = r.get("other_cpu_cores")
    return "-" if cores is None else f"{cores:.2f}" + (" !" if cores > BUSY_CORES else "")


def _onednn(r: dict) -> str:
    """The CPU kernels a configuration ran with (TF_ENABLE_ONEDNN_OPTS of its process)."""
    flag = r.get("onednn")
    return {"0": "off", "1": "on"}.get(flag, "-")


def _above_import(r: dict) -> str:
    """Training peak RSS minus the process's RSS right after importing its framework, ours / the reference's: the
    memory training needs, without TensorFlow's (or PyTorch's) own footprint."""
    def above(peak, base):
        return None if peak is None or base is None else peak - base
    ours = above(r.get("peak_rss_train_gb"), r.get("rss_after_import_gb"))
    ref = above(r.get("reference_peak_rss_gb"), r.get("reference_rss_after_import_gb"))
    return "-" if ours is None and ref is None else f"{fmt(ours, 2)} / {fmt(ref, 2)}"


def training_table(results: list[dict]) -> str:
    rows = []
    for r in results:
        ref_rss = r.get("reference_peak_rss_gb")
        rows.append([
            r["model"], str(r["size"]), str(r["batch_size"]), r["precision"], _onednn(r), spread(r, "step_s"),
            fmt(r["trace_s"]),
            fmt(r["images_per_s"]), fmt(r.get("reference_step_s")),
            speedup(r.get("speedup_vs_reference"), TARGET_TRAIN_SPEEDUP), fmt(r.get("train_gflop")),
            fmt(r.get("train_gflops_per_s")), pct(r.get("train_peak_fraction")),
            f"{fmt(r['peak_rss_train_gb'], 2)} / {fmt(ref_rss, 2)}", _above_import(r), _busy_mark(r),
        ])
    return table(["model", "size", "batch", "precision", "oneDNN", "s/step median [min-max]", "first call s", "img/s",
                  "reference s/step", "speed-up", "GFLOP/step", "GFLOP/s", "% of peak",
                  "peak RSS GB (train / reference)", "of which above the import GB (ours / reference)",
                  "other CPU (cores)"], rows)


def inference_table(results: list[dict]) -> str:
    rows = []
    for r in results:
        rows.append([
            r["model"], str(r["size"]), r["precision"], _onednn(r),
            f"{fmt(r.get('infer_gflop'))} / {fmt(r.get('infer_gflop_per_layer'))}", fmt(r["infer_keras_s"]),
            *(fmt(r.get(f"infer_{b}_s")) for b in ("savedmodel", "tflite", "tflite-fp16", "tflite-int8")),
            fmt(r.get("reference_infer_s")),
            speedup(r.get("infer_speedup_vs_reference"), TARGET_INFER_SPEEDUP)
            + (f" ({r['infer_best_export']})" if r.get("infer_best_export") else ""),
            pct(r.get("infer_peak_fraction")),
        ])
    return table(["model", "size", "precision", "oneDNN", "GFLOP/image (graph / per layer)", "Keras s", "SavedModel s",
                  "TFLite fp32 s", "TFLite fp16 s", "TFLite int8 s", "reference s", "best speed-up",
                  "% of peak (best)"], rows)


def losses_table(results: list[dict]) -> str | None:
    """float32 vs mixed_bfloat16 losses per (model, size) that has both; None when no pair exists."""
    by_key = {(r["model"], r["size"], r["precision"]): r for r in results}
    rows = []
    for (model, size, precision), mixed in by_key.items():
        single = by_key.get((model, size, "float32"))
        if precision == "float32" or single is None:
            continue
        for name, reference in single["losses_mean"].items():
            other = mixed["losses_mean"].get(name)
            difference = None if other is None else abs(other - reference) / max(abs(reference), 1e-12)
            rows.append([model, str(size), precision, name, fmt(reference), fmt(other), pct(difference),
                         fmt(single["losses_last_step"].get(name)), fmt(mixed["losses_last_step"].get(name))])
    if not rows:
        return None
    return table(["model", "size", "vs float32", "loss", "float32 mean", "mixed mean", "relative difference",
                  "float32 last step", "mixed last step"], rows)


def pipeline_table(pipelines: list[dict]) -> str:
    rows = []
    for r in pipelines:
        if "skipped" in r or "error" in r:
            rows.append([r["model"], str(r["size"]), "-", r.get("skipped") or r.get("error"), "-", "-", "-", "-"])
            continue
        rows.append([r["model"], str(r["size"]), str(r["batch_size"]), spread(r, "in_memory_s"), spread(r, "jpeg_s"),
                     f"{r['ratio']:.3f}", fmt(r["pipeline_s_per_batch"]), "yes" if r["stalls"] else "no"])
    return table(["model", "size", "batch", "in memory s/step", "JPEG s/step", "JPEG / in memory",
                  "pipeline alone s/batch", "stalls"], rows)


def run_description(meta: dict) -> str:
    peak = meta["machine"]["peak"]
    lines = [
        f"- Date: {meta['date']}",
        f"- Machine: {summary_line(meta['machine'])}",
        f"- FP32 peak: {peak['fp32_formula']} = {fmt(peak['fp32_gflops'])} GFLOP/s"
        + (f"; bf16 AMX peak: {peak['bf16_amx_formula']} = {fmt(peak['bf16_amx_gflops'])} GFLOP/s"
           if peak.get("bf16_amx_gflops") else "; no AMX (no bf16 matrix-unit peak)"),
        f"- TensorFlow {meta['tf']}, Keras {meta['keras']}, Python {meta['python']} ({meta['platform']})",
        f"- Threads: intra-op {meta['intra_op_threads']}, inter-op {meta['inter_op_threads']}; XLA (jit_compile):"
        f" {meta['jit_compile']}; TF_ENABLE_ONEDNN_OPTS={meta.get('onednn', 'unset (TF default)')}",
        f"- Timed steps {meta['steps']} after {meta['warmup']} warm-up; {meta['infer_runs']} inference calls per "
        f"backend; load average at start: {fmt(meta['machine'].get('load_average_at_start'))}",
        "- Reference figures: " + ("measured in this run, each right before the configuration it is compared with "
                                   "(time_peers.py, torch 2.13, same threads)" if meta.get("peers")
                                   else "../shared/REFERENCE.md"),
        "", "Command:", "", "```", meta["command"], "```", "",
    ]
    return "\n".join(lines)


def results_section(data: dict, allow_short: bool) -> str:
    meta = data["meta"]
    short = meta["steps"] < MIN_STEPS or meta["warmup"] < MIN_WARMUP
    if short and not allow_short:
        raise SystemExit(f"the run timed {meta['steps']} steps after {meta['warmup']} warm-up: a smoke run, not a "
                         f"benchmark (needs >= {MIN_STEPS} and >= {MIN_WARMUP}); pass --allow-short to write it anyway")
    ok = [r for r in data["results"] if "error" not in r]
    failed = [r for r in data["results"] if "error" in r]
    parts = ["## Results\n"]
    if short:
        parts.append("**Smoke run with too few steps: these are NOT benchmark results.**\n")
    for r in ok:  # runs before per-configuration settings: the whole run's TF_ENABLE_ONEDNN_OPTS
        r.setdefault("onednn", meta.get("onednn"))
    parts += [run_description(meta), "### Training\n", training_table(ok), "### Generator inference (one image)\n",
              inference_table(ok)]
    losses = losses_table(ok)
    if losses:
        parts += ["### Does mixed precision still train? (same seeds, data and steps)\n", losses]
    if data.get("pipeline"):
        parts += ["### Input pipeline stall check\n", pipeline_table(data["pipeline"])]
    if failed:
        parts += ["### Failed configurations\n"]
        parts += [f"- {r['model']} {r['size']} {r['precision']}: {r['error']}" for r in failed] + [""]
    return "\n".join(parts) + "\n"


def render(data: dict | None, allow_short: bool = False, notes: str | None = None) -> str:
    intro = ("# Speed benchmark (issue 7)\n\n`python -m bench.run` measures, per model, image size and precision, "
             "the training step time, images/s, peak memory, generator inference latency (Keras, SavedModel, "
             "TFLite), FLOPs and the achieved fraction of the machine's peak, and whether the input pipeline "
             "stalls training, against the PyTorch reference figures of ../shared/REFERENCE.md. This file is "
             "written by `python -m bench.report`. (The other scripts in bench/ are evidence runs for the main "
             "README: claim_avb_unit, claim_cyclegan_unit, claim_mode_seeking, claim_bicycle_halves (its "
             "\"Reproducing the papers\"), dcgan_ndb, paired_diversity, audio_evidence.)\n")
    body = results_section(data, allow_short) if data else NO_RESULTS
    return "\n".join([intro, HOW_TO_RUN, METHOD, body] + ([notes] if notes else []))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", help="a bench.run results file; without it (or if it does not exist) the README "
                                     "says that no figures have been recorded yet")
    p.add_argument("--out", default="bench/README.md")
    p.add_argument("--allow-short", action="store_true", help="write a smoke run's tables (labelled as such)")
    p.add_argument("--notes", action="append", default=[],
                   help="a Markdown file appended after the tables (e.g. bench/levers.md: what was tried); repeatable")
    args = p.parse_args(argv)
    data = None
    if args.results and os.path.exists(args.results):
        with open(args.results, encoding="utf-8") as f:
            data = json.load(f)
    elif args.results:
        print(f"{args.results} does not exist: writing the how-to and 'no figures yet'")
    notes = []
    for path in args.notes:
        with open(path, encoding="utf-8") as f:
            notes.append(f.read())
    notes = "\n".join(notes) or None
    text = render(data, args.allow_short, notes)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
