"""Profile the PyTorch references' training step and G inference op by op, grouped by layer kind (issue 16).

The counterpart of bench/profile_step.py (TensorFlow), with the same output format, so bench/README.md can show
ms per step, GFLOP/s and share of step per kind, ours vs the reference. The models are built exactly as the
reference timing script builds them (/work/shared/tools/reference-timing/time_peers.py, imported from --peers:
its CASES, options, random batch and thread count); see its README for setting up the --peers folder, which lives
outside this repository. Runs in a torch-only environment: the one module imported from this repository is the
pure-Python bench/layer_kinds.py.

Per case and per `what` (train_step, infer_<G>; CycleGAN's G_A / G_B as infer_G_AB / infer_G_BA, the TF side's
names): median wall ms of --steps un-profiled calls after --warmup ("step_ms"),
then --steps calls under torch.profiler. Each outermost op that has a kind takes its whole subtree (aten::convolution
and everything it calls is one conv; Optimizer.step#Adam.step is "optimizer update"); ops without a kind (autograd
wrappers, aten::conv2d, aten::pad) give their own self time to the kind of their largest descendant. "profiled_ms" is
the sum over all ops; step_ms - profiled_ms is Python time between ops. Convolution GFLOP: conv_gflop per forward call,
and per backward call once for the input gradient and once for the weight gradient (as its output_mask asks).

    /work/torchenv/bin/python bench/profile_reference.py --peers /work/peers --case pix2pix_256 \
        --out bench/results/profile/
    /work/torchenv/bin/python bench/profile_reference.py --peers /work/peers --case all      # one subprocess per case
    PEERS_MAX_WAIT=1 /work/torchenv/bin/python bench/profile_reference.py --peers /work/peers --case bicyclegan_128 \\
        --warmup 1 --steps 1 --no-infer                                                      # quick check, no idle wait

Writes <out>/reference_<case>.json and prints one table per record. Run on an idle machine: before the timed calls
it waits (at most PEERS_MAX_WAIT s, time_peers' setting, default 3600) for other processes to go quiet, and records
the cores they used during the timed calls as "other_cores".
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.append(REPO)
from bench.layer_kinds import conv_gflop, conv_kind, group, table  # noqa: E402  (pure Python)

OTHER = "loss, reduction, other"
# CycleGAN's G_A maps A -> B: bench/profile_step.py's G_AB (its records pair with ours by name in profile_report)
OUR_NAME = {"G_A": "G_AB", "G_B": "G_BA"}
ELEMENTWISE = {
    "add", "sub", "rsub", "mul", "div", "neg", "abs", "sgn", "sign", "exp", "log", "pow", "sqrt", "rsqrt", "square",
    "reciprocal", "clamp", "clamp_min", "clamp_max", "relu", "leaky_relu", "leaky_relu_backward", "threshold_backward",
    "hardtanh", "tanh", "tanh_backward", "sigmoid", "sigmoid_backward", "softplus", "where", "maximum", "minimum",
    "lerp", "addcmul", "addcdiv", "masked_fill", "dropout", "native_dropout", "native_dropout_backward",
}
# kept whole as "other" so their inner elementwise ops are not counted as layers
OTHER_SUBTREE = {"mean", "sum", "cat", "stack", "randn", "rand", "normal", "uniform", "avg_pool2d",
                 "avg_pool2d_backward", "item", "copy"}
MATMUL = {"linear", "addmm", "mm", "bmm", "matmul"}


def _conv(evt, backward: bool) -> tuple[str, float]:
    """(kind, GFLOP) of one aten::convolution or aten::convolution_backward call from its shapes and arguments."""
    shapes, args = evt.input_shapes, evt.concrete_inputs
    if backward:  # grad_output, input, weight, bias_sizes, stride, padding, dilation, transposed, out_pad, groups, mask
        (n, cin, h, w), (_, _, oh, ow) = shapes[1], shapes[0]
        weight, stride, transposed, groups, mask = shapes[2], args[4], args[7], args[9], args[10]
        k = weight[2]
    else:  # input, weight, bias, stride, padding, dilation, transposed, output_padding, groups
        n, cin, h, w = shapes[0]
        weight, stride, pad, dil, transposed, out_pad, groups = shapes[1], *args[3:9]
        k = weight[2]
        if transposed:
            oh, ow = ((x - 1) * s - 2 * p + d * (k - 1) + o + 1
                      for x, s, p, d, o in zip((h, w), stride, pad, dil, out_pad))
        else:
            oh, ow = ((x + 2 * p - d * (k - 1) - 1) // s + 1 for x, s, p, d in zip((h, w), stride, pad, dil))
        mask = None
    cout = weight[1] * groups if transposed else weight[0]
    square = weight[2] == weight[3] and stride[0] == stride[1] and groups == 1
    kind = conv_kind(k, stride[0], cin, cout, bool(transposed)) if square else "conv other"
    gflop = conv_gflop(k, cin, cout, oh, ow, n, bool(transposed), h, w)
    return kind, gflop * (int(bool(mask[0])) + int(bool(mask[1])) if backward else 1)


def classify(evt) -> tuple[str, float] | None:
    """(kind, GFLOP) of an op that owns its whole subtree, or None for ops that only wrap others."""
    name = evt.name
    if name.startswith("Optimizer."):
        return "optimizer update", 0.0
    base = name.removeprefix("aten::")
    if base in ("convolution", "convolution_backward"):
        return _conv(evt, base == "convolution_backward")
    # an in-place activation on an instance norm's output (a view) turns the backward of that view into
    # AsStridedBackward0 (zeros + copy) and wraps the activation's backward in CopySlices (clone + copies)
    if name == "AsStridedBackward0":
        return "norm (instance / batch)", 0.0
    if name == "torch::autograd::CopySlices":
        return "elementwise / activation", 0.0
    if not name.startswith("aten::"):
        return None
    base = base.rstrip("_")
    if "reflection_pad" in base:
        return "reflection pad", 0.0
    if "batch_norm" in base or "instance_norm" in base:
        return "norm (instance / batch)", 0.0
    if base in MATMUL:
        return "dense / matmul", 0.0
    if base in ELEMENTWISE:
        return "elementwise / activation", 0.0
    if base in OTHER_SUBTREE or "loss" in base or "cross_entropy" in base:
        return OTHER, 0.0
    return None


def attribute(evt, out: list) -> None:
    """Append {"kind", "ms", "gflop", "name"} records covering evt's whole subtree (inclusive time) to out."""
    owned = classify(evt)
    if owned is not None:
        out.append({"kind": owned[0], "ms": evt.cpu_time_total / 1e3, "gflop": owned[1], "name": evt.name})
        return
    start = len(out)
    for child in evt.cpu_children:
        attribute(child, out)
    kind = max(out[start:], key=lambda r: r["ms"])["kind"] if len(out) > start else OTHER
    out.append({"kind": kind, "ms": evt.self_cpu_time_total / 1e3, "gflop": 0.0, "name": evt.name})


def measure(what: str, fn, before, steps: int, tp) -> dict:
    """Time `steps` calls of fn (before() untimed ahead of each), then profile `steps` more; one output record."""
    from torch.profiler import ProfilerActivity, profile, record_function

    tp.wait_idle(what, quiet=True)
    times = []
    with tp.Meter() as m:
        for _ in range(steps):
            before()
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            before()
            with record_function("profiled_call"):
                fn()
    recs = []
    for evt in prof.events():
        if evt.name == "profiled_call" and evt.cpu_parent is None:
            for child in evt.cpu_children:
                attribute(child, recs)
    for r in recs:
        r["ms"] /= steps
        r["gflop"] /= steps
    other = defaultdict(float)
    for r in recs:
        if r["kind"] == OTHER:
            other[r["name"]] += r["ms"]
    top_other = dict(sorted(other.items(), key=lambda kv: -kv[1])[:10])
    return {"what": what, "step_ms": statistics.median(times), "profiled_ms": sum(r["ms"] for r in recs),
            "other_cores": m.other_cores, "kinds": group(recs), "top_other": top_other}


def print_record(case: str, rec: dict) -> None:
    print(f"\n{case} {rec['what']}: step {rec['step_ms']:.1f} ms, profiled {rec['profiled_ms']:.1f} ms "
          f"({rec['profiled_ms'] / rec['step_ms']:.0%}), other processes {rec['other_cores']:.2f} cores")
    print(table(rec))


def run_case(args) -> None:
    """Build the case as time_peers.run_case does, profile train step and G inference, write the JSON."""
    loadavg = os.getloadavg()[0]  # 1-minute load, as bench/profile_step.py records it
    import time_peers as tp  # main() put --peers on sys.path

    repo, model_name, size, extra = tp.CASES[args.case]
    sys.path.insert(0, repo)
    os.chdir(repo)
    import torch

    torch.set_num_threads(args.threads)
    if os.environ.get("PEERS_FLUSH_DENORMAL") == "1":
        torch.set_flush_denormal(True)
    torch.manual_seed(0)
    opt, models = tp.build_opt(repo, model_name, extra)
    model = models.create_model(opt)
    bs, in_nc, out_nc = opt.batch_size, opt.input_nc, opt.output_nc

    def batch():
        return {"A": torch.rand(bs, in_nc, size, size) * 2 - 1, "B": torch.rand(bs, out_nc, size, size) * 2 - 1,
                "A_paths": ["a"] * bs, "B_paths": ["b"] * bs}

    def set_batch():
        model.set_input(batch())

    for _ in range(args.warmup):
        set_batch()
        model.optimize_parameters()
    records = [measure("train_step", model.optimize_parameters, set_batch, args.steps, tp)]

    # G inference of one image at the case's size (time_peers' sizes for these cases), eval mode, no_grad
    for g in [] if args.no_infer else [n for n in model.model_names if n.startswith("G")]:
        net = getattr(model, "net" + g)
        net.eval()
        if model_name == "bicycle_gan":
            x, z = torch.rand(1, in_nc, size, size) * 2 - 1, torch.randn(1, opt.nz)
            fn = lambda: net(x, z)  # noqa: E731
        else:
            x = torch.rand(1, in_nc if g in ("G", "G_A") else out_nc, size, size) * 2 - 1
            fn = lambda: net(x)  # noqa: E731
        with torch.no_grad():
            for _ in range(args.warmup):
                fn()
            records.append(measure(f"infer_{OUR_NAME.get(g, g)}", fn, lambda: None, args.steps, tp))
        net.train()

    result = {"case": args.case, "framework": f"torch {torch.__version__}", "threads": args.threads,
              "batch": bs, "size": size, "warmup": args.warmup, "steps": args.steps, "records": records,
              "params": {n: tp.nparams(getattr(model, "net" + n)) for n in model.model_names},
              "date": time.strftime("%Y-%m-%d %H:%M %Z"), "load_at_start": loadavg}
    for rec in records:
        print_record(args.case, rec)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"reference_{args.case}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"\nwrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peers", required=True, help="folder with time_peers.py and the two reference work trees")
    ap.add_argument("--case", default="all", help="bicyclegan_128, bicyclegan_256, pix2pix_256, cyclegan_256 or all")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "profile"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5, help="timed calls, then as many profiled calls")
    ap.add_argument("--no-infer", action="store_true", help="profile the train step only")
    args = ap.parse_args()
    args.peers, args.out = os.path.abspath(args.peers), os.path.abspath(args.out)
    sys.path.insert(0, args.peers)
    from time_peers import CASES

    if args.case not in (*CASES, "all"):
        ap.error(f"--case: one of {', '.join(CASES)} or all")
    if args.case != "all":
        run_case(args)
        return
    for case in CASES:  # own process per case: both references define a top-level `models` package
        argv = [sys.executable, os.path.abspath(__file__), "--peers", args.peers, "--case", case, "--out", args.out,
                "--threads", str(args.threads), "--warmup", str(args.warmup), "--steps", str(args.steps)]
        rc = subprocess.run(argv + (["--no-infer"] if args.no_infer else [])).returncode
        if rc:
            print(f"{case} FAILED rc={rc}", flush=True)


if __name__ == "__main__":
    main()
