"""Lever: ThinConv2D (gradients as forward convolutions) vs keras Conv2D, with oneDNN on and off.

Times forward + backward of the ResNet G's output layer (7x7 conv 64 -> 3 after a reflection pad, 256 px,
batch 1) and of the whole CycleGAN ResNet-9 G at 256 (plain Conv2D vs its ThinConv2D stride-1 convs), each kernel setting in its own process (TensorFlow reads
TF_ENABLE_ONEDNN_OPTS once, when it loads). Median of --iters after one warm-up; run it on an idle machine.

    python -m bench.thin_conv                      # both settings, 2 threads; prints a markdown table
    python -m bench.thin_conv --threads 1 --iters 3
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def _time(fn, iters: int) -> float:
    """Median of `iters` calls after one warm-up call (which traces)."""
    from bench.timing import median_call_s

    fn()
    return median_call_s(fn, iters)


def child(threads: int, iters: int) -> dict:
    """{case: seconds} for this process's kernel setting."""
    import keras
    import tensorflow as tf

    from bench.timing import configure_tf
    from tfgan_i2i.layers import ThinConv2D
    from tfgan_i2i.networks import resnet_generator

    configure_tf(threads, 1)
    out = {}
    x = tf.random.normal([1, 262, 262, 64])
    for name, cls in (("7x7 64->3 conv, Conv2D", keras.layers.Conv2D), ("7x7 64->3 conv, ThinConv2D", ThinConv2D)):
        layer = cls(3, 7, padding="valid")
        layer.build(x.shape)
        out[name] = _time(_fwd_bwd(layer, x), iters)
    image = tf.random.uniform([1, 256, 256, 3], -1, 1)
    for name, thin in (("ResNet-9 G 256, plain Conv2D", False), ("ResNet-9 G 256, ThinConv2D stride-1 convs", True)):
        g = resnet_generator(input_nc=3, output_nc=3, ngf=64, n_blocks=9, image_size=256)
        if not thin:
            g = _with_plain_convs(g)
        out[name] = _time(_fwd_bwd(g, image), iters)
    return out


def _fwd_bwd(net, x):
    import tensorflow as tf

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_mean(tf.square(net(x)))
        return tape.gradient(loss, [x] + net.trainable_variables)

    return lambda: [g.numpy() for g in step()]


def _with_plain_convs(g):
    """The same G with every ThinConv2D (its stride-1 convs) a keras Conv2D holding the same weights."""
    import keras

    from tfgan_i2i.layers import ThinConv2D

    def clone(layer):
        if isinstance(layer, ThinConv2D):
            return keras.layers.Conv2D.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    plain = keras.models.clone_model(g, clone_function=clone)
    plain.set_weights(g.get_weights())
    return plain


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.threads, args.iters)))
        return 0
    results = {}
    for onednn in ("0", "1"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "2"}
        run = subprocess.run([sys.executable, "-m", "bench.thin_conv", "--child", "--threads", str(args.threads),
                              "--iters", str(args.iters)], env=env, capture_output=True, text=True, check=True)
        results[onednn] = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"forward + backward, batch 1, {args.threads} threads, median of {args.iters} (ms)\n")
    print("| case | TF default kernels | oneDNN |\n|---|---|---|")
    for case in results["0"]:
        print(f"| {case} | {results['0'][case] * 1000:.0f} | {results['1'][case] * 1000:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
