"""Speed and memory benchmark: training step time, inference latency, FLOPs and input-pipeline stalls per model.

    python -m bench.run --models bicyclegan,pix2pix,cyclegan --sizes 128,256 --precision float32,mixed_bfloat16 \\
        --only-reference --pipeline pix2pix:256,bicyclegan:256 --out bench/results/speed.json
    python -m bench.report --results bench/results/speed.json --notes bench/levers.md --out bench/README.md

Each (model, size, precision) runs in its own subprocess (bench.speed), so peak memory is per configuration:
training step time (median, min and max of --steps steps after --warmup; the first call, tracing, separately),
images/s, peak RSS, generator inference latency (Keras; for float32 also SavedModel and TFLite fp32/fp16/int8),
FLOPs per step and per image (bench.flops) with the achieved GFLOP/s and fraction of the machine's peak
(bench.machine), and the losses of the timed steps (so mixed_bfloat16 can be compared with float32). Each
--pipeline MODEL:SIZE runs bench.pipeline: step time fed by JPEG decoding vs. by data in memory. The reference
figures (bench.reference) are from ../shared/REFERENCE.md, or with --peers measured right before each configuration
by running the reference itself (time_peers.py). --onednn auto gives each configuration the CPU kernels the package
picks for its model (tfgan_i2i.kernels). Threads: TF intra-op / inter-op set by --intra /
--inter (default: the core count and 1). The CPU time other processes used during each configuration is
recorded: benchmark only on an otherwise idle machine (on 2 cores a second busy process makes a step 2-7x slower).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time

import tfgan_i2i  # noqa: E402 - first, so its TensorFlow settings (oneDNN default) apply before TF loads
import tfgan_i2i.kernels

from . import machine
from .reference import REFERENCE_S_PER_STEP, measure_reference, reference_for

EXPORT_BACKENDS = ("savedmodel", "tflite", "tflite-fp16", "tflite-int8")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="bicyclegan,pix2pix,cyclegan", help="comma-separated preset names")
    p.add_argument("--sizes", default="128,256", help="comma-separated image sizes")
    p.add_argument("--precision", default="float32", help="comma-separated: float32, mixed_bfloat16")
    p.add_argument("--only-reference", action="store_true",
                   help="run only the (model, size) pairs that have reference figures")
    p.add_argument("--steps", type=int, default=20, help="timed training steps per configuration")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps after the first (tracing) call")
    p.add_argument("--infer-runs", type=int, default=20, help="timed calls per inference backend")
    p.add_argument("--intra", type=int, default=os.cpu_count(), help="TF intra-op threads")
    p.add_argument("--inter", type=int, default=1, help="TF inter-op threads")
    p.add_argument("--jit-compile", choices=("auto", "on", "off"), default="auto",
                   help="XLA for the train step; auto = Keras's rule (on with a GPU, off on CPU)")
    p.add_argument("--fma-units", type=int, default=machine.DEFAULT_FMA_UNITS,
                   help="vector FMA units per core assumed for the FP32 peak")
    p.add_argument("--pipeline", default="pix2pix:256",
                   help="comma-separated MODEL:SIZE for the input-pipeline stall check, or 'none'")
    p.add_argument("--no-export", action="store_true", help="skip the SavedModel/TFLite latencies")
    p.add_argument("--no-flops", action="store_true", help="skip the FLOP counts")
    p.add_argument("--onednn", choices=("auto", "on", "off", "env"), default="env",
                   help="CPU kernels of each configuration's process: auto = the package's choice for the model "
                        "(tfgan_i2i.kernels), on / off, or env = this process's TF_ENABLE_ONEDNN_OPTS (default)")
    p.add_argument("--adam", choices=("fused", "op-by-op"), default="fused",
                   help="TorchAdam's update: one fused kernel per variable (the package's default) or op by op")
    p.add_argument("--peers", metavar="DIR",
                   help="time the PyTorch reference (time_peers.py in DIR, see ../shared/tools/reference-timing) "
                        "right before each configuration that has one, and compare against that instead of "
                        "../shared/REFERENCE.md's figures")
    p.add_argument("--peers-python", default="/work/torchenv/bin/python", help="the torch environment for --peers")
    p.add_argument("--out", default="bench/results/speed.json")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: MODEL:SIZE:PRECISION in this process
    p.add_argument("--one-pipeline", help=argparse.SUPPRESS)  # internal: MODEL:SIZE in this process
    return p.parse_args(argv)


def child_options(args) -> list[str]:
    """The options a child process needs to measure one configuration the way the parent was asked to."""
    return ["--steps", str(args.steps), "--warmup", str(args.warmup), "--infer-runs", str(args.infer_runs),
            "--intra", str(args.intra), "--inter", str(args.inter), "--jit-compile", args.jit_compile,
            "--adam", args.adam,
            *(["--no-export"] if args.no_export else []), *(["--no-flops"] if args.no_flops else [])]


def run_child(options: list[str], what: dict, env: dict | None = None) -> dict:
    """Run `python -m bench.run <options>` (with `env` added to the environment) and return its result (the last
    stdout line), with the wall time and the CPU seconds other processes used meanwhile; on failure `what` with
    the error."""
    busy0, children0, self0, t0 = (machine.busy_cpu_seconds(), machine.children_cpu_seconds(), time.process_time(),
                                   time.perf_counter())
    out = subprocess.run([sys.executable, "-m", "bench.run", *options], capture_output=True, text=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})
    wall = time.perf_counter() - t0
    busy1 = machine.busy_cpu_seconds()
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        return {**what, "error": (out.stderr.strip().splitlines() or ["unknown error"])[-1]}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    if busy0 is not None and busy1 is not None:
        own = machine.children_cpu_seconds() - children0 + time.process_time() - self0
        result["other_cpu_s"] = max(0.0, busy1 - busy0 - own)
        result["other_cpu_cores"] = result["other_cpu_s"] / wall  # mean number of cores busy with other work
    return result


def add_derived(result: dict, peak: dict, ref: dict | None = None) -> dict:
    """Achieved GFLOP/s, fraction of peak, and speed-ups / memory against the reference (`ref`, default
    ../shared/REFERENCE.md's figures), where the inputs exist."""
    if "error" in result:
        return result
    peak_gflops = machine.peak_for(result["precision"], peak)
    step_s = result["step_s_median"]
    if "train_gflop" in result:
        result["train_gflops_per_s"] = result["train_gflop"] / step_s
        if peak_gflops:
            result["peak_gflops"] = peak_gflops
            result["train_peak_fraction"] = result["train_gflops_per_s"] / peak_gflops
    exported = {b: result[f"infer_{b}_s"] for b in EXPORT_BACKENDS if f"infer_{b}_s" in result}
    if exported:
        result["infer_best_export"] = min(exported, key=exported.get)
        result["infer_best_export_s"] = exported[result["infer_best_export"]]
    if "infer_gflop" in result and peak_gflops:
        best = result.get("infer_best_export_s", result["infer_keras_s"])
        result["infer_peak_fraction"] = result["infer_gflop"] / best / peak_gflops
    ref = reference_for(result["model"], result["size"]) if ref is None else ref
    if "step_s" in ref:
        result["reference_step_s"] = ref["step_s"]
        result["speedup_vs_reference"] = ref["step_s"] / step_s
    if "infer_s" in ref:
        result["reference_infer_s"] = ref["infer_s"]
        result["infer_speedup_vs_reference"] = ref["infer_s"] / result.get("infer_best_export_s",
                                                                           result["infer_keras_s"])
    if "peak_rss_gb" in ref:
        result["reference_peak_rss_gb"] = ref["peak_rss_gb"]
    if "rss_after_import_gb" in ref:
        result["reference_rss_after_import_gb"] = ref["rss_after_import_gb"]
    return result


def configurations(args) -> list[tuple[str, int, str]]:
    """(model, size, precision) triples to run, in order."""
    triples = [(m, s, p) for m in args.models.split(",") for s in map(int, args.sizes.split(","))
               for p in args.precision.split(",")]
    if args.only_reference:
        triples = [t for t in triples if (t[0], t[1]) in REFERENCE_S_PER_STEP]
    return triples


def meta(args, argv, described: dict) -> dict:
    """What the results were measured on and with (stored in the results file, shown by bench.report)."""
    import keras
    import tensorflow as tf

    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"), "tf": tf.__version__, "keras": keras.__version__,
        "python": platform.python_version(), "platform": platform.platform(), "machine": described,
        "intra_op_threads": args.intra, "inter_op_threads": args.inter, "jit_compile": args.jit_compile,
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS") if args.onednn == "env" else f"per model ({args.onednn})",
        "peers": args.peers, "adam": args.adam,
        "steps": args.steps, "warmup": args.warmup, "infer_runs": args.infer_runs,
        "command": "python -m bench.run " + shlex.join(sys.argv[1:] if argv is None else argv),
    }


def main(argv=None):
    args = parse_args(argv)
    if args.one or args.one_pipeline:  # child process: measure one thing, print it as the last line
        if args.one:
            from .speed import measure

            name, size, precision = args.one.split(":")
            print(json.dumps(measure(name, int(size), precision, args)))
        else:
            from .pipeline import measure_pipeline

            name, size = args.one_pipeline.split(":")
            print(json.dumps(measure_pipeline(name, int(size), args)))
        return

    described = machine.describe(args.fma_units)
    print(machine.summary_line(described))
    load = described["load_average_at_start"]
    if load is not None and load > 0.5:
        print(f"warning: load average {load:.2f} at start: the machine is not idle, timings will be too slow",
              file=sys.stderr)
    cpu_peak = described["peak"] if described["device"] == "CPU" else {}  # no CPU-peak fraction for GPU runs
    results = []
    for name, size, precision in configurations(args):
        what = {"model": name, "size": size, "precision": precision}
        ref = None
        if args.peers and (name, size) in REFERENCE_S_PER_STEP:
            try:
                ref = measure_reference(args.peers, args.peers_python, name, size)  # right before ours, same run
                print(json.dumps({"reference": f"{name}_{size}", **ref}), flush=True)
            except ValueError as e:  # the reference failed: keep going, compared with REFERENCE.md's figures
                print(f"warning: {e}", file=sys.stderr)
        kernels = tfgan_i2i.kernels
        setting = kernels.preferred(name) if args.onednn == "auto" else args.onednn
        env = {} if args.onednn == "env" else {kernels.ENV: kernels.flag(setting)}
        result = run_child([*child_options(args), "--one", f"{name}:{size}:{precision}"], what, env)
        result["onednn"] = env.get(tfgan_i2i.kernels.ENV, os.environ.get(tfgan_i2i.kernels.ENV))
        if ref is not None:
            result["reference_measured_in_this_run"] = True
        results.append(add_derived(result, cpu_peak, ref))
        print(json.dumps(results[-1]), flush=True)
    pipelines = []
    for spec in ([] if args.pipeline == "none" else args.pipeline.split(",")):
        name, size = spec.split(":")
        what = {"model": name, "size": int(size), "precision": "float32"}
        pipelines.append(run_child([*child_options(args), "--one-pipeline", spec], what))
        print(json.dumps(pipelines[-1]))

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"meta": meta(args, argv, described), "results": results, "pipeline": pipelines}, f, indent=2)
    print(f"wrote {args.out}; table: python -m bench.report --results {args.out} --notes bench/levers.md "
          "--out bench/README.md")


if __name__ == "__main__":
    main()
