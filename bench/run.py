"""Speed and memory benchmark: training step time and generator inference latency per model and size.

    python -m bench.run --models bicyclegan,pix2pix --sizes 128,256 --out bench/results/speed.json

Each (model, size, precision) runs in its own subprocess so peak memory is per configuration. Training uses the
reference architectures and batch sizes (BicycleGAN batch 2, pix2pix batch 1) on random tensors already in
memory (convolution cost does not depend on the data), like the reference figures in ../shared/REFERENCE.md:
median of --steps steps after --warmup warm-up steps; the first call (tracing) is reported separately.
Inference: one image through G from Keras, from the exported SavedModel and from TFLite (LiteRT), median of
--infer-runs calls. Threads: TF intra-op/inter-op set by --intra/--inter (default: the core count and 1).
Benchmark only on an otherwise idle machine: on 2 cores a second busy process makes a step 2-7x slower.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

REFERENCE_S_PER_STEP = {("bicyclegan", 256): 3.62, ("bicyclegan", 128): 1.42, ("pix2pix", 256): 1.24}
REFERENCE_INFER_S = {("bicyclegan", 256): 0.18, ("bicyclegan", 128): 0.070, ("pix2pix", 256): 0.156}


def _median_time(fn, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def measure(model_name: str, size: int, precision: str, args) -> dict:
    """One configuration, in this process: step times, inference latencies, peak RSS."""
    import resource

    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.intra)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter)
    import keras

    if precision != "float32":
        keras.mixed_precision.set_global_policy(precision)
    from tfgan_i2i.config import preset
    from tfgan_i2i.export import convert_tflite, export_savedmodel
    from tfgan_i2i.export.tflite import interpreter
    from tfgan_i2i.models import build_model

    config = preset(model_name, image_size=size, load_size=size, input_nc=3, output_nc=3)
    model = build_model(config)
    model.compile()
    rng = np.random.default_rng(0)
    batch = [rng.uniform(-1, 1, (config.batch_size, size, size, 3)).astype("float32") for _ in range(2)]
    data = tf.data.Dataset.from_tensors(tuple(batch)).repeat()
    iterator = iter(data)
    model.make_train_function()
    step = model.train_function

    t = time.perf_counter()
    step(iterator)
    trace_s = time.perf_counter() - t
    for _ in range(args.warmup):
        step(iterator)
    median, times = _median_time(lambda: [v.numpy() for v in step(iterator).values()], args.steps)

    image = batch[0][:1]
    z = tf.zeros((1, config.nz)) if config.nz else None
    keras_fn = tf.function(lambda x: model.generate(x, z, training=False))
    keras_fn(image)
    keras_s, _ = _median_time(lambda: keras_fn(image).numpy(), args.infer_runs)
    result = {
        "model": model_name, "size": size, "precision": precision, "batch_size": config.batch_size,
        "params_G": model.G.count_params(), "trace_s": trace_s, "step_s_median": median,
        "step_s_min": min(times), "step_s_max": max(times), "images_per_s": config.batch_size / median,
        "infer_keras_s": keras_s,
    }
    if precision == "float32" and not args.no_export:
        with tempfile.TemporaryDirectory() as tmp:
            sm_path = export_savedmodel(model, os.path.join(tmp, "m"))
            translate = tf.saved_model.load(sm_path).signatures["translate"]
            u8 = tf.constant(((image + 1) * 127.5).astype("uint8"))
            translate(image=u8)
            result["infer_savedmodel_s"], _ = _median_time(lambda: translate(image=u8)["image"].numpy(), args.infer_runs)
            for fmt in ("tflite", "tflite-fp16", "tflite-int8"):
                runner = interpreter(convert_tflite(sm_path, os.path.join(tmp, f"m.{fmt}"), fmt)).get_signature_runner(
                    "translate")
                runner(image=u8.numpy())
                result[f"infer_{fmt}_s"], _ = _median_time(lambda: runner(image=u8.numpy()), args.infer_runs)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ref = REFERENCE_S_PER_STEP.get((model_name, size))
    if ref:
        result["reference_step_s"] = ref
        result["speedup_vs_reference"] = ref / median
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="bicyclegan,pix2pix")
    p.add_argument("--sizes", default="128,256")
    p.add_argument("--precision", default="float32", help="comma-separated: float32, mixed_bfloat16")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--infer-runs", type=int, default=20)
    p.add_argument("--intra", type=int, default=os.cpu_count())
    p.add_argument("--inter", type=int, default=1)
    p.add_argument("--no-export", action="store_true", help="skip the SavedModel/TFLite latencies")
    p.add_argument("--out", default="bench/results/speed.json")
    p.add_argument("--one", help=argparse.SUPPRESS)  # internal: MODEL:SIZE:PRECISION in this process
    args = p.parse_args(argv)
    if args.one:
        name, size, precision = args.one.split(":")
        print(json.dumps(measure(name, int(size), precision, args)))
        return
    results = []
    for name in args.models.split(","):
        for size in map(int, args.sizes.split(",")):
            for precision in args.precision.split(","):
                cmd = [sys.executable, "-m", "bench.run", "--one", f"{name}:{size}:{precision}",
                       "--steps", str(args.steps), "--warmup", str(args.warmup), "--infer-runs", str(args.infer_runs),
                       "--intra", str(args.intra), "--inter", str(args.inter), *(["--no-export"] if args.no_export else [])]
                out = subprocess.run(cmd, capture_output=True, text=True,
                                     env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
                if out.returncode != 0:
                    print(out.stderr[-2000:], file=sys.stderr)
                    continue
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(json.dumps(results[-1]))
    import tensorflow as tf

    meta = {"date": time.strftime("%Y-%m-%d"), "tf": tf.__version__, "machine": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "intra_op_threads": args.intra, "inter_op_threads": args.inter,
            "command": "python -m bench.run " + " ".join(argv or sys.argv[1:])}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
