"""Levers: ThinConv2D vs keras Conv2D and InstanceNormalization vs GroupNormalization, oneDNN on and off.

Times forward + backward of the convolutions the package builds as ThinConv2D, each alone: the stride-1 'valid'
ones (gradients as forward convolutions: the ResNet G's 7x7 64 -> 3 head at 256 px; the residual blocks' 3x3s of
CycleGAN/UNIT at 64 px and of DRIT's G at 54 px; UNIT's 5x5 up-sampling convs at 128 and 256 px) and the U-Net's
and PatchGAN D's 4x4 stride-2 ones (space_to_depth + a stride-1 conv; 512 -> 512, above
SPACE_TO_DEPTH_MAX_CHANNELS, with that form forced, to show why the limit); the instance norm in training at the
ResNet G's sizes; the whole CycleGAN ResNet-9 G at 256 (plain Conv2D vs its ThinConv2D stride-1 convs,
GroupNormalization vs InstanceNormalization) and pix2pix's U-Net G and PatchGAN D at 256 (plain Conv2D vs
ThinConv2D). Each kernel setting runs in its own process (TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, when it
loads). Batch 1 unless the case says; median of --iters after one warm-up; run it on an idle machine.

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


# (case, input side before the conv, in channels, out channels, kernel, stride): stride 1 sees a reflection-padded
# input ('valid'), stride 2 pads as 'same' (one pixel each side, as the U-Net's and the D's)
LAYERS = [
    ("7x7 64->3 at 256 (ResNet G / UNIT G head)", 262, 64, 3, 7, 1),
    ("3x3 256->256 at 64 (CycleGAN / UNIT residual blocks)", 66, 256, 256, 3, 1),
    ("3x3 264->264 at 54 (DRIT G residual blocks, 216 px)", 56, 264, 264, 3, 1),
    ("5x5 256->128 at 128 (UNIT G up-sampling)", 132, 256, 128, 5, 1),
    ("5x5 128->64 at 256 (UNIT G up-sampling)", 260, 128, 64, 5, 1),
    ("4x4/2 3->64 at 256 (U-Net / BicycleGAN E first conv)", 256, 3, 64, 4, 2),
    ("4x4/2 64->128 at 128 (U-Net, D)", 128, 64, 128, 4, 2),
    ("4x4/2 128->256 at 64 (U-Net, D)", 64, 128, 256, 4, 2),
    ("4x4/2 256->512 at 32 (U-Net, D)", 32, 256, 512, 4, 2),
    ("4x4/2 512->512 at 16 (U-Net inner, forced)", 16, 512, 512, 4, 2),
]
# the instance norm's input shapes in the ResNet G at 256 px (batch 1) and a batch-2 case
NORMS = [(1, 256, 256, 64), (1, 128, 128, 128), (1, 64, 64, 256), (2, 128, 128, 128)]


def child(threads: int, iters: int, network: bool) -> dict:
    """{case: seconds} for this process's kernel setting."""
    import keras
    import tensorflow as tf

    from bench.timing import configure_tf
    from tfgan_i2i.kernels import in_effect
    from tfgan_i2i.layers import InstanceNormalization, ThinConv2D, space_to_depth_conv2d
    from tfgan_i2i.networks import patch_discriminator, resnet_generator, unet_generator

    class ForcedSpaceToDepth(keras.layers.Conv2D):
        def convolution_op(self, inputs, kernel):
            return space_to_depth_conv2d(inputs, tf.convert_to_tensor(kernel), self.padding,
                                         thin=in_effect() == "off")

    configure_tf(threads, 1)
    out = {}
    for case, side, cin, cout, kernel, stride in LAYERS:
        x = tf.random.normal([1, side, side, cin])
        fast = ThinConv2D if "forced" not in case else ForcedSpaceToDepth
        for name, cls in (("Conv2D", keras.layers.Conv2D), (fast.__name__, fast)):
            layer = cls(cout, kernel, strides=stride, padding="valid" if stride == 1 else "same")
            layer.build(x.shape)
            out[f"{case}, {name}"] = _time(_fwd_bwd(layer, x), iters)
    for shape in NORMS:
        x = tf.random.normal(shape) * 3 + 1
        plain = keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, center=False, scale=False)
        for name, norm in (("GroupNormalization", plain), ("InstanceNormalization", InstanceNormalization())):
            out[f"instance norm {'x'.join(map(str, shape))}, training, {name}"] = _time(_fwd_bwd(norm, x), iters)
    image = tf.random.uniform([1, 256, 256, 3], -1, 1)
    whole = (("ResNet-9 G 256, plain Conv2D, GroupNormalization", True, True),
             ("ResNet-9 G 256, ThinConv2D stride-1 convs, GroupNormalization", False, True),
             ("ResNet-9 G 256, ThinConv2D stride-1 convs, InstanceNormalization", False, False))
    for name, plain_convs, plain_norms in whole if network else ():
        g = resnet_generator(input_nc=3, output_nc=3, ngf=64, n_blocks=9, image_size=256)
        out[name] = _time(_fwd_bwd(_with_plain(g, plain_convs, plain_norms), image), iters)
    pair = tf.random.uniform([1, 256, 256, 6], -1, 1)
    nets = (("pix2pix U-Net G 256", lambda: unet_generator(norm="batch", image_size=256), image),
            ("pix2pix PatchGAN D 256", lambda: patch_discriminator(6, norm="batch", image_size=256), pair))
    for name, make, x in nets if network else ():
        for arm, plain_convs in (("plain Conv2D", True), ("ThinConv2D (stride-2 4x4 as space_to_depth)", False)):
            out[f"{name}, {arm}"] = _time(_fwd_bwd(_with_plain(make(), plain_convs, False), x), iters)
    return out


def _fwd_bwd(net, x):
    import tensorflow as tf

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_mean(tf.square(net(x, training=True)))
        return tape.gradient(loss, [x] + net.trainable_variables)

    return lambda: [g.numpy() for g in step()]


def _with_plain(g, convs: bool, norms: bool):
    """The same G with every ThinConv2D a keras Conv2D (`convs`) and every InstanceNormalization the
    GroupNormalization it computes (`norms`), holding the same weights."""
    import keras

    from tfgan_i2i.layers import InstanceNormalization, ThinConv2D

    def clone(layer):
        if convs and isinstance(layer, ThinConv2D):
            return keras.layers.Conv2D.from_config(layer.get_config())
        if norms and isinstance(layer, InstanceNormalization):
            return keras.layers.GroupNormalization(groups=-1, epsilon=layer.epsilon, center=False, scale=False)
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
