"""The `tfgan-i2i evaluate` and `tfgan-i2i convert-lpips` subcommands (plugged into cli.build_parser).

Heavy imports happen inside the commands, and the weight files a metric needs are checked before TensorFlow is
imported, so a missing file is reported within a second or two.
"""
from __future__ import annotations

import json
import os
import sys

# the same "expected a whole number" / ">= 1" messages as the other subcommands; the CPU kernels for the model
from .cli import _positive, choose_inference_kernels


def _fail(command: str, e: Exception) -> int:
    """Print the CLI's one-line error for a metric's own exception; returns exit status 2 (as cli.main does)."""
    print(f"tfgan-i2i {command}: error: {e}", file=sys.stderr)
    return 2


def add_evaluate(sub) -> None:
    """The `evaluate` subcommand's options."""
    p = sub.add_parser(
        "evaluate", help="FID, KID, LPIPS diversity, NDB/JSD and pixel diversity of a trained model",
        description="Sample K outputs per test input of a paired dataset and compute the chosen metrics. Writes "
                    "evaluation.json and evaluation.md to --out. Protocols: bicyclegan = 100 inputs x 20 samples, "
                    "LPIPS over the 19 consecutive pairs; msgan = every input x 50 samples, 50 random pairs. FID/KID "
                    "need the Keras Inception-v3 ImageNet weights file (Keras cache or --inception-weights); LPIPS "
                    "needs a file made by `tfgan-i2i convert-lpips`. Nothing is downloaded.")
    p.add_argument("--checkpoint", metavar="DIR", required=True,
                   help="a train --logdir, its checkpoints/ folder, or an exported SavedModel folder")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="paired dataset folder with test/ (and train/ for NDB/JSD); default: the bundled sample")
    p.add_argument("--metrics", default="pixel-diversity",
                   help="comma-separated: fid,kid,lpips,ndb,jsd,pixel-diversity (default: pixel-diversity); "
                        "fid-random-features and lpips-random-features are random-network smoke tests, not metrics")
    p.add_argument("--protocol", choices=("bicyclegan", "msgan"), default="bicyclegan",
                   help="sampling protocol (default: bicyclegan)")
    p.add_argument("--out", metavar="DIR", default=None, help="report folder (default: CHECKPOINT/eval-PROTOCOL)")
    p.add_argument("--split", default="test", help="the data split to sample from (default: test)")
    p.add_argument("--inputs", type=_positive, default=None, metavar="N", help="number of test inputs (override)")
    p.add_argument("--samples", type=_positive, default=None, metavar="K", help="samples per input (override)")
    p.add_argument("--direction", choices=("AtoB", "BtoA"), default=None,
                   help="default: the checkpoint's (AtoB for a SavedModel)")
    p.add_argument("--inception-weights", metavar="FILE", default=None,
                   help="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 (default: the Keras cache)")
    p.add_argument("--lpips-weights", metavar="FILE", default=None, help="an LPIPS .npz from convert-lpips")
    p.add_argument("--ndb-bins", type=_positive, default=20, metavar="K", help="K-means bins for NDB/JSD (default 20)")
    p.add_argument("--ndb-size", type=_positive, default=32, metavar="N",
                   help="images are resized to N x N before binning (default 32)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent codes and random pairs (default 0)")
    p.add_argument("--batch-size", type=_positive, default=4, metavar="N", help="inputs sampled at once (default 4)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_evaluate, before_tensorflow=lambda args: choose_inference_kernels(args.checkpoint))


def run_evaluate(args) -> int:
    """`tfgan-i2i evaluate`."""
    from .evaluate import EvaluationError, check_weights, parse_metrics
    from .metrics.fid import WeightsNotFoundError
    from .metrics.lpips import LPIPSWeightsError

    try:
        names = parse_metrics(args.metrics)
        check_weights(names, args.inception_weights, args.lpips_weights)  # fail before loading TensorFlow
    except (EvaluationError, WeightsNotFoundError, LPIPSWeightsError) as e:
        return _fail("evaluate", e)
    from .data import sample_dir
    from .evaluate import evaluate

    data = args.data if args.data is not None else sample_dir()
    out = args.out or os.path.join(args.checkpoint, f"eval-{args.protocol}")
    try:
        result = evaluate(args.checkpoint, data, names, args.protocol, out_dir=out,
                          inception_weights=args.inception_weights, lpips_weights=args.lpips_weights,
                          num_inputs=args.inputs, samples_per_input=args.samples, split=args.split,
                          direction=args.direction, ndb_bins=args.ndb_bins, ndb_size=args.ndb_size, seed=args.seed,
                          batch_size=args.batch_size, progress=not args.quiet)
    except (EvaluationError, WeightsNotFoundError, LPIPSWeightsError) as e:
        return _fail("evaluate", e)
    print(json.dumps(result["metrics"], indent=1))
    print(f"wrote {os.path.join(out, 'evaluation.json')} and {os.path.join(out, 'evaluation.md')}")
    return 0


def add_convert_lpips(sub) -> None:
    """The `convert-lpips` subcommand's options."""
    p = sub.add_parser(
        "convert-lpips", help="convert the official LPIPS heads + torchvision backbone .pth into an LPIPS .npz",
        description="Write the project's LPIPS weights file from the official linear heads (the `lpips` PyPI "
                    "package ships them: `pip download lpips --no-deps` gives the wheel) and torchvision's ImageNet "
                    "backbone state dict (alexnet-owt-7be5be79.pth or vgg16-397923af.pth). PyTorch is not needed.")
    p.add_argument("--heads", required=True, metavar="PATH",
                   help="lpips wheel (.whl), installed lpips package folder, or a weights/vX/NET.pth file")
    p.add_argument("--backbone", required=True, metavar="FILE", help="torchvision ImageNet .pth of --net")
    p.add_argument("--net", choices=("alex", "vgg"), default="alex", help="backbone (default: alex)")
    p.add_argument("--version", choices=("0.0", "0.1"), default="0.1",
                   help="LPIPS version of the heads (0.1 adds the input scaling layer; default 0.1)")
    p.add_argument("--out", required=True, metavar="FILE", help="output .npz")
    p.set_defaults(func=run_convert_lpips)


def run_convert_lpips(args) -> int:
    """`tfgan-i2i convert-lpips`."""
    from .metrics.lpips import LPIPSWeightsError, convert_lpips
    from .metrics.torch_files import TorchFileError

    try:
        out = convert_lpips(args.heads, args.backbone, args.out, args.net, args.version)
    except (LPIPSWeightsError, TorchFileError) as e:
        return _fail("convert-lpips", e)
    print(f"wrote {out} (LPIPS {args.net} v{args.version})")
    return 0


__all__ = ["add_evaluate", "run_evaluate", "add_convert_lpips", "run_convert_lpips"]
