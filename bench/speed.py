"""One (model, size, precision) configuration of the speed benchmark, measured in the calling process.

Training: the preset's reference architecture and batch size on one random (A, B) batch already in memory; the
first step (tracing + first run) is timed on its own, then `warmup` untimed steps, then `steps` timed steps, each
until its losses are on the host. The losses of the timed steps are kept, so float32 and mixed_bfloat16 runs
(same seeds, same data, same number of steps) can be compared. Peak RSS is read right after training, before the
inference and export work, and again at the end; the RSS after importing TensorFlow, Keras and the package
(before any model exists) is kept as well, so the memory the training itself needs can be told apart from the
libraries' own footprint.
Inference: one image through the generator (G, or G_AB via `a_to_b` for unpaired models) from Keras in a
tf.function; for float32 also from the exported SavedModel's `translate` signature (a_to_b for unpaired models)
and from TFLite float32 / float16 / dynamic-range int8 conversions of it; after `timing.INFER_WARMUP` untimed calls
each (3, as time_peers.py warms up the reference), the median of `infer_runs` calls per backend, the backends
taking turns in blocks (`timing.interleaved_medians_s`) so that the host's slow spells do not favour one of them.
FLOPs: bench.flops on the traced train_step and generator (graph count, plus the per-layer count as a check).
"""
from __future__ import annotations

import os
import tempfile

from . import timing


def measure(model_name: str, size: int, precision: str, args) -> dict:
    """The result dict of one configuration (see the module doc); args: the bench.run options."""
    timing.configure_tf(args.intra, args.inter, precision)
    import_rss_gb = timing.peak_rss_gb()  # TensorFlow + Keras + the package loaded, no model yet
    config, model = timing.build_compiled(model_name, size, args.jit_compile, fused_adam=args.adam == "fused")
    batch = timing.random_batch(config)
    iterator = timing.in_memory_iterator(batch)
    first_s = timing.first_and_warmup(model, iterator, args.warmup)
    times, losses = timing.timed_steps(model, iterator, args.steps)
    step = timing.spread(times)
    result = {
        "model": model_name, "size": size, "precision": precision, "batch_size": config.batch_size,
        "jit_compile": bool(model.jit_compile), "adam": args.adam, "params_G": _generator(model).count_params(),
        "trace_s": first_s, "step_s_median": step["median"], "step_s_min": step["min"], "step_s_max": step["max"],
        "steps": args.steps, "warmup": args.warmup, "images_per_s": config.batch_size / step["median"],
        "losses_last_step": losses[-1] if losses else {},
        "losses_mean": {k: sum(step_losses[k] for step_losses in losses) / len(losses) for k in losses[0]}
        if losses else {},
        "peak_rss_train_gb": timing.peak_rss_gb(), "rss_after_import_gb": import_rss_gb,
    }
    image = batch[0][:1]
    generate = _inference_fn(model, config)
    with tempfile.TemporaryDirectory() as tmp:
        backends = {"keras": lambda: generate(image).numpy()}
        if precision == "float32" and not args.no_export:
            exported, errors = export_backends(model, image, tmp)
            backends.update(exported)
            result.update(errors)
        for fn in backends.values():
            for _ in range(timing.INFER_WARMUP):  # the first traces
                fn()
        result.update({f"infer_{name}_s": s
                       for name, s in timing.interleaved_medians_s(backends, args.infer_runs).items()})
    if not args.no_flops:
        result.update(count_flops(model, config, generate))
    result["peak_rss_gb"] = timing.peak_rss_gb()
    return result


def _generator(model):
    """The generator inference runs through: G for paired models, G_AB for unpaired ones, G_B for DRIT (whose A -> B
    also runs the content and attribute encoders)."""
    if not getattr(model, "unpaired", False):
        return model.G
    return model.G_AB if hasattr(model, "G_AB") else model.G_B


def _inference_fn(model, config):
    """image -> translated image in inference mode: a_to_b for unpaired models, G(image, z = 0) for paired ones."""
    import tensorflow as tf

    if getattr(model, "unpaired", False):
        return tf.function(lambda x: model.a_to_b(x))
    z = tf.zeros((1, config.nz)) if config.nz else None
    return tf.function(lambda x: model.generate(x, z, training=False))


def export_backends(model, image, tmp: str) -> tuple[dict, dict]:
    """({backend: call}, {infer_<fmt>_error: message}) for one uint8 image through the exported `translate`
    signature (a_to_b for unpaired models): the SavedModel written under `tmp`, and its TFLite float32 / float16 /
    dynamic-range int8 conversions (a converter failure costs that format's latency, not the configuration)."""
    import tensorflow as tf

    from tfgan_i2i.export import convert_tflite, export_savedmodel
    from tfgan_i2i.export.tflite import interpreter

    u8 = ((image + 1) * 127.5).round().clip(0, 255).astype("uint8")
    sm_path = export_savedmodel(model, os.path.join(tmp, "m"))
    translate = tf.saved_model.load(sm_path).signatures["translate"]
    u8_tensor = tf.constant(u8)
    calls, errors = {"savedmodel": lambda: translate(image=u8_tensor)["image"].numpy()}, {}
    for fmt in ("tflite", "tflite-fp16", "tflite-int8"):
        try:
            runner = interpreter(convert_tflite(sm_path, os.path.join(tmp, f"m.{fmt}"), fmt)
                                 ).get_signature_runner("translate")
        except Exception as e:  # noqa: BLE001 - the converter raises many kinds; the message is kept
            lines = [line for line in str(e).splitlines() if line.strip()]
            errors[f"infer_{fmt}_error"] = f"{type(e).__name__}: {(lines or ['no message'])[0][:300]}"
            continue
        calls[fmt] = lambda runner=runner: runner(image=u8)
    return calls, errors


def count_flops(model, config, generate) -> dict:
    """{train_gflop, infer_gflop, infer_gflop_per_layer, ...}: graph counts of one training step (at the config's
    batch) and of one generated image, with the per-layer forward count of the generator as a cross-check."""
    from .flops import inference_flops, layer_flops, train_step_flops

    train = train_step_flops(model, config.batch_size, config.image_size, config.input_nc, config.output_nc)
    infer = inference_flops(generate, config.image_size, config.input_nc)
    return {
        "train_gflop": train["flops"] / 1e9, "train_gflop_pruned": train["pruned"] / 1e9,
        "train_gflop_by_type": {k: v / 1e9 for k, v in train["by_type"].items()},
        "train_uncounted_function_ops": train["uncounted_function_ops"],
        "infer_gflop": infer["flops"] / 1e9, "infer_uncounted_function_ops": infer["uncounted_function_ops"],
        "infer_gflop_per_layer": layer_flops(_generator(model), config.image_size) / 1e9,
    }
