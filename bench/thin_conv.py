"""Lever: ThinConv2D (gradients as forward convolutions) vs keras Conv2D, with oneDNN on and off.

Times forward + backward (batch 1) of the stride-1 'valid' convolutions the package builds as ThinConv2D, each
alone (the ResNet G's 7x7 64 -> 3 head at 256 px; the residual blocks' 3x3s of CycleGAN/UNIT at 64 px and of
DRIT's G at 54 px; UNIT's 5x5 up-sampling convs at 128 and 256 px), and the whole CycleGAN ResNet-9 G at 256
(plain Conv2D vs its ThinConv2D stride-1 convs), each kernel setting in its own process (TensorFlow reads
TF_ENABLE_ONEDNN_OPTS once, when it loads). Median of --iters after one warm-up; run it on an idle machine.

    python -m bench.thin_conv                      # both settings, 2 threads; prints a markdown table
    python -m bench.thin_conv --threads 1 --iters 3 --no-network
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


# (case, input side before the conv, in channels, out channels, kernel): the conv sees a reflection-padded input
LAYERS = [
    ("7x7 64->3 at 256 (ResNet G / UNIT G head)", 262, 64, 3, 7),
    ("3x3 256->256 at 64 (CycleGAN / UNIT residual blocks)", 66, 256, 256, 3),
    ("3x3 264->264 at 54 (DRIT G residual blocks, 216 px)", 56, 264, 264, 3),
    ("5x5 256->128 at 128 (UNIT G up-sampling)", 132, 256, 128, 5),
    ("5x5 128->64 at 256 (UNIT G up-sampling)", 260, 128, 64, 5),
]


def child(threads: int, iters: int, network: bool) -> dict:
    """{case: seconds} for this process's kernel setting."""
    import keras
    import tensorflow as tf

    from bench.timing import configure_tf
    from tfgan_i2i.layers import ThinConv2D
    from tfgan_i2i.networks import resnet_generator

    configure_tf(threads, 1)
    out = {}
    for case, side, cin, cout, kernel in LAYERS:
        x = tf.random.normal([1, side, side, cin])
        for name, cls in (("Conv2D", keras.layers.Conv2D), ("ThinConv2D", ThinConv2D)):
            layer = cls(cout, kernel, padding="valid")
            layer.build(x.shape)
            out[f"{case}, {name}"] = _time(_fwd_bwd(layer, x), iters)
    image = tf.random.uniform([1, 256, 256, 3], -1, 1)
    whole = (("ResNet-9 G 256, plain Conv2D", False), ("ResNet-9 G 256, ThinConv2D stride-1 convs", True))
    for name, thin in whole if network else ():
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
    p.add_argument("--no-network", action="store_true", help="time the single layers only, not the whole G")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.threads, args.iters, not args.no_network)))
        return 0
    results = {}
    for onednn in ("0", "1"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "2"}
        command = [sys.executable, "-m", "bench.thin_conv", "--child", "--threads", str(args.threads),
                   "--iters", str(args.iters)] + ["--no-network"] * args.no_network
        run = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        results[onednn] = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"forward + backward, batch 1, {args.threads} threads, median of {args.iters} (ms)\n")
    print("| case | TF default kernels | oneDNN |\n|---|---|---|")
    for case in results["0"]:
        print(f"| {case} | {results['0'][case] * 1000:.0f} | {results['1'][case] * 1000:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
