"""Op-by-op TensorFlow profile of one training step and one G inference, grouped by layer kind (issue 16).

    python -m bench.profile_step --case all --onednn both --out bench/results/profile/
    python -m bench.profile_step --case pix2pix_256 --onednn 1 --warmup 1 --steps 1   # a quick look
    python -m bench.profile_report --out bench/results/profile/profile.md

Cases are the reference configurations of bench.run: bicyclegan_128, bicyclegan_256 (batch 2), pix2pix_256,
cyclegan_256 (batch 1), built, fed (one random batch in memory) and stepped (the compiled train_function `fit`
uses) by bench.timing as bench.speed does. Each (case, oneDNN setting) runs in its own process, because
TF_ENABLE_ONEDNN_OPTS is read once, when TensorFlow loads. Per case: the median wall time of --steps un-profiled
steps ("step_ms"), then --steps steps under the TF profiler (host tracer, level 3): the executor's op events of the
.xplane.pb, each op's own time (nested ops subtracted), averaged per step ("profiled_ms"; the rest of step_ms is
Python and executor overhead). The same for one image through G (G_AB for CycleGAN) in inference mode.

Each op goes to a kind of bench.layer_kinds through the Keras layer that created it: every layer call records its
name scope and tensor shapes while the step is traced (the graph itself is unchanged), and forward and gradient ops
(`gradient_tape/<scope>/...`) are matched to the innermost recorded scope in their name. Convolutions get their
kind and GFLOP from the layer (each forward, input-gradient and weight-gradient convolution op counts the layer's
forward GFLOP; ThinConv2D's gradients are forward convolutions, found the same way); a ZeroPadding2D / Cropping2D
counts as the convolution it pads or crops (PyTorch pads inside the convolution). Ops outside layers go by optimizer
name scope or op type. Output: <out>/tf_<case>_onednn<0|1>.json (format shared with bench/profile_reference.py).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from . import layer_kinds as lk

CASES = ("bicyclegan_128", "bicyclegan_256", "pix2pix_256", "cyclegan_256")
OTHER, ELEMENTWISE, NORM, OPTIMIZER = "loss, reduction, other", "elementwise / activation", \
    "norm (instance / batch)", "optimizer update"
ELEMENTWISE_OPS = {
    "Add", "AddV2", "AddN", "Sub", "Mul", "RealDiv", "DivNoNan", "Neg", "Square", "Sqrt", "Rsqrt", "Exp", "Log",
    "Log1p", "Abs", "Sign", "Maximum", "Minimum", "Relu", "ReluGrad", "LeakyRelu", "LeakyReluGrad", "Tanh",
    "TanhGrad", "Sigmoid", "SigmoidGrad", "Select", "SelectV2", "Cast", "GreaterEqual", "Greater", "Less",
    "LessEqual", "Equal", "ZerosLike", "OnesLike", "Fill", "BroadcastTo", "ConcatV2", "Slice", "Tile", "Identity",
    "SquaredDifference", "Reciprocal", "Pow", "StridedSlice", "StridedSliceGrad", "Transpose", "Pack", "Reshape",
}
DATA_OPS = {"IteratorGetNext", "OptionalFromValue", "OptionalGetValue", "OptionalHasValue"}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", default="all", help=f"one of {', '.join(CASES)}, or all")
    p.add_argument("--onednn", default="both", choices=("0", "1", "both"), help="TF_ENABLE_ONEDNN_OPTS")
    p.add_argument("--threads", type=int, default=2, help="TF intra-op threads (inter-op: 1, as bench.run)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps after the first (tracing) one")
    p.add_argument("--steps", type=int, default=5, help="timed steps, then as many profiled steps")
    p.add_argument("--no-infer", action="store_true", help="skip the G inference profile")
    p.add_argument("--out", default="bench/results/profile/", help="output folder")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # internal: this process profiles
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return profile_case(args)
    cases = CASES if args.case == "all" else [args.case]
    if not set(cases) <= set(CASES):
        sys.exit(f"--case {args.case!r}: choose one of {', '.join(CASES)} or all")
    failed = []
    for case in cases:
        for onednn in ("1", "0") if args.onednn == "both" else (args.onednn,):
            print(f"== {case}, oneDNN {onednn}", flush=True)
            cmd = [sys.executable, "-m", "bench.profile_step", "--child", "--case", case, "--onednn", onednn,
                   "--threads", str(args.threads), "--warmup", str(args.warmup), "--steps", str(args.steps),
                   "--out", args.out, *(["--no-infer"] if args.no_infer else [])]
            env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "3"}
            if subprocess.run(cmd, env=env).returncode:
                failed.append(f"{case} oneDNN {onednn}")
    if failed:
        sys.exit("failed: " + ", ".join(failed))
    print(f"report: python -m bench.profile_report --out {os.path.join(args.out, 'profile.md')}")


# --- the child: profile one case ------------------------------------------------------------------------------

def profile_case(args) -> None:
    """Profile args.case's training step (and G inference) in this process and write its JSON."""
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = args.onednn  # before TensorFlow loads (a no-op when the parent set it)
    import tfgan_i2i  # noqa: F401 - before TensorFlow, as bench.run does
    import tensorflow as tf

    from . import machine, timing
    from .speed import _generator, _inference_fn

    load = machine.load_average()
    model_name, size = args.case.rsplit("_", 1)
    timing.configure_tf(args.threads, 1)
    config, model = timing.build_compiled(model_name, int(size))
    calls = LayerCalls(model)
    iterator = timing.in_memory_iterator(batch := timing.random_batch(config))
    timing.first_and_warmup(model, iterator, args.warmup)
    optimizers = [o.name for o in model.optimizers_by_name.values()]
    times, _ = timing.timed_steps(model, iterator, args.steps)
    records = [record("train_step", 1e3 * timing.spread(times)["median"], calls.take(), optimizers, args.steps,
                      lambda: timing.timed_steps(model, iterator, 1))]
    if not args.no_infer:
        generate, image = _inference_fn(model, config), tf.constant(batch[0][:1])
        run = lambda: generate(image).numpy()  # noqa: E731
        for _ in range(1 + args.warmup):
            run()
        step_ms = 1e3 * timing.median_call_s(run, args.steps)
        records.append(record("infer_" + _generator(model).name, step_ms, calls.take(), optimizers, args.steps, run))
    result = {"case": args.case, "framework": f"tensorflow {tf.__version__} onednn={args.onednn}",
              "threads": args.threads, "inter_op_threads": 1, "warmup": args.warmup, "steps": args.steps,
              "records": records, "params": {net.name: net.count_params() for net in model.layers},
              "date": time.strftime("%Y-%m-%d %H:%M %Z"), "load_at_start": load}
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"tf_{args.case}_onednn{args.onednn}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {path}")


def record(what: str, step_ms: float, scopes: dict, optimizers: list[str], steps: int, run) -> dict:
    """One profile record: `run` profiled `steps` times, its ops classified and grouped by kind, per step."""
    rows = []
    for (name, op_type), (ms, count) in profile_ops(run, steps).items():
        kind, gflop = classify(name, op_type, scopes, optimizers)
        rows.append({"kind": kind, "ms": ms / steps, "gflop": gflop * count / steps, "op": f"{name}:{op_type}"})
    profiled = sum(r["ms"] for r in rows)
    others = sorted((r for r in rows if r["kind"] == OTHER), key=lambda r: -r["ms"])[:10]
    out = {"what": what, "step_ms": step_ms, "profiled_ms": profiled, "kinds": lk.group(rows),
           "top_other": {r["op"]: r["ms"] for r in others},
           "onednn_op_share": sum(r["ms"] for r in rows if ":_Mkl" in r["op"]) / profiled if profiled else 0.0}
    print_table(out)
    return out


def print_table(rec: dict) -> None:
    """The record's kinds as a text table, and its largest 'other' ops."""
    cover = rec["profiled_ms"] / rec["step_ms"] if rec["step_ms"] else 0.0
    print(f"\n{rec['what']}: step {rec['step_ms']:.1f} ms, profiled {rec['profiled_ms']:.1f} ms ({cover:.0%}); "
          f"oneDNN ops {rec['onednn_op_share']:.0%} of the profiled time")
    print(lk.table(rec))


# --- which layer made an op ------------------------------------------------------------------------------------

class LayerCalls:
    """While a function is traced, records the name scope of every Keras layer call with its kind and GFLOP.

    Each layer's `call` is wrapped on the instance; the wrapper only reads the current name scope and the static
    shapes, so the traced graph is the one bench.run times.
    """

    def __init__(self, model):
        import keras

        self.scopes, self.conv_calls = {}, {}
        for layer in model._flatten_layers(include_self=False):
            if not isinstance(layer, (keras.Model, keras.layers.InputLayer)):
                object.__setattr__(layer, "call", self._recording(layer, layer.call))
        _scope_thin_conv_gradients()

    def _recording(self, layer, call):
        import tensorflow as tf

        def recorded(*args, **kwargs):
            out = call(*args, **kwargs)
            first = args[0] if args else next(iter(kwargs.values()))
            kind, gflop, carrier = layer_call(layer, first, out)
            if carrier == "Conv2D":
                self.conv_calls[id(layer)] = (kind, gflop)
            producers = [op for op in neighbours(layer, fed=False) if op is not layer]
            self.scopes[tf.get_current_name_scope()] = {"kind": kind, "gflop": gflop, "carrier": carrier,
                                                        "producers": producers}
            return out

        return recorded

    def take(self) -> dict:
        """{name scope: {kind (None: by op type), gflop (forward), carrier (the op type doing the FLOPs),
        fused (kind, gflop) of the convolution feeding the layer, if any}} recorded since the last take."""
        scopes, self.scopes = self.scopes, {}
        for call in scopes.values():
            convs = [self.conv_calls[id(op)] for op in call.pop("producers") if id(op) in self.conv_calls]
            call["fused"] = convs[0] if len(convs) == 1 else None
        return scopes


def _scope_thin_conv_gradients() -> None:
    """Put ThinConv2D's custom-gradient ops (made at the function's root scope) under gradient_tape/<layer scope>,
    like TensorFlow's own gradients, so they are found; only their names change."""
    import tensorflow as tf

    from tfgan_i2i import layers as tl

    gradients = getattr(tl, "_thin_conv_gradients", None)
    if gradients is None or getattr(gradients, "scoped", False):
        return

    def scoped(x, kernel, dy):
        with tf.name_scope("gradient_tape/" + kernel.op.name.rsplit("/", 1)[0] + "/"):
            return gradients(x, kernel, dy)

    scoped.scoped = True
    tl._thin_conv_gradients = scoped


def layer_call(layer, x, out) -> tuple[str | None, float, str | None]:
    """(kind, forward GFLOP, the op type carrying the GFLOP) of one call of `layer` on x; kind None: by op type."""
    from keras import layers

    from tfgan_i2i.layers import ConcatZ, ReflectionPad2D

    if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose)):
        transposed = isinstance(layer, layers.Conv2DTranspose)
        kernel, stride = layer.kernel_size[0], layer.strides[0]
        n, h, w, _ = out.shape
        return (conv_kind(layer), lk.conv_gflop(kernel, *conv_channels(layer), h, w, n, transposed, *x.shape[1:3]),
                "Conv2D")
    if isinstance(layer, (layers.ZeroPadding2D, layers.Cropping2D)):  # part of the convolution in PyTorch
        convs = [op for op in neighbours(layer) if isinstance(op, (layers.Conv2D, layers.Conv2DTranspose))]
        return (conv_kind(convs[0]) if len(convs) == 1 else None), 0.0, None
    if isinstance(layer, layers.Dense):
        rows = 1
        for d in x.shape[:-1]:
            rows *= d
        return "dense / matmul", 2.0 * rows * x.shape[-1] * layer.units / 1e9, "MatMul"
    if isinstance(layer, ReflectionPad2D):
        return "reflection pad", 0.0, None
    if isinstance(layer, (layers.GroupNormalization, layers.BatchNormalization, layers.LayerNormalization)):
        return NORM, 0.0, None
    if isinstance(layer, (layers.ReLU, layers.LeakyReLU, layers.Activation, layers.Add, layers.Concatenate,
                          layers.Multiply, layers.Subtract, layers.UpSampling2D, ConcatZ)):
        return ELEMENTWISE, 0.0, None
    return None, 0.0, None  # e.g. Dropout, pooling: by op type


def conv_channels(layer) -> tuple[int, int]:
    """(in, out) channels of a Conv2D (kernel k, k, in, out) or Conv2DTranspose (kernel k, k, out, in)."""
    _, _, a, b = layer.kernel.shape
    return (b, a) if type(layer).__name__ == "Conv2DTranspose" else (a * layer.groups, b)


def conv_kind(layer) -> str:
    """bench.layer_kinds' kind of a Keras Conv2D / Conv2DTranspose (ThinConv2D included)."""
    return lk.conv_kind(layer.kernel_size[0], layer.strides[0], *conv_channels(layer),
                        transposed=type(layer).__name__ == "Conv2DTranspose")


def neighbours(layer, fed: bool = True) -> list:
    """The layers feeding `layer` in its functional model, and (fed) the ones it feeds."""
    feeding = [parent.operation for node in layer._inbound_nodes for parent in node.parent_nodes]
    return feeding + ([node.operation for node in layer._outbound_nodes] if fed else [])


def innermost_scope(name: str, scopes: dict) -> str | None:
    """The recorded layer scope in op `name` that ends furthest right (gradient ops repeat the forward scope)."""
    parts = name.split("/")[:-1]
    for end in range(len(parts), 0, -1):
        for start in range(end):
            if (scope := "/".join(parts[start:end])) in scopes:
                return scope
    return None


def classify(name: str, op_type: str, scopes: dict, optimizers: list[str]) -> tuple[str, float]:
    """(kind, GFLOP per execution) of one op: by the layer that made it, else optimizer scope, else op type."""
    base = re.sub(r"^_Mkl(Native)?", "", op_type)
    if "Random" in base:
        return OTHER, 0.0
    if base in DATA_OPS:
        return "data / host", 0.0
    call = scopes.get(innermost_scope(name, scopes))
    if call is not None and "Conv2D" in base and call["carrier"] != "Conv2D":  # fused into the next layer's op
        return call["fused"] or ("conv other", 0.0)
    if call is not None and call["kind"] is not None:
        if "BatchNorm" in base:
            return NORM, 0.0
        return call["kind"], (call["gflop"] if call["carrier"] and call["carrier"] in base else 0.0)
    if base.startswith("ResourceApply") or any(re.sub(r"_\d+$", "", p) in optimizers for p in name.split("/")):
        return OPTIMIZER, 0.0
    if "loss" in name.lower():
        return OTHER, 0.0
    if base.startswith("MirrorPad"):
        return "reflection pad", 0.0
    if "BatchNorm" in base:
        return NORM, 0.0
    if "MatMul" in base:
        return "dense / matmul", 0.0
    if "Conv2D" in base:
        return "conv other", 0.0
    if base in ELEMENTWISE_OPS or (base.endswith("Grad") and base[:-4] in ELEMENTWISE_OPS):
        return ELEMENTWISE, 0.0
    return OTHER, 0.0


# --- the profiler's op events --------------------------------------------------------------------------------

OP_EVENT = re.compile(r"[A-Za-z0-9_.][\w./>-]*:_?[A-Za-z]\w*")  # "scope/name:OpType"


def profile_ops(run, steps: int) -> dict:
    """{(op name, op type): [ms, executions]} over `steps` calls of run, each op's own time (nested ops
    subtracted), from the TF profiler's host plane; the Python thread (eager ops between steps) is left out."""
    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir, options=tf.profiler.experimental.ProfilerOptions(
            host_tracer_level=3, python_tracer_level=0, device_tracer_level=0))
        try:
            for _ in range(steps):
                run()
        finally:
            tf.profiler.experimental.stop()
        with open(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[0], "rb") as f:
            space.ParseFromString(f.read())
    host = next(p for p in space.planes if p.name == "/host:CPU")
    ops = {}
    for line in host.lines:
        names = [host.event_metadata[e.metadata_id].name for e in line.events]
        if any(n.startswith("EagerExecute") for n in names):
            continue  # the caller's thread
        events = [(e.offset_ps, e.duration_ps, tuple(n.rsplit(":", 1)))
                  for e, n in zip(line.events, names) if OP_EVENT.fullmatch(n)]
        for key, own_ps in own_times(events):
            acc = ops.setdefault(key, [0.0, 0])
            acc[0] += own_ps / 1e9
            acc[1] += 1
    return ops


def own_times(events: list[tuple[int, int, tuple]]) -> list[tuple[tuple, int]]:
    """[(key, own ps)] of (start ps, duration ps, key) events on one thread: duration minus nested events'."""
    events = sorted(events, key=lambda e: (e[0], -e[1]))
    own, open_ = [d for _, d, _ in events], []
    for i, (start, duration, _) in enumerate(events):
        while open_ and sum(events[open_[-1]][:2]) <= start:
            open_.pop()
        if open_:
            own[open_[-1]] -= duration
        open_.append(i)
    return [(key, t) for (_, _, key), t in zip(events, own)]


if __name__ == "__main__":
    main()
