"""FLOPs of a training step and of one generator inference, counted from the traced TensorFlow graph.

Method (the one the benchmark reports): trace the function with fully known shapes into a concrete function and
sum TensorFlow's registered per-op FLOP statistics over its graph (tf.compat.v1.profiler with
ProfileOptionBuilder.float_operation()). Convolutions and matrix products count 2 x multiply-adds: Conv2D
out_h*out_w*out_c*k_h*k_w*in_c*2, and the same for the backward ops Conv2DBackpropInput (also the forward op of
Conv2DTranspose) and Conv2DBackpropFilter, MatMul 2*m*n*k; element-wise ops (bias add, activations, norm
arithmetic, optimizer updates) one per output element. Only ops the step really runs are summed: a gradient tape
also emits ops whose results nothing uses (e.g. the gradient with respect to a network's input image in the D
step), which Grappler prunes before running, so ops that neither the outputs nor a control output (variable
updates) depend on are left out and reported separately as `pruned`. Ops inside nested functions (the While
loop of CycleGAN's image pool, If branches) are not descended into; their types are listed as
`uncounted_function_ops` (none of them holds a convolution in these models).

Cross-check (the other way: per layer, forward only, 2 x multiply-adds of Conv2D / Conv2DTranspose / Dense):
`python -m bench.flops` compares both counts for one image. Measured with TF 2.21: a tiny Conv2D(4, 3x3) ->
Conv2DTranspose(5, 4x4, stride 2) -> Dense(7) model on 8x8x3 gives 74,247 FLOP from the graph and 72,704 per
layer, the difference being exactly its 1,543 bias adds; the pix2pix generator at 32 px 172,595,072 vs.
172,490,752 (+0.06 %) and the CycleGAN generator at 32 px 1,098,486,912 vs. 1,095,499,776 (+0.3 %: instance
norm, activations, bias adds, which the per-layer count leaves out). The benchmark stores both counts for every
generator it measures.
"""
from __future__ import annotations

import math


def graph_flops(concrete_fn) -> dict:
    """{flops, pruned, by_type, uncounted_function_ops} of a concrete function's graph (see the module doc)."""
    import tensorflow as tf

    graph = concrete_fn.graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(graph=graph, options=options)
    per_op = {}
    stack = [profile]
    while stack:
        node = stack.pop()
        if node.float_ops:
            per_op[node.name] = node.float_ops
        stack.extend(node.children)
    live = _live_op_names(graph)
    by_type: dict[str, int] = {}
    flops = pruned = 0
    for name, count in per_op.items():
        if name not in live:
            pruned += count
            continue
        flops += count
        op_type = graph.get_operation_by_name(name).type
        by_type[op_type] = by_type.get(op_type, 0) + count
    nested = {}
    for op in graph.get_operations():
        if op.name in live and any(attr.HasField("func") for attr in op.node_def.attr.values()):
            nested[op.type] = nested.get(op.type, 0) + 1
    return {"flops": flops, "pruned": pruned, "by_type": dict(sorted(by_type.items(), key=lambda kv: -kv[1])),
            "uncounted_function_ops": nested}


def _live_op_names(graph) -> set[str]:
    """Names of the ops the function's outputs or control outputs (stateful updates) depend on."""
    stack = [t.op for t in graph.outputs] + list(graph.control_outputs)
    live = set()
    while stack:
        op = stack.pop()
        if op.name in live:
            continue
        live.add(op.name)
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return live


def layer_flops(model, image_size: int) -> int:
    """Forward FLOPs (2 x multiply-adds) of the Conv2D, Conv2DTranspose and Dense layers of a functional Keras model
    (nested models included) for one image_size x image_size image; other layers count 0.

    Layer shapes come from a copy of the model called on batch-1 inputs of that fixed size (the generators are built
    with unknown spatial dimensions), so the count needs no graph tracing.
    """
    import keras

    fixed = [keras.Input(batch_shape=(1, image_size, image_size, t.shape[-1]) if len(t.shape) == 4
                         else (1, *t.shape[1:])) for t in model.inputs]
    model = keras.models.clone_model(model, input_tensors=fixed if len(fixed) > 1 else fixed[0])
    total = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, keras.layers.Conv2DTranspose):
            _, h, w, c_in = layer.input.shape
            k_h, k_w = layer.kernel_size
            total += 2 * h * w * c_in * k_h * k_w * layer.filters
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            k_h, k_w = layer.kernel_size
            total += 2 * h * w * c_out * k_h * k_w * layer.input.shape[-1] // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            positions = math.prod(layer.output.shape[1:-1])
            total += 2 * positions * layer.input.shape[-1] * layer.units
    return total


def _leaf_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _leaf_layers(layer)
        else:
            yield layer


def train_step_flops(model, batch_size: int, size: int, input_nc: int = 3, output_nc: int = 3) -> dict:
    """graph_flops of model.train_step traced on one (A, B) batch of fixed shape (tracing only: nothing runs)."""
    import tensorflow as tf

    specs = (tf.TensorSpec((batch_size, size, size, input_nc), tf.float32),
             tf.TensorSpec((batch_size, size, size, output_nc), tf.float32))
    return graph_flops(tf.function(model.train_step).get_concrete_function(specs))


def inference_flops(generate, size: int, input_nc: int = 3) -> dict:
    """graph_flops of `generate(image)` for one size x size image (e.g. a model's a_to_b, or G with a fixed z).

    A tf.function is traced from its Python function: wrapping it in another tf.function would hide its whole
    body behind one call op.
    """
    import tensorflow as tf

    spec = tf.TensorSpec((1, size, size, input_nc), tf.float32)
    generate = getattr(generate, "python_function", generate)
    return graph_flops(tf.function(generate).get_concrete_function(spec))


def _tiny_model():
    import keras

    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same"),
                             keras.layers.Conv2DTranspose(5, 4, strides=2, padding="same"), keras.layers.Flatten(),
                             keras.layers.Dense(7)])


def cross_check(size: int = 32) -> list[dict]:
    """Graph vs per-layer forward FLOPs on a tiny model and on the pix2pix / CycleGAN generators at `size`."""
    from tfgan_i2i.config import preset
    from tfgan_i2i.models import build_model

    tiny = _tiny_model()
    rows = [{"model": "tiny conv/conv-transpose/dense",
             "graph": inference_flops(lambda x: tiny(x), 8)["flops"], "per_layer": layer_flops(tiny, 8),
             "expected_difference": 8 * 8 * 4 + 16 * 16 * 5 + 7}]  # one add per output element of each bias
    for name in ("pix2pix", "cyclegan"):
        model = build_model(preset(name, image_size=size, load_size=size, input_nc=3, output_nc=3))
        G = model.G if hasattr(model, "G") else model.G_AB
        rows.append({"model": f"{name} G at {size} px", "graph": inference_flops(
            lambda x, G=G: G(x, training=False), size)["flops"], "per_layer": layer_flops(G, size)})
    return rows


def main() -> None:
    """Print the cross-check (python -m bench.flops)."""
    for row in cross_check():
        extra = row["graph"] - row["per_layer"]
        print(f"{row['model']}: graph {row['graph']:,} FLOP, per layer {row['per_layer']:,} FLOP, "
              f"graph - per layer = {extra:,} ({extra / row['per_layer']:.1%})"
              + (f", expected {row['expected_difference']:,}" if "expected_difference" in row else ""))


if __name__ == "__main__":
    main()
