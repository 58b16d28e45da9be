"""The `tfgan-i2i` command: `train` a paired translation GAN, `translate` images with a trained checkpoint.

TensorFlow is imported inside the subcommands, so `--help` and argument errors answer at once, and after
`quiet_tensorflow`, so its C++ log lines stay hidden unless `--verbose`.
"""
from __future__ import annotations

import argparse
import errno
import os
import sys

from .config import Config, ConfigError, preset, with_overrides
from .quiet import quiet_tensorflow

# The models `train` handles: paired (A, B) objectives. Unpaired ones need their own data pipeline and join later.
PAIRED_MODELS = ("bicyclegan", "cvae-gan", "clr-gan", "pix2pix", "pix2pix-noise", "msgan")
# Unpaired models train on two unaligned domains (trainA/ + trainB/, or a paired folder's halves shuffled apart).
UNPAIRED_MODELS = ("cyclegan", "unit", "unit-master", "avb-gtn", "drit", "drit-ms")
TRAINABLE_MODELS = PAIRED_MODELS + UNPAIRED_MODELS
# The export under savedmodels/ that `translate` uses when no --checkpoint is given.
DEFAULT_MODEL = "bicyclegan_facades"

# CLI flag (argparse dest) -> Config field, for the options `train` exposes; unset flags keep the config's value.
TRAIN_FLAGS = {
    "direction": "direction", "size": "image_size", "load_size": "load_size", "input_nc": "input_nc",
    "output_nc": "output_nc", "flip": "flip", "epochs": "epochs", "epochs_decay": "epochs_decay",
    "batch_size": "batch_size", "lr": "lr", "seed": "seed", "nz": "nz", "ngf": "ngf", "ndf": "ndf", "nef": "nef",
    "netG": "netG", "norm": "norm", "where_add": "where_add", "upsample": "upsample", "gan_mode": "gan_mode",
    "lambda_l1": "lambda_l1", "lambda_latent": "lambda_latent", "lambda_kl": "lambda_kl", "lambda_ms": "lambda_ms",
    "lambda_cycle": "lambda_cycle", "lambda_identity": "lambda_identity", "pool_size": "pool_size",
    "clip_norm": "clip_norm", "ms_warmup": "ms_warmup", "lr_D": "lr_D", "lr_T": "lr_T", "ema_decay": "ema_decay",
    "lambda_r1": "lambda_r1", "n_critic": "n_critic", "test_mode": "test_mode", "weight_decay": "weight_decay",
    "d_iter": "d_iter", "onednn": "onednn",
}


class UserError(Exception):
    """A problem with the command line the user can fix; printed as one line, exit status 2."""


def _integer(text: str) -> int:
    """A whole number from the command line, else the argparse error saying so (not 'invalid _positive value')."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


# --- train -------------------------------------------------------------------------------------------------------
def _add_train(sub) -> None:
    """The `train` subcommand's options."""
    p = sub.add_parser(
        "train", help="train a paired or unpaired translation model (resumes from --logdir)",
        description="Train pix2pix / BicycleGAN-family models on aligned (A, B) pairs, or CycleGAN / UNIT / AVB-GTN "
                    "on two unaligned domains (--data with trainA/ and trainB/, or a paired folder whose halves are "
                    "used as unaligned domains). Options left unset keep the "
                    "value from --config, else the model's paper preset. Re-running the same command resumes from "
                    "the newest checkpoint in --logdir.")
    g = p.add_argument_group("run")
    g.add_argument("--model", choices=TRAINABLE_MODELS, default=None,
                   help="objective and its paper preset (default: bicyclegan, or the model in --config)")
    g.add_argument("--config", metavar="FILE", help="a .json/.yaml config file; explicit flags override it")
    g.add_argument("--data", metavar="DIR", default=None,
                   help="paired dataset folder (train/ and optionally test/, side-by-side A|B files or A/ and B/ "
                        "subfolders); default: the bundled 20-pair facades sample")
    g.add_argument("--logdir", metavar="DIR", default=None,
                   help="where config.json, checkpoints/, TensorBoard events and samples/ go (default: runs/MODEL)")
    g.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue from the newest checkpoint in --logdir; --no-resume starts over and moves old "
                        "checkpoints aside to checkpoints-<time>")
    g.add_argument("--steps-per-epoch", type=_positive, default=None, metavar="N",
                   help="fixed number of batches per epoch (the data repeats); default: one pass over the data")
    g.add_argument("--samples", type=_positive, default=4, metavar="K",
                   help="latent samples per row of the epoch sample grid (default: 4)")
    g.add_argument("--num-fixed", type=_positive, default=4, metavar="N",
                   help="fixed test inputs (rows) in the sample grid (default: 4)")
    g.add_argument("--quiet", action="store_true", help="one line per epoch instead of a progress bar (for log files)")
    g.add_argument("--strategy", choices=("auto", "default", "mirrored", "multi-worker", "tpu"), default="auto",
                   help="tf.distribute strategy: auto (default) = tpu if one resolves, multi-worker if TF_CONFIG lists "
                        "several tasks, mirrored with >1 GPU, else default (one device); --batch-size is per replica. "
                        "multi-worker: run the same command on every host with its TF_CONFIG and a --logdir all can "
                        "read; only the chief writes it")
    d = p.add_argument_group("data options (default: config / preset)")
    d.add_argument("--direction", choices=("AtoB", "BtoA"), help="AtoB translates the left/A images into B")
    d.add_argument("--size", type=_positive, metavar="N", help="crop size fed to the networks (power of two >= 32; drit: a multiple of 4 >= 64)")
    d.add_argument("--load-size", type=_positive, metavar="N",
                   help="resize size before the random crop (default with --size: scaled like the preset, 286/256)")
    d.add_argument("--input-nc", type=int, choices=(1, 3), help="channels of A (1 = grayscale)")
    d.add_argument("--output-nc", type=int, choices=(1, 3), help="channels of B (1 = grayscale)")
    d.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None, help="random horizontal flips")
    o = p.add_argument_group("optimisation (default: config / preset)")
    o.add_argument("--epochs", type=_non_negative, metavar="N", help="epochs at the initial learning rate")
    o.add_argument("--epochs-decay", type=_non_negative, metavar="N", help="epochs of linear decay to zero that follow")
    o.add_argument("--batch-size", type=_positive, metavar="N", help="images per batch")
    o.add_argument("--lr", type=float, metavar="X", help="Adam learning rate of every network")
    o.add_argument("--lr-D", "--lr-d", dest="lr_D", type=float, metavar="X",
                   help="discriminators' learning rate (default: --lr)")
    o.add_argument("--lr-T", "--lr-t", dest="lr_T", type=float, metavar="X",
                   help="AVB-GTN: the adversary T's learning rate (preset: 10 x --lr, as AVB)")
    o.add_argument("--weight-decay", type=float, metavar="X",
                   help="Adam weight decay, PyTorch's coupled L2 (UNIT and DCGAN presets: 1e-4)")
    o.add_argument("--n-critic", type=_positive, metavar="N",
                   help="discriminator steps per generator step (WGAN-GP: 5; default 1)")
    o.add_argument("--d-iter", type=_positive, metavar="N",
                   help="drit: content-discriminator updates per step (the reference's 3)")
    o.add_argument("--ema-decay", type=float, metavar="X",
                   help="keep an exponential moving average of the generators' weights with this decay (e.g. 0.999) "
                        "and use it for samples, evaluate and export (default 0 = off)")
    o.add_argument("--test-mode", choices=("eval", "train"),
                   help="how G runs at test time: eval (dropout off, running statistics) or train (dropout and batch "
                        "statistics, as the pix2pix paper; the pix2pix preset's default)")
    o.add_argument("--seed", type=int, metavar="N", help="random seed (latent codes, data order, sample grid)")
    n = p.add_argument_group("networks (default: config / preset)")
    n.add_argument("--nz", type=_non_negative, metavar="N", help="latent code size (0 = no z, plain pix2pix)")
    n.add_argument("--ngf", type=_positive, metavar="N", help="generator base channels")
    n.add_argument("--ndf", type=_positive, metavar="N", help="discriminator base channels")
    n.add_argument("--nef", type=_positive, metavar="N", help="encoder base channels")
    n.add_argument("--netG", "--net-g", dest="netG", choices=("unet", "resnet"), help="generator architecture")
    n.add_argument("--norm", choices=("instance", "batch", "none"), help="normalisation of G and E")
    n.add_argument("--where-add", choices=("input", "all"), help="inject z at the input only or at every G layer")
    n.add_argument("--upsample", choices=("transpose", "bilinear"), help="G upsampling layers")
    n.add_argument("--gan-mode", choices=("vanilla", "lsgan", "hinge", "wgangp"), help="GAN loss")
    w = p.add_argument_group("loss weights (default: config / preset)")
    w.add_argument("--lambda-l1", type=float, metavar="X", help="weight of the L1 reconstruction term |G(A,z) - B|")
    w.add_argument("--lambda-latent", type=float, metavar="X",
                   help="weight of the latent regression |E(G(A,z)) - z| (cLR)")
    w.add_argument("--lambda-kl", type=float, metavar="X", help="weight of the KL term of the encoded code (cVAE)")
    w.add_argument("--lambda-ms", type=float, metavar="X", help="weight of MSGAN's mode-seeking term (0 = off)")
    w.add_argument("--ms-warmup", type=_non_negative, metavar="N",
                   help="ramp --lambda-ms up linearly over the first N steps (default 0 = full weight at once)")
    w.add_argument("--lambda-r1", type=float, metavar="X",
                   help="R1 penalty weight gamma on D's gradient at real images, gamma/2 |grad D|^2 (default 0 = off)")
    w.add_argument("--lambda-cycle", type=float, metavar="X",
                   help="unpaired models: cycle reconstruction weight per direction (CycleGAN 10, UNIT 100)")
    w.add_argument("--lambda-identity", type=float, metavar="X",
                   help="CycleGAN: identity weight as a fraction of --lambda-cycle (0 = off)")
    w.add_argument("--pool-size", type=_non_negative, metavar="N",
                   help="CycleGAN: generated images kept per domain for D (0 = off)")
    p.add_argument("--clip-norm", type=float, metavar="X",
                   help="clip each optimizer's gradients to this global norm (default 0 = off, as in the papers)")
    p.add_argument("--onednn", choices=("auto", "on", "off"), default=None,
                   help="CPU kernels: oneDNN (on) or TensorFlow's default ones (off); default auto: the faster one for "
                        "the model as measured in bench/README.md, unless TF_ENABLE_ONEDNN_OPTS is set")
    p.set_defaults(func=_run_train, before_tensorflow=_choose_kernels)


def _choose_kernels(args) -> None:
    """Pick the CPU kernel library for the model being trained; runs before TensorFlow loads (see kernels.select).

    The model and any onednn request come from the flags, else from the --config file read as plain text (its
    validation needs TensorFlow); a file that cannot be read is left for config_from_args to report.
    """
    from . import kernels
    from .config import read_options

    raw = {}
    if args.config:
        try:
            raw = read_options(args.config)
        except ConfigError:
            pass
    model = args.model or raw.get("model") or "bicyclegan"
    requested = args.onednn or raw.get("onednn") or "auto"
    if requested not in kernels.CHOICES:
        return  # config_from_args refuses the value with its one-line message
    print(kernels.describe(*kernels.select(str(model), requested)))


def choose_inference_kernels(path: str | None) -> None:
    """Pick the CPU kernel library for G inference with the model in `path`'s config.json, before TensorFlow loads
    (kernels.FASTER_INFERENCE; a TF_ENABLE_ONEDNN_OPTS in the environment wins). Nothing happens when TensorFlow is
    already loaded (a caller in the same process) or `path` has no readable config.json (e.g. a .keras file)."""
    from . import kernels

    model = kernels.model_of(path)
    if model is None or kernels.in_effect() is not None:
        return
    print(kernels.describe(*kernels.select(model, "auto", task="infer")))


def config_from_args(args) -> Config:
    """The run's Config: preset (or --config file), then every explicitly given flag on top."""
    if args.config:
        base = Config.load(args.config)
        if args.model and args.model != base.model:
            raise UserError(f"--model {args.model} conflicts with model {base.model!r} in {args.config}; "
                            "drop one of them")
    else:
        base = preset(args.model or "bicyclegan")
    if base.model not in TRAINABLE_MODELS:
        raise UserError(f"model {base.model!r} in {args.config} is not a trainable model; train supports "
                        f"{', '.join(TRAINABLE_MODELS)}")
    changes = {field: getattr(args, flag) for flag, field in TRAIN_FLAGS.items() if getattr(args, flag) is not None}
    return with_overrides(base, **changes)  # a new --size keeps the resize margin (286/256 -> 143/128)


def _run_train(args) -> int:
    """`tfgan-i2i train`."""
    config = config_from_args(args)
    from .data import sample_dir
    from .training import train
    from .training.strategy import StrategyError

    data_dir = args.data if args.data is not None else sample_dir()
    logdir = args.logdir or os.path.join("runs", config.model)
    verbose = 2 if args.quiet else 1
    print(f"training {config.model} ({config.image_size}px, {config.direction}) on {data_dir} -> {logdir}")
    try:
        _, history = train(config, data_dir, logdir, steps_per_epoch=args.steps_per_epoch, resume=args.resume,
                           sample_k=args.samples, num_fixed=args.num_fixed, verbose=verbose,
                           strategy=getattr(args, "strategy", "auto"))
    except StrategyError as e:
        raise UserError(str(e)) from None
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished epochs are saved in {os.path.join(logdir, 'checkpoints')}; "
              "run the same command again to resume", file=sys.stderr)
        return 130
    print(f"done: checkpoints in {os.path.join(logdir, 'checkpoints')}, sample grids in "
          f"{os.path.join(logdir, 'samples')}; view the curves with: tensorboard --logdir {logdir}")
    return 0


# --- translate ---------------------------------------------------------------------------------------------------
def _add_translate(sub) -> None:
    """The `translate` subcommand's options."""
    p = sub.add_parser(
        "translate", help="translate images with a trained checkpoint (K samples per input)",
        description="Translate A images with a trained model. For each input NAME writes NAME_sample{j}.png "
                    "(j < K), NAME_strip.png (input | K outputs) and, for BicycleGAN-family models given --paired "
                    "inputs, NAME_encoded.png (z encoded from the input's B half). Models without a latent code "
                    "(nz = 0) give one output per input.")
    p.add_argument("--checkpoint", metavar="DIR", default=None,
                   help="a train --logdir, its checkpoints/ folder (config.json and ckpt-* files), an exported "
                        "SavedModel folder (savedmodels/NAME), or a model.save()d .keras file (loaded in Keras' safe "
                        f"mode: files with Lambda layers are refused); default: the shipped {DEFAULT_MODEL} model "
                        "(facades labels -> photo, 128 px)")
    p.add_argument("--input", metavar="IMG_OR_DIR", required=True,
                   help="an image file, or a folder of .jpg/.jpeg/.png/.bmp images (not searched recursively)")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder (created if missing)")
    p.add_argument("--samples", metavar="K", type=_positive, default=5,
                   help="outputs per input, one per latent code (default: 5)")
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="seed of the K latent codes, the same K codes for every input (default: 0)")
    p.add_argument("--size", type=_positive, default=None,
                   help="resize inputs to N x N before translating (default: the size the model was trained at)")
    p.add_argument("--direction", choices=("AtoB", "BtoA"), default=None,
                   help="unpaired models (cyclegan, unit, avb-gtn, drit): translate A images to B (AtoB, default) or B "
                        "images to A (BtoA); paired models always translate the way they were trained")
    p.add_argument("--paired", action="store_true",
                   help="inputs are side-by-side A|B pair files; A is the half the checkpoint's --direction "
                        "translates from, B (the other half) is encoded for NAME_encoded.png")
    p.add_argument("--reference", metavar="IMG", default=None,
                   help="drit: also write NAME_transfer.png, the input translated with the attribute (style) of "
                        "this image of the target domain (with --paired: the target half of a pair file)")
    p.set_defaults(func=_run_translate,
                   before_tensorflow=lambda args: choose_inference_kernels(args.checkpoint or shipped_model_dir()))


def _resize(image, size: int):
    """Resize an HxWxC image in [-1, 1] to size x size like the data pipeline does (bilinear, antialiased)."""
    import numpy as np
    import tensorflow as tf

    if image.shape[:2] == (size, size):
        return image
    out = tf.image.resize(image, [size, size], method="bilinear", antialias=True)
    return np.clip(out.numpy(), -1.0, 1.0)


def split_pair(image, path: str):
    """The (A, B) halves of a side-by-side pair image; UserError naming `path` unless it is twice as wide as high."""
    height, width = image.shape[:2]
    if width != 2 * height:
        raise UserError(f"--paired: {path} is {width}x{height} pixels, not a side-by-side A|B pair (width = 2 x "
                        "height); drop --paired to translate it whole, or pass pair files")
    return image[:, :height], image[:, height:]


def _load_input(path: str, paired: bool, config, size: int):
    """(A, B or None) for one input file, each size x size in [-1, 1] with the model's channel counts."""
    from .data import read_image

    if not paired:
        return _resize(read_image(path, config.input_nc), size), None
    halves = {channels: split_pair(read_image(path, channels), path)
              for channels in {config.input_nc, config.output_nc}}
    first, second = (0, 1) if config.direction == "AtoB" else (1, 0)
    return (_resize(halves[config.input_nc][first], size), _resize(halves[config.output_nc][second], size))


def shipped_model_dir(name: str | None = None) -> str:
    """savedmodels/NAME of a source checkout (the exports that ship with the repository)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(root, "savedmodels", name or DEFAULT_MODEL)


def _load_translator(path: str | None):
    """A model with translate/sample (and encode): an exported SavedModel, or a checkpoint rebuilt in Keras."""
    from .export.loaded import load_exported, savedmodel_dir
    from .training import find_checkpoint_dir, load_for_inference
    from .training.callbacks import is_keras_file, load_keras_model

    if path is not None and is_keras_file(path):
        return load_keras_model(path)
    if path is None:
        path = shipped_model_dir()
        if savedmodel_dir(path) is None:
            raise UserError(f"no --checkpoint given and the shipped model {path} is missing (it comes with a source "
                            "checkout of tfgan_i2i); pass --checkpoint RUN_OR_SAVEDMODEL")
    if savedmodel_dir(path) is not None:
        model = load_exported(path)
        model.require_config()
        return model
    return load_for_inference(find_checkpoint_dir(path))


def _run_translate(args) -> int:
    """`tfgan-i2i translate`."""
    from .data import image_grid, list_images, write_image

    from .export.loaded import savedmodel_dir
    from .training import find_checkpoint_dir
    from .training.callbacks import is_keras_file

    checkpoint = args.checkpoint
    if checkpoint is not None and not is_keras_file(checkpoint) and savedmodel_dir(checkpoint) is None:
        find_checkpoint_dir(checkpoint)  # cheap checks with clear errors first, the model load last
    if not os.path.exists(args.input):
        raise UserError(f"--input {args.input} does not exist; pass an image file or a folder of images")
    inputs = list_images(args.input) if os.path.isdir(args.input) else [args.input]
    if args.reference is not None and not os.path.isfile(args.reference):
        raise UserError(f"--reference {args.reference} is not an image file; pass one image of the domain the "
                        "model translates into")

    from keras import ops
    from tqdm import tqdm

    model = _load_translator(args.checkpoint)
    config = model.config
    size = args.size or config.image_size
    exported = not hasattr(model, "train_step")
    if exported and size != config.image_size:
        raise UserError(f"an exported model runs only at the size it was exported at ({config.image_size}px); "
                        f"drop --size {size}")
    if args.reference is not None and not hasattr(model, "transfer"):
        raise UserError(f"--reference needs a model with attribute encoders (drit, drit-ms); {config.model} has "
                        "none. Drop --reference.")
    if getattr(model, "unpaired", False):
        # exports translate deterministically unless they carry a `sample` signature (DRIT's)
        sampled = not exported or hasattr(model.loaded, "sample")
        return _translate_unpaired(model, inputs, args, size, stochastic=sampled)
    if args.direction == "BtoA":
        raise UserError(f"--direction BtoA needs an unpaired model (cyclegan, unit, avb-gtn, drit); {config.model} "
                        f"translates {config.direction} as trained. Drop --direction.")
    k = args.samples if config.nz > 0 else 1
    if config.nz == 0 and args.samples > 1:
        print(f"note: {config.model} has no latent code (nz=0), so it writes one output per input", file=sys.stderr)
    can_encode = hasattr(model, "encode")
    os.makedirs(args.out, exist_ok=True)
    for path in tqdm(inputs, desc="translate", unit="image"):
        name = os.path.splitext(os.path.basename(path))[0]
        A, B = _load_input(path, args.paired, config, size)
        try:
            samples = ops.convert_to_numpy(model.sample(A[None], k, args.seed))[0]
            encoded = None
            if can_encode and B is not None:
                mu, _ = model.encode(B[None])
                encoded = ops.convert_to_numpy(model.translate(A[None], z=mu))[0]
        except ValueError as e:
            if size == config.image_size:
                raise
            raise UserError(f"the model (trained at {config.image_size}px) cannot run at --size {size} ({e}); "
                            "drop --size or pick another power of two") from None
        for j, s in enumerate(samples):
            write_image(os.path.join(args.out, f"{name}_sample{j}.png"), s)
        write_image(os.path.join(args.out, f"{name}_strip.png"), image_grid([[A, *samples]]))
        if encoded is not None:
            write_image(os.path.join(args.out, f"{name}_encoded.png"), encoded)
    print(f"wrote {len(inputs)} x {k} translation(s) to {args.out}")
    return 0


def _translate_unpaired(model, inputs, args, size, stochastic=True) -> int:
    """`tfgan-i2i translate` for CycleGAN / UNIT / AVB-GTN / DRIT: NAME_sample{j}.png, NAME_strip.png, NAME_cycle.png
    (and NAME_transfer.png with --reference, DRIT).

    stochastic=False (exports: their a_to_b / b_to_a use the deterministic code) writes one output per input.
    """
    from keras import ops
    from tqdm import tqdm

    from .data import image_grid, read_image, write_image

    config = model.config
    direction = args.direction or "AtoB"
    channels = config.input_nc if direction == "AtoB" else config.output_nc
    # UNIT/AVB-GTN draw posterior codes; CycleGAN needs nz > 0
    stochastic = stochastic and (hasattr(model, "encode") or config.nz > 0)
    k = args.samples if stochastic else 1
    if not stochastic and args.samples > 1:
        print(f"note: {config.model} gives one deterministic output per input here (no latent code, or an export)",
              file=sys.stderr)
    reference = None
    if args.reference is not None:
        reference = read_image(args.reference, config.output_nc if direction == "AtoB" else config.input_nc)
        if args.paired:  # the target domain's half: right (B) for AtoB, left (A) for BtoA
            reference = split_pair(reference, args.reference)[1 if direction == "AtoB" else 0]
        reference = _resize(reference, size)
    os.makedirs(args.out, exist_ok=True)
    for path in tqdm(inputs, desc=f"translate {direction}", unit="image"):
        name = os.path.splitext(os.path.basename(path))[0]
        image = read_image(path, channels)
        if args.paired:  # the source domain's half: left (A) for AtoB, right (B) for BtoA
            image = split_pair(image, path)[0 if direction == "AtoB" else 1]
        image = _resize(image, size)
        if reference is not None:
            transferred = ops.convert_to_numpy(model.transfer(image[None], reference[None], direction))[0]
            write_image(os.path.join(args.out, f"{name}_transfer.png"), transferred)
        try:
            samples = ops.convert_to_numpy(model.sample(image[None], k, args.seed, direction=direction))[0]
            there, back = (ops.convert_to_numpy(t)[0] for t in model.cycle(image[None], direction))
        except ValueError as e:
            if size == config.image_size:
                raise
            raise UserError(f"the model (trained at {config.image_size}px) cannot run at --size {size} ({e}); "
                            "drop --size or pick another power of two") from None
        for j, s in enumerate(samples):
            write_image(os.path.join(args.out, f"{name}_sample{j}.png"), s)
        write_image(os.path.join(args.out, f"{name}_strip.png"), image_grid([[image, *samples]]))
        write_image(os.path.join(args.out, f"{name}_cycle.png"), image_grid([[image, there, back]]))
    print(f"wrote {len(inputs)} x {k} {direction} translation(s) to {args.out}")
    return 0


# --- export ------------------------------------------------------------------------------------------------------
# The formats `export --formats` accepts, named here so building the parser does not import TensorFlow (the export
# modules do); tests/test_robust_cli.py checks it equals tfgan_i2i.export.bundle.FORMATS.
EXPORT_FORMATS = ("savedmodel", "tflite", "tflite-fp16", "tflite-int8", "tflite-int8-full")


def _add_export(sub) -> None:
    """The `export` subcommand's options."""
    p = sub.add_parser(
        "export", help="export a checkpoint as a SavedModel (TF Serving layout) and TFLite files",
        description="Write OUT/1/ (a SavedModel with uint8 signatures translate, translate_z, sample, encode) and "
                    "OUT/NAME.FORMAT.tflite files, plus OUT/export_report.{json,md}: each TFLite file's size and its "
                    "max/mean difference from the Keras model on real test images.")
    p.add_argument("--checkpoint", metavar="DIR", required=True, help="a train --logdir or its checkpoints/ folder")
    p.add_argument("--out", metavar="DIR", required=True, help="export folder, e.g. savedmodels/NAME")
    p.add_argument("--formats", default="savedmodel,tflite,tflite-fp16,tflite-int8",
                   help=f"comma-separated, from {', '.join(EXPORT_FORMATS)} (default: %(default)s); tflite-int8-full "
                        "calibrates on training images from --data")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="paired dataset for the parity check (test/ split) and int8 calibration (train/ split); "
                        "default: the bundled facades sample")
    p.add_argument("--num-images", type=_positive, default=8, metavar="N",
                   help="test images in the parity check and training images for calibration (default: 8)")
    p.set_defaults(func=_run_export)


def _run_export(args) -> int:
    """`tfgan-i2i export`."""
    from .data import paired_arrays, sample_dir
    from .export.bundle import export_all, parse_formats
    from .training import find_checkpoint_dir, load_for_inference

    try:
        formats = parse_formats(args.formats)
    except ValueError as e:
        raise UserError(str(e)) from None
    checkpoint_dir = find_checkpoint_dir(args.checkpoint)
    data = args.data or sample_dir()
    model = load_for_inference(checkpoint_dir)
    c = model.config

    def uint8_images(split):
        a, _ = paired_arrays(data, split, c.direction, c.image_size, c.input_nc, c.output_nc, limit=args.num_images)
        return ((a + 1.0) * 127.5).round().astype("uint8")

    test_split = "test" if os.path.isdir(os.path.join(data, "test")) else "train"
    calibration = uint8_images("train") if "tflite-int8-full" in formats else None
    report = export_all(model, args.out, formats, uint8_images(test_split), calibration)
    print(f"SavedModel: {report['savedmodel']}")
    for r in report["tflite"]:
        print(f"{r['file']}: {r['size_bytes'] / 1024:.0f} KB, max |diff| {r['max_abs_diff']:.0f}, "
              f"mean |diff| {r['mean_abs_diff']:.3f} (uint8 levels vs Keras)")
    return 0


# --- entry point -------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The `tfgan-i2i` argument parser (one subparser per command); building it does not import TensorFlow."""
    parser = argparse.ArgumentParser(
        prog="tfgan-i2i", description="Image-to-image translation GANs (pix2pix, BicycleGAN, MSGAN, ...).")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log lines (C++ INFO/WARNING, oneDNN and CPU banners), hidden "
                             "by default; a TF_CPP_MIN_LOG_LEVEL set in the environment is always obeyed")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(sub)
    _add_translate(sub)
    _add_export(sub)
    from .cli_metrics import add_convert_lpips, add_evaluate

    add_evaluate(sub)
    add_convert_lpips(sub)
    from .demo.command import add_demo  # the local web page; Gradio (the demo extra) is imported only when it runs

    add_demo(sub)
    # `sample`, `evaluate` and `export` subcommands plug in here with their own _add_* functions.
    for command in sub.choices.values():  # `tfgan-i2i translate --verbose ...` works too
        command.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                             help="show TensorFlow's own log lines (same as tfgan-i2i --verbose)")
    return parser


# OSError numbers of problems with the user's disk or folders (not bugs): reported as one line, exit status 2.
USER_OS_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOENT, errno.ENOTDIR,
                  errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG}


def _os_error_line(e: OSError) -> str:
    """One line for a disk/folder OSError: the file, what went wrong, and the fix."""
    where = f"{e.filename}: " if e.filename else ""
    fix = ("free some disk space" if e.errno in (errno.ENOSPC, errno.EDQUOT)
           else "check the path and its permissions, or choose another folder")
    return f"{where}{e.strerror or e}; {fix}"


def run_command(parser: argparse.ArgumentParser, argv=None) -> int:
    """Parse `argv` and run the chosen subcommand; errors a user can fix print as one line with exit status 2.

    TensorFlow's C++ log lines are hidden unless --verbose (see `quiet_tensorflow`); a bug keeps its traceback.
    """
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "before_tensorflow", None):
        args.before_tensorflow(args)  # settings TensorFlow reads once, when it loads (the CPU kernels)
    quiet_tensorflow(args.verbose)  # before TensorFlow is first imported, which the imports below do
    from .data.images import DataError
    from .export.loaded import ExportError
    from .training.callbacks import CheckpointError

    try:
        return args.func(args)
    except (UserError, ConfigError, DataError, CheckpointError, ExportError) as e:
        message = str(e)
    except OSError as e:
        if e.errno not in USER_OS_ERRORS:
            raise
        message = _os_error_line(e)
    # one line, whatever the message held (a file name with a newline, a multi-line library message)
    print(f"{parser.prog} {args.command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    """Run `tfgan-i2i` with `argv` (default sys.argv[1:]); returns the exit status."""
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    # `python -m tfgan_i2i.cli` runs this file as __main__; other modules raise the UserError of
    # tfgan_i2i.cli, so run the imported module's main, whose except clause catches that class
    from tfgan_i2i.cli import main as _main
    sys.exit(_main())
