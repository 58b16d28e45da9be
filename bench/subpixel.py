"""Lever: SubPixelConv2DTranspose (one stride-1 conv + depth_to_space) vs keras Conv2DTranspose, oneDNN on and off.

Times forward + backward (gradients w.r.t. the input and the weights) of each transposed convolution the generators
build at 256 px: the ResNet G's two ConvTranspose2d(3, 2, padding=1, output_padding=1) (torch_conv_transpose's
valid 3x3 stride-2 layer; its Cropping2D is left out) and the 4x4 stride-2 'same' layer at every level of the
U-Net-256 decoder (ngf 64, batch-norm levels without bias), plus a 4x4 128 -> 64 layer at 128 px in for comparison
with the 3x3 one; then the whole pix2pix U-Net-256 G and CycleGAN ResNet-9 G with every Conv2DTranspose swapped.
The one variable is the layer class: same weights, same outputs. Each kernel setting runs in its own process
(TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, when it loads). Median of --iters after one warm-up; run it on an
idle machine.

    python -m bench.subpixel                       # both settings, 2 threads, batch 1; prints a markdown table
    python -m bench.subpixel --threads 1 --iters 3 --layers-only
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

# (name, kernel, padding, cin, cout, input px, bias)
LAYERS = [
    ("ResNet G up 1: 3x3 256->128, 64 px in", 3, "valid", 256, 128, 64, True),
    ("ResNet G up 2: 3x3 128->64, 128 px in", 3, "valid", 128, 64, 128, True),
    ("4x4 128->64, 128 px in", 4, "same", 128, 64, 128, False),
    ("U-Net-256 up 8: 4x4 512->512, 1 px in", 4, "same", 512, 512, 1, False),
    ("U-Net-256 up 7: 4x4 1024->512, 2 px in", 4, "same", 1024, 512, 2, False),
    ("U-Net-256 up 6: 4x4 1024->512, 4 px in", 4, "same", 1024, 512, 4, False),
    ("U-Net-256 up 5: 4x4 1024->512, 8 px in", 4, "same", 1024, 512, 8, False),
    ("U-Net-256 up 4: 4x4 1024->256, 16 px in", 4, "same", 1024, 256, 16, False),
    ("U-Net-256 up 3: 4x4 512->128, 32 px in", 4, "same", 512, 128, 32, False),
    ("U-Net-256 up 2: 4x4 256->64, 64 px in", 4, "same", 256, 64, 64, False),
    ("U-Net-256 up 1: 4x4 128->3, 128 px in", 4, "same", 128, 3, 128, True),
]


def child(threads: int, iters: int, batch: int, layers_only: bool) -> dict:
    """{case: {arm: seconds}} for this process's kernel setting."""
    import keras
    import tensorflow as tf

    from bench.thin_conv import _fwd_bwd, _time
    from bench.timing import configure_tf
    from tfgan_i2i.layers import SubPixelConv2DTranspose, with_subpixel_transposes
    from tfgan_i2i.networks import resnet_generator, unet_generator

    configure_tf(threads, 1)
    out = {}
    for name, kernel, padding, cin, cout, size, bias in LAYERS:
        x = tf.random.normal([batch, size, size, cin])
        plain = keras.layers.Conv2DTranspose(cout, kernel, strides=2, padding=padding, use_bias=bias)
        plain.build(x.shape)
        sub = SubPixelConv2DTranspose.from_config(plain.get_config())
        sub.build(x.shape)
        sub.set_weights(plain.get_weights())
        out[name] = {"plain": _time(_fwd_bwd(plain, x), iters), "subpixel": _time(_fwd_bwd(sub, x), iters)}
    if not layers_only:
        image = tf.random.uniform([batch, 256, 256, 3], -1, 1)
        for name, make in (("pix2pix U-Net-256 G", lambda: unet_generator(image_size=256)),
                           ("CycleGAN ResNet-9 G 256", lambda: resnet_generator(n_blocks=9, image_size=256))):
            g = make()
            out[name] = {"plain": _time(_fwd_bwd(g, image), iters),
                         "subpixel": _time(_fwd_bwd(with_subpixel_transposes(g), image), iters)}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--layers-only", action="store_true", help="leave out the whole generators")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.threads, args.iters, args.batch, args.layers_only)))
        return 0
    results = {}
    for onednn in ("0", "1"):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "2"}
        command = [sys.executable, "-m", "bench.subpixel", "--child", "--threads", str(args.threads),
                   "--iters", str(args.iters), "--batch", str(args.batch)] + ["--layers-only"] * args.layers_only
        run = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        results[onednn] = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"forward + backward, batch {args.batch}, {args.threads} threads, median of {args.iters} (ms; "
          f"ratio = Conv2DTranspose / SubPixelConv2DTranspose)\n")
    print("| case | default: Conv2DTranspose | default: sub-pixel | ratio | oneDNN: Conv2DTranspose "
          "| oneDNN: sub-pixel | ratio |\n|---|---|---|---|---|---|---|")
    for case in results["0"]:
        cells = []
        for onednn in ("0", "1"):
            plain, sub = results[onednn][case]["plain"], results[onednn][case]["subpixel"]
            cells += [f"{plain * 1000:.1f}", f"{sub * 1000:.1f}", f"{plain / sub:.2f}x"]
        print(f"| {case} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
