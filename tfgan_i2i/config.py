"""Experiment configs: one dataclass per run, with the papers' defaults as named presets.

A run is reproducible from its config alone: `Config.save` writes it next to every checkpoint
and `Config.load` reads it back from JSON or YAML.
"""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
import types
import typing
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A config file or option is invalid; the message names it and the fix."""


CONFIG_FILE = "config.json"  # the Config saved beside a run's checkpoints and an export's version folders


@dataclass
class Config:
    """Every option of a translation run (paired or unpaired), named after the papers' symbols."""

    # which objective (registry name) and its variant
    model: str = "bicyclegan"          # bicyclegan | cvae-gan | clr-gan | pix2pix | msgan | cyclegan | unit | ...
    objective: str = "bicycle"         # BicycleGAN only: bicycle | cvae | clr

    # images
    image_size: int = 256              # crop size fed to the networks (square power of two >= 32)
    load_size: int = 286               # images are resized to this, then randomly cropped to image_size
    input_nc: int = 3                  # channels of A (the input domain)
    output_nc: int = 3                 # channels of B (the output domain)
    direction: str = "AtoB"            # AtoB | BtoA
    flip: bool = True                  # random horizontal flip

    # latent code
    nz: int = 8                        # 0 turns the latent code off (plain pix2pix)
    where_add: str = "all"             # input | all: where z is tiled and concatenated in G

    # generator
    netG: str = "unet"                 # unet | resnet
    ngf: int = 64
    g_blocks: int | None = 9           # residual blocks of the ResNet generator (None: 9 at >=256 px, 6 below)
    norm: str = "instance"             # instance | batch | none (G and E; D uses d_norm)
    use_dropout: bool = True
    upsample: str = "transpose"        # transpose (ConvTranspose 4x4/2) | bilinear (upsample + 3x3 conv)
    init_type: str = "xavier"          # normal N(0, gain) | xavier (Xavier-normal x gain) | he
    init_gain: float = 0.02

    # encoder
    netE: str = "resnet"               # resnet | conv
    nef: int = 64
    e_blocks: int | None = None        # None: 5 at >=256 px, 4 below (the reference's resnet_256/128)

    # discriminator(s)
    ndf: int = 64
    d_layers: int | None = None        # None: 3 at >=256 px, 2 below (basic_256 / basic_128)
    num_D: int = 2                     # scales of the multi-scale PatchGAN
    d_norm: str | None = None          # None: same as norm
    conditional_D: bool = False        # D sees [A, B] instead of B
    spectral_norm: bool = False
    gan_mode: str = "lsgan"            # vanilla | lsgan | hinge | wgangp

    # loss weights (paper symbols)
    lambda_gan: float = 1.0
    lambda_gan2: float = 1.0
    lambda_l1: float = 10.0
    lambda_latent: float = 0.5
    lambda_kl: float = 0.01
    lambda_ms: float = 0.0
    ms_warmup: int = 0                 # steps over which lambda_ms ramps up linearly from 0 (0: full weight at once)
    lambda_gp: float = 10.0            # WGAN-GP gradient penalty weight
    lambda_r1: float = 0.0             # R1 penalty (Mescheder et al. 2018): lambda_r1 / 2 * |grad_x D(real)|^2 (0: off)
    n_critic: int = 1                  # D steps per G step (WGAN-GP uses 5): G is updated every n_critic-th step

    # optimisation
    lr: float = 2e-4
    lr_D: float | None = None          # discriminators' learning rate (None: lr)
    lr_T: float | None = None          # AVB adversary T's learning rate (None: lr)
    beta1: float = 0.5
    beta2: float = 0.999
    adam_eps: float = 1e-8             # Adam epsilon: PyTorch's (and TF1's) 1e-8; Keras' own default is 1e-7
    lr_policy: str = "linear"          # linear: lr for `epochs`, then linear to 0 over `epochs_decay` (pix2pix) |
                                       # constant | step: lr * lr_gamma^(iteration // lr_step) (UNIT master)
    lr_step: int = 100_000             # step policy: iterations between two lr drops
    lr_gamma: float = 0.5              # step policy: factor per drop
    ema_decay: float = 0.0             # exponential moving average of the generators' weights (0: off); when on,
                                       # translate, sample, sample grids, evaluate and export use the EMA weights
    batch_size: int = 2
    epochs: int = 100                  # epochs at the initial learning rate
    epochs_decay: int = 100            # epochs of linear decay to zero that follow
    seed: int = 0
    test_mode: str = "eval"            # eval: dropout off, batch norm running statistics | train: G runs as in training
                                       # (dropout on, batch statistics), as pix2pix's paper and test script

    # unpaired models (CycleGAN, UNIT, AVB-GTN); unused by the paired ones
    lambda_cycle: float = 10.0         # cycle reconstruction weight, each direction (UNIT: cyc_x_w)
    lambda_identity: float = 0.5       # CycleGAN identity weight, as a fraction of lambda_cycle
    pool_size: int = 50                # CycleGAN history of generated images per domain (0: off)
    lambda_recon: float = 10.0         # UNIT within-domain VAE reconstruction weight (recon_x_w)
    lambda_cycle_kl: float = 0.01      # UNIT KL weight of the cycle's latent codes (recon_kl_cyc_w)
    latent_regularizer: str = "kl"     # UNIT: kl (mean(mu^2)) | avb (AVB critic T(x, z), i.e. AVB-GTN)
    n_downsample: int = 2              # UNIT encoder down-samplings
    n_res: int = 4                     # UNIT residual blocks per encoder and per decoder (shared ones included)
    n_shared: int = 1                  # UNIT: last n_shared encoder blocks and first n_shared decoder blocks shared
    ntf: int = 32                      # AVB critic T(x, z) filters
    avb_prior_term: bool = True        # AVB: T(x, z) = T_net(x, z) + 0.5 |z|^2 (the Gaussian prior's analytic term;
                                       # T_net learns the residual), as Mescheder's reference
    avb_update: str = "simultaneous"   # AVB: simultaneous (T and E/G gradients from one graph, applied together, as
                                       # the reference) | critic_first (T updated before the E/G step)
    adaptive_contrast: bool = False    # AVB adaptive contrast: T contrasts q(z|x) with a Gaussian of q's moments
    avb_ac_draws: int = 4              # adaptive contrast: extra encoder noise draws per example for q's moments
    avb_noise_nc: int = 8              # AVB encoder: channels of N(0, I) noise appended to the input image
    weight_decay: float = 0.0          # Adam weight decay (UNIT, DCGAN-MS: 1e-4), by weight_decay_mode
    weight_decay_mode: str = "l2"      # l2: PyTorch Adam's coupled L2, grad += weight_decay * w (the references) |
                                       # decoupled: AdamW / Keras, w -= lr * weight_decay * w
    clip_norm: float = 0.0             # clip each optimizer's gradients to this global norm (0: off, as the papers)
    onednn: str = "auto"               # CPU kernels: auto (the faster library for this model, tfgan_i2i.kernels) |
                                       # on (oneDNN) | off (TF's default kernels); a run's config.json records the
                                       # setting TensorFlow ran with

    # DRIT / DRIT-MS (nz = attribute size, n_res / n_shared / n_downsample as UNIT's, lambda_cycle = cross-cycle,
    # lambda_recon = self-reconstruction, lambda_kl = attribute KL, lambda_latent = latent regression)
    d_iter: int = 3                    # DRIT: content-discriminator updates per step (the reference's d_iter)
    lr_content: float | None = None    # DRIT: content discriminator's lr (None: lr / 2.5, as the reference)
    clip_norm_content: float = 5.0     # DRIT: global-norm clip of the content discriminator's gradients (0: off)
    lambda_content: float = 1.0        # DRIT: content adversarial weight (E_c against the content discriminator)
    lambda_kl_content: float = 0.01    # DRIT: weight of mean(z_c^2) on the content codes

    extra: dict[str, Any] = field(default_factory=dict)

    # --- derived values -------------------------------------------------------------
    @property
    def e_blocks_resolved(self) -> int:
        return self.e_blocks if self.e_blocks is not None else (5 if self.image_size >= 256 else 4)

    @property
    def g_blocks_resolved(self) -> int:
        return self.g_blocks if self.g_blocks is not None else (9 if self.image_size >= 256 else 6)

    @property
    def d_layers_resolved(self) -> int:
        return self.d_layers if self.d_layers is not None else (3 if self.image_size >= 256 else 2)

    @property
    def d_norm_resolved(self) -> str:
        return self.d_norm if self.d_norm is not None else self.norm

    # --- validation and (de)serialisation ------------------------------------------
    def validate(self) -> "Config":
        """Check option values; raise ConfigError naming the option and its allowed values.

        In order: every option's type, every enum's choices, every number's range, the options that depend on each
        other, then whether the model's networks fit image_size (`check_network_sizes`).
        """
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), _FIELD_TYPES[f.name])
        if self.model not in PRESETS:
            raise ConfigError(f"option model={_show(self.model)} is not one of {', '.join(PRESETS)}")
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"option {name}={_show(getattr(self, name))} is not one of {', '.join(allowed)}")
        if self.d_norm is not None and self.d_norm not in _CHOICES["norm"]:
            raise ConfigError(f"option d_norm={self.d_norm!r} is not one of {', '.join(_CHOICES['norm'])} (or null)")
        for name, (test, rule, hint) in _RANGES.items():
            value = getattr(self, name)
            if value is not None and not test(value):
                raise ConfigError(f"option {name}={_show(value)} must be {rule}" + (f" ({hint})" if hint else ""))
        s = self.image_size
        if self.model in _DRIT_MODELS:
            step = 2**self.n_downsample  # the generator up-samples the content code exactly 2^n_downsample times
            if s < 64 or s % step:
                why = ("below 64 px the coarsest scale of its discriminators has no pixels left" if s < 64 else
                       f"its generator up-samples the content code {step} times")
                raise ConfigError(f"option image_size={s}: {self.model} needs a multiple of {step} that is >= 64 (e.g. "
                                  f"64, 128, 216, 256); {why}")
        elif s < 32 or s & (s - 1):
            raise ConfigError(f"option image_size={s} must be a power of two >= 32 (e.g. 64, 128, 256)")
        if self.load_size < s:
            raise ConfigError(f"option load_size={self.load_size} must be >= image_size={s}")
        if not self.n_shared <= self.n_res:
            raise ConfigError(f"option n_shared={self.n_shared} must be between 0 and n_res={self.n_res}")
        if s >> self.n_downsample < 4:
            deepest = (s // 4).bit_length() - 1
            raise ConfigError(f"option n_downsample={self.n_downsample} leaves less than 4x4 pixels at image_size={s}; "
                              f"use n_downsample <= {deepest}")
        if self.gan_mode == "wgangp" and self.d_norm_resolved == "batch" and self.batch_size > 1:
            raise ConfigError(
                f"option gan_mode='wgangp' with a batch-norm discriminator and batch_size={self.batch_size} gives a "
                "wrong per-example gradient penalty (batch norm mixes the examples); set d_norm to 'instance' or "
                "'none', or batch_size 1")
        if self.model in _LATENT_MODELS and self.nz < 1:
            raise ConfigError(f"option nz={self.nz}: {self.model} needs a latent code; set nz >= 1 (e.g. 8)")
        if self.model in _UNIT_MODELS and self.latent_regularizer == "avb" and self.avb_noise_nc < 1:
            raise ConfigError(f"option avb_noise_nc={self.avb_noise_nc}: the AVB encoder needs noise channels; set "
                              "avb_noise_nc >= 1 (e.g. 8)")
        if self.model in _DCGAN_MODELS:
            classes = self.extra.get("num_classes", 10)
            if not _is_int(classes) or classes < 1:
                raise ConfigError(f"option extra.num_classes={_show(classes)} must be an integer >= 1 (e.g. 10)")
        self.check_network_sizes()
        return self

    def check_network_sizes(self) -> None:
        """Refuse an image_size the model's networks cannot run on, naming the options and values that fit.

        The arithmetic lives next to each network (networks.*: patch_logit_sizes, ms_logit_sizes,
        resnet_encoder_feature_size); U-Net, ResNet G, the AVB critic and the DCGAN nets fit every size >= 32.
        """
        if self.model in _DCGAN_MODELS:
            return
        if self.model in _UNIT_MODELS + _DRIT_MODELS:
            from .networks.unit import ms_logit_sizes as logit_sizes
        else:
            from .networks.discriminators import patch_logit_sizes as logit_sizes
        self._check_discriminator(logit_sizes)
        if self.model in _DRIT_MODELS:  # its attribute encoder pools globally; its content D fits its depth to the size
            return
        if self.model not in _UNIT_MODELS and self.ndf >> (self.num_D - 1) < 1:  # PatchGAN scale i: ndf // 2^i filters
            raise ConfigError(f"option ndf={self.ndf} with num_D={self.num_D} leaves the last scale no filters (each "
                              f"scale halves ndf); use ndf >= {2 ** (self.num_D - 1)} or num_D <= "
                              f"{self.ndf.bit_length()}")
        if self.model in _LATENT_MODELS and self.netE == "resnet":
            from .networks.encoders import resnet_encoder_feature_size

            blocks, s = self.e_blocks_resolved, self.image_size

            def encoder_fits(size, n_blocks):
                # every block halves the image, so more blocks than log2(size) never fit (and need no arithmetic)
                return n_blocks < size.bit_length() and resnet_encoder_feature_size(size, n_blocks) >= 1

            if not encoder_fits(s, blocks):
                need = _smallest_size(lambda size: encoder_fits(size, blocks))
                fits = max(b for b in range(1, min(blocks, s.bit_length())) if encoder_fits(s, b))
                raise ConfigError(
                    f"option e_blocks={blocks} needs image_size {need} (the ResNet encoder halves the image "
                    f"e_blocks times); use e_blocks <= {fits} or netE=conv at image_size={s}")

    def _check_discriminator(self, logit_sizes) -> None:
        """ConfigError unless every scale of the (multi-scale) discriminator keeps a logit map of at least 1x1."""
        s, layers, scales = self.image_size, self.d_layers_resolved, self.num_D

        def fits(size, n_layers, num_scales):
            # every scale and every layer halves the image: beyond log2(size) of them nothing fits (no arithmetic)
            if num_scales - 1 + n_layers >= size.bit_length():
                return False
            return min(logit_sizes(size, n_layers, num_scales)) >= 1

        if fits(s, layers, scales):
            return
        need = _smallest_size(lambda size: fits(size, layers, scales))
        depth = s.bit_length()
        fixes = [f"num_D <= {d}" for d in range(min(scales - 1, depth), 0, -1) if fits(s, layers, d)][:1]
        fixes += [f"d_layers <= {n}" for n in range(min(layers - 1, depth), 0, -1) if fits(s, n, scales)][:1]
        if not fixes:
            fixes = [f"num_D=1 with d_layers <= {n}" for n in range(min(layers, depth), 0, -1) if fits(s, n, 1)][:1]
        default = " (the size default)" if self.d_layers is None else ""
        raise ConfigError(
            f"option num_D={scales} with d_layers={layers}{default} needs image_size {need} (each scale halves the "
            f"image and every layer another 2x); use {' or '.join(fixes)} at image_size={s}")

    def lr_of(self, optimizer: str) -> float:
        """The base learning rate of an optimizer (group) by name: lr_D for D* (discriminators), lr_T for T*,
        lr_content (None: lr / 2.5) for DRIT's D_content."""
        if optimizer == "D_content":  # DRIT's content discriminator
            return self.lr_content if self.lr_content is not None else self.lr / 2.5
        if optimizer.startswith("D") and self.lr_D is not None:
            return self.lr_D
        if optimizer.startswith("T") and self.lr_T is not None:
            return self.lr_T
        return self.lr

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> "Config":
        """A copy with some options changed (unknown names raise ConfigError)."""
        return Config.from_dict({**self.to_dict(), **changes})

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Config":
        """A validated Config from option: value pairs (unknown names raise ConfigError)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(map(str, set(values) - known))
        if unknown:
            raise ConfigError(f"unknown config option(s) {', '.join(unknown)}; known options: {', '.join(sorted(known))}")
        return cls(**values).validate()

    def save(self, path: str) -> None:
        """Write the config as JSON (atomically: a crash never leaves half a file)."""
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=True)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> "Config":
        """Read a config from a .json or .yaml/.yml file."""
        values = read_options(path)
        return preset(values["model"], **values) if "model" in values else cls.from_dict(values)


def read_options(path: str) -> dict[str, Any]:
    """The option: value mapping a .json or .yaml/.yml config file holds, not yet validated (validation needs the
    networks, so TensorFlow; `tfgan-i2i train` reads the model name before TensorFlow loads)."""
    if not os.path.isfile(path):
        raise ConfigError(f"config file {path} does not exist")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {path} could not be read: {e}") from e
    values = _parse(path, text)
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must hold a mapping of option: value")
    for key in values:
        if not isinstance(key, str):
            raise ConfigError(f"config file {path}: option name {key!r} is not text; use Config's option names")
    return values


def _parse(path: str, text: str) -> Any:
    """The value a .yaml/.yml (else JSON) config file holds; a syntax error becomes one line with its line number."""
    if path.endswith((".yaml", ".yml")):
        import yaml

        try:
            return yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise ConfigError(f"config file {path} could not be parsed{where}: {problem}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"config file {path} could not be parsed at line {e.lineno}, column {e.colno}: "
                          f"{e.msg}") from None


# --- option checks (used by Config.validate) -----------------------------------------------------------------
_FIELD_TYPES = typing.get_type_hints(Config)  # option -> its annotation (int, float | None, ...)

_CHOICES = {
    "objective": ("bicycle", "cvae", "clr"),
    "direction": ("AtoB", "BtoA"),
    "where_add": ("input", "all"),
    "netG": ("unet", "resnet"),
    "norm": ("instance", "batch", "none"),
    "upsample": ("transpose", "bilinear"),
    "netE": ("resnet", "conv"),
    "gan_mode": ("vanilla", "lsgan", "hinge", "wgangp"),
    "init_type": ("normal", "xavier", "he"),
    "latent_regularizer": ("kl", "avb"),
    "lr_policy": ("linear", "constant", "step"),
    "weight_decay_mode": ("l2", "decoupled"),
    "avb_update": ("simultaneous", "critic_first"),
    "test_mode": ("eval", "train"),
    "onednn": ("auto", "on", "off"),
}

# Every numeric option: (test, rule, hint) -- the value must pass test(value); the message states the rule and hint.
# A None value of an optional option (lr_D: null for lr) is not range-checked.
def _at_least(low, hint=""):
    return (lambda v: v >= low), f">= {low}", hint


def _above(low, hint=""):
    return (lambda v: v > low), f"> {low}", hint


_OFF = "0 turns it off"
_RANGES: dict[str, tuple[Any, str, str]] = {
    **{name: _at_least(1) for name in ("input_nc", "output_nc", "ngf", "nef", "ndf", "ntf", "num_D", "batch_size",
                                        "n_critic", "lr_step", "d_iter")},
    "d_layers": _at_least(1, "or null for the size default"),
    "e_blocks": _at_least(1, "or null for the size default"),
    "g_blocks": _at_least(0, "or null for the size default"),
    "nz": _at_least(0, "0 turns the latent code off"),
    "ms_warmup": _at_least(0, "0: full weight at once"),
    "pool_size": _at_least(0, "0 turns the image history off"),
    **{name: _at_least(0) for name in ("epochs", "epochs_decay", "n_downsample", "n_res", "n_shared", "avb_noise_nc")},
    "avb_ac_draws": _at_least(2, "a variance needs two draws"),
    **{name: _at_least(0) for name in ("lambda_gan", "lambda_gan2", "lambda_l1", "lambda_latent", "lambda_kl",
                                        "lambda_gp", "lambda_cycle", "lambda_recon", "lambda_cycle_kl",
                                        "lambda_content", "lambda_kl_content")},
    **{name: _at_least(0, _OFF) for name in ("lambda_ms", "lambda_r1", "lambda_identity", "weight_decay",
                                              "clip_norm", "clip_norm_content")},
    **{name: _above(0) for name in ("init_gain", "lr", "adam_eps", "lr_gamma")},
    "lr_D": _above(0, "or null for lr"),
    "lr_T": _above(0, "or null for lr"),
    "lr_content": _above(0, "or null for lr / 2.5"),
    "beta1": ((lambda v: 0 <= v < 1), "in [0, 1)", "e.g. 0.5"),
    "beta2": ((lambda v: 0 < v < 1), "in (0, 1)", "e.g. 0.999"),
    "ema_decay": ((lambda v: 0 <= v < 1), "in [0, 1)", "0 turns the EMA off; e.g. 0.999"),
}

# Which networks a registry name builds (models/__init__.py MODELS); the others are pix2pix-like (G + PatchGAN D).
_LATENT_MODELS = ("bicyclegan", "cvae-gan", "clr-gan", "dcgan", "dcgan-ms",   # need nz >= 1 (and E, if paired)
                  "drit", "drit-ms")
_UNIT_MODELS = ("unit", "unit-master", "avb-gtn")                             # UNIT nets + multi-scale D
_DCGAN_MODELS = ("dcgan", "dcgan-ms")                                         # DCGAN nets, no PatchGAN
_DRIT_MODELS = ("drit", "drit-ms")                                            # DRIT nets + multi-scale Ds


def _smallest_size(fits) -> str:
    """'>= N' for the smallest power-of-two image_size N >= 32 for which fits(N) holds ('> 2^40' if none up to it)."""
    return next((f">= {2**p}" for p in range(5, 41) if fits(2**p)), "> 2^40 (far too large)")


def _show(value: Any) -> str:
    """A value as an option message shows it: its repr, cut to one short line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: Any) -> bool:
    """Whether value is an integer (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number_text(text: str) -> bool:
    """Whether text spells a number (a quoted value, or YAML's 1e-4, which it reads as a string)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_type(name: str, value: Any, annotation: Any) -> None:
    """ConfigError unless value fits the option's annotation (int, float, bool, str, dict, each maybe | None)."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    allowed = typing.get_args(annotation) if union else (annotation,)
    if value is None and type(None) in allowed:
        return
    kind = next(t for t in allowed if t is not type(None))
    kind = typing.get_origin(kind) or kind
    null = " (or null)" if type(None) in allowed else ""
    if kind is int:
        ok, what = _is_int(value), "an integer"
    elif kind is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        what = "a finite number"
    elif kind is bool:
        ok, what = isinstance(value, bool), "true or false"
    elif kind is str:
        ok, what = isinstance(value, str), "a string"
    else:
        ok, what = isinstance(value, kind), f"a {kind.__name__}"
    if ok:
        return
    hint = ""
    if isinstance(value, str) and kind in (int, float) and _is_number_text(value):
        hint = "; it is text: drop the quotes"
        if "e" in value.lower() and "." not in value:
            hint += f" (YAML reads exponents without a dot as text: write {value.lower().replace('e', '.0e', 1)})"
    elif isinstance(value, float) and kind is int and value.is_integer():
        hint = f"; write {int(value)}"
    raise ConfigError(f"option {name}={_show(value)} must be {what}{null}{hint}")


# The papers' defaults. BicycleGAN family: junyanz/BicycleGAN; pix2pix: pytorch-CycleGAN-and-pix2pix;
# msgan: MSGAN's pix2pix-MS (BicycleGAN generator with z everywhere, conditional 2-scale D, lambda_L1 10; its
# defaults: no dropout, load size = crop size, batch 1).
PRESETS: dict[str, dict[str, Any]] = {
    "bicyclegan": dict(model="bicyclegan", objective="bicycle"),
    "cvae-gan": dict(model="cvae-gan", objective="cvae"),
    "clr-gan": dict(model="clr-gan", objective="clr"),
    "pix2pix": dict(
        model="pix2pix", nz=0, where_add="input", norm="batch", lambda_l1=100.0, gan_mode="vanilla", init_type="normal",
        conditional_D=True, num_D=1, d_layers=3, batch_size=1, test_mode="train",
    ),
    "pix2pix-noise": dict(
        model="pix2pix-noise", nz=8, where_add="all", norm="instance", lambda_l1=10.0, gan_mode="lsgan",
        conditional_D=True, num_D=2, batch_size=1,
    ),
    "msgan": dict(
        model="msgan", nz=8, where_add="all", norm="instance", use_dropout=False, lambda_l1=10.0, gan_mode="lsgan",
        conditional_D=True, num_D=2, lambda_ms=1.0, load_size=256, batch_size=1,
    ),
    # CycleGAN (pytorch-CycleGAN-and-pix2pix): resnet_9blocks (6 at <=128 px), basic D, instance norm, lsgan,
    # lambda_A = lambda_B = 10, identity 0.5, pool 50, batch 1, 100 + 100 epochs.
    "cyclegan": dict(
        model="cyclegan", nz=0, netG="resnet", g_blocks=None, norm="instance", use_dropout=False, init_type="normal",
        num_D=1, d_layers=3, gan_mode="lsgan", lambda_cycle=10.0, lambda_identity=0.5, pool_size=50, batch_size=1,
    ),
    # UNIT, NIPS paper weights (version_02: gan 10, L1 100, KL 0.1, cycle L1 100, cycle KL 0.1, BCE, one shared
    # encoder and one shared decoder block, constant lr) on the master architecture (dim 64, 2 down-samplings, 4 res
    # blocks, 3-scale D of 4 layers, Adam 1e-4 with PyTorch's coupled weight decay 1e-4).
    "unit": dict(
        model="unit", nz=0, ngf=64, ndf=64, norm="instance", d_norm="none", num_D=3, d_layers=4, init_type="he",
        gan_mode="vanilla", lambda_gan=10.0, lambda_recon=100.0, lambda_kl=0.1, lambda_cycle=100.0,
        lambda_cycle_kl=0.1, latent_regularizer="kl", lr=1e-4, weight_decay=1e-4, batch_size=1, n_shared=1,
        lr_policy="constant",
    ),
    # UNIT as mingyuliutw/UNIT master: its weights and LSGAN, two independent VAE-generators (no shared blocks),
    # lr halved every 100k iterations.
    "unit-master": dict(
        model="unit-master", nz=0, ngf=64, ndf=64, norm="instance", d_norm="none", num_D=3, d_layers=4,
        init_type="he", gan_mode="lsgan", lambda_gan=1.0, lambda_recon=10.0, lambda_kl=0.01, lambda_cycle=10.0,
        lambda_cycle_kl=0.01, latent_regularizer="kl", lr=1e-4, weight_decay=1e-4, batch_size=1, n_shared=0,
        lr_policy="step", lr_step=100_000, lr_gamma=0.5,
    ),
    # AVB-GTN: the UNIT objective (paper weights) with every KL term replaced by an AVB critic T(x, z) as in
    # Mescheder's AVB: T + 0.5|z|^2, simultaneous updates, T's own learning rate (10x, AVB's CelebA setting).
    "avb-gtn": dict(
        model="avb-gtn", nz=0, ngf=64, ndf=64, norm="instance", d_norm="none", num_D=3, d_layers=4, init_type="he",
        gan_mode="vanilla", lambda_gan=10.0, lambda_recon=100.0, lambda_kl=0.1, lambda_cycle=100.0,
        lambda_cycle_kl=0.1, latent_regularizer="avb", lr=1e-4, lr_T=1e-3, weight_decay=1e-4, batch_size=1,
        n_shared=1, lr_policy="constant", avb_prior_term=True, avb_update="simultaneous",
    ),
    # class-conditional DCGAN of MSGAN's categorical experiment (HelenMao/MSGAN DCGAN-Mode-Seeking: d = ngf = ndf 128,
    # 32 px, nz 100, one-hot labels as channels, batch 32, vanilla GAN, Adam 2e-4/0.5 with coupled weight decay 1e-4,
    # constant lr); dcgan-ms adds the mode-seeking term with weight 1. Batches are (images, labels); num_classes
    # lives in `extra`.
    "dcgan": dict(
        model="dcgan", nz=100, image_size=32, load_size=32, input_nc=1, output_nc=3, ngf=128, ndf=128, norm="batch",
        gan_mode="vanilla", init_type="normal", init_gain=0.02, lambda_ms=0.0, batch_size=32, flip=False,
        use_dropout=False, weight_decay=1e-4, lr_policy="constant", extra={"num_classes": 10},
    ),
    "dcgan-ms": dict(
        model="dcgan-ms", nz=100, image_size=32, load_size=32, input_nc=1, output_nc=3, ngf=128, ndf=128, norm="batch",
        gan_mode="vanilla", init_type="normal", init_gain=0.02, lambda_ms=1.0, batch_size=32, flip=False,
        use_dropout=False, weight_decay=1e-4, lr_policy="constant", extra={"num_classes": 10},
    ),
    # DRIT++ concat variant as HelenMao/MSGAN's DRIT-Mode-Seeking: nz 8, content encoders of 64 -> 256 channels with
    # 3 private + 1 shared residual blocks, 3-scale Ds of 4 layers without norm (four), BCE; weights content GAN 1,
    # domain GAN 1 + 1, cross-cycle 10, self-reconstruction 10, attribute KL 0.01, content KL 0.01, latent
    # regression 10; Adam 1e-4 (content D lr / 2.5, its gradients clipped to norm 5), betas 0.5/0.999, coupled
    # weight decay 1e-4; d_iter 3; batch 2, resize 256, crop 216. Its 1200 epochs (linear decay from 600) spend
    # d_iter batches per E/G step, ours one: 200 + 200 epochs give the same E/G steps and schedule. drit-ms adds
    # the mode-seeking term (weight 1) in both directions.
    **{name: dict(
        model=name, nz=8, image_size=216, load_size=256, ngf=64, nef=64, ndf=64, norm="instance", d_norm="none",
        num_D=3, d_layers=4, n_downsample=2, n_res=4, n_shared=1, init_type="normal", init_gain=0.02,
        gan_mode="vanilla", lambda_gan=1.0, lambda_gan2=1.0, lambda_content=1.0, lambda_cycle=10.0,
        lambda_recon=10.0, lambda_kl=0.01, lambda_kl_content=0.01, lambda_latent=10.0, lambda_ms=lambda_ms,
        lr=1e-4, weight_decay=1e-4, d_iter=3, clip_norm_content=5.0, batch_size=2, epochs=200, epochs_decay=200,
        lr_policy="linear", use_dropout=False, flip=True,
    ) for name, lambda_ms in (("drit", 0.0), ("drit-ms", 1.0))},
}


def with_overrides(base: Config, **changes) -> Config:
    """base with some options changed; a new image_size without a load_size keeps base's resize margin.

    286/256 in the presets becomes 143/128: a 128 crop of a 143 image, not of a 286 one.
    """
    if "image_size" in changes and "load_size" not in changes and _is_int(changes["image_size"]):
        changes["load_size"] = max(changes["image_size"],
                                   round(base.load_size * changes["image_size"] / base.image_size))
    return base.replace(**changes)


def preset(name: str, **overrides) -> Config:
    """The paper-default config of a model (see PRESETS), with optional overrides (see with_overrides)."""
    if not isinstance(name, str) or name not in PRESETS:
        raise ConfigError(f"unknown model {_show(name)}; choose one of {', '.join(PRESETS)}")
    return with_overrides(Config.from_dict(PRESETS[name]), **overrides)
