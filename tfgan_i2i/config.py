"""Experiment configs: one dataclass per run, with the papers' defaults as named presets.

A run is reproducible from its config alone: `Config.save` writes it next to every checkpoint
and `Config.load` reads it back from JSON or YAML.
"""
from __future__ import annotations

import dataclasses
import json
import os
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
        """Check option values; raise ConfigError naming the option and its allowed values."""
        choices = {
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
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"option {name}={getattr(self, name)!r} is not one of {', '.join(allowed)}")
        if self.d_norm is not None and self.d_norm not in choices["norm"]:
            raise ConfigError(f"option d_norm={self.d_norm!r} is not one of {', '.join(choices['norm'])}")
        s = self.image_size
        if s < 32 or s & (s - 1):
            raise ConfigError(f"option image_size={s} must be a power of two >= 32 (e.g. 64, 128, 256)")
        if self.load_size < s:
            raise ConfigError(f"option load_size={self.load_size} must be >= image_size={s}")
        if self.nz < 0:
            raise ConfigError(f"option nz={self.nz} must be >= 0")
        if self.batch_size < 1:
            raise ConfigError(f"option batch_size={self.batch_size} must be >= 1")
        if self.g_blocks is not None and self.g_blocks < 0:
            raise ConfigError(f"option g_blocks={self.g_blocks} must be >= 0 (or None for the size default)")
        if self.pool_size < 0:
            raise ConfigError(f"option pool_size={self.pool_size} must be >= 0 (0 turns the image history off)")
        if not 0 <= self.n_shared <= self.n_res:
            raise ConfigError(f"option n_shared={self.n_shared} must be between 0 and n_res={self.n_res}")
        if self.n_downsample < 0 or s >> self.n_downsample < 4:
            raise ConfigError(f"option n_downsample={self.n_downsample} leaves less than 4x4 pixels at image_size={s}")
        positive = ("lr", "beta2", "adam_eps", "lr_step", "lr_gamma", "n_critic")
        if self.avb_ac_draws < 2:
            raise ConfigError(f"option avb_ac_draws={self.avb_ac_draws} must be >= 2 (a variance needs two draws)")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ConfigError(f"option {name}={getattr(self, name)!r} must be > 0")
        for name in ("lr_D", "lr_T"):
            if getattr(self, name) is not None and not getattr(self, name) > 0:
                raise ConfigError(f"option {name}={getattr(self, name)!r} must be > 0 (or null for lr)")
        for name in ("lambda_r1", "weight_decay", "clip_norm"):
            if getattr(self, name) < 0:
                raise ConfigError(f"option {name}={getattr(self, name)!r} must be >= 0 (0 turns it off)")
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"option ema_decay={self.ema_decay!r} must be in [0, 1) (0 turns the EMA off; e.g. 0.999)")
        if self.gan_mode == "wgangp" and self.d_norm_resolved == "batch" and self.batch_size > 1:
            raise ConfigError(
                f"option gan_mode='wgangp' with a batch-norm discriminator and batch_size={self.batch_size} gives a "
                "wrong per-example gradient penalty (batch norm mixes the examples); set d_norm to 'instance' or "
                "'none', or batch_size 1")
        return self

    def lr_of(self, optimizer: str) -> float:
        """The base learning rate of an optimizer (group) by name: lr_D for D* (discriminators), lr_T for T*."""
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
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
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
        if not os.path.isfile(path):
            raise ConfigError(f"config file {path} does not exist")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            if path.endswith((".yaml", ".yml")):
                import yaml

                values = yaml.safe_load(text) or {}
            else:
                values = json.loads(text)
        except Exception as e:  # noqa: BLE001 - any parse error is the user's file
            raise ConfigError(f"config file {path} could not be parsed: {e}") from e
        if not isinstance(values, dict):
            raise ConfigError(f"config file {path} must hold a mapping of option: value")
        return preset(values["model"], **values) if "model" in values else cls.from_dict(values)


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
}


def with_overrides(base: Config, **changes) -> Config:
    """base with some options changed; a new image_size without a load_size keeps base's resize margin.

    286/256 in the presets becomes 143/128: a 128 crop of a 143 image, not of a 286 one.
    """
    if "image_size" in changes and "load_size" not in changes:
        changes["load_size"] = max(changes["image_size"],
                                   round(base.load_size * changes["image_size"] / base.image_size))
    return base.replace(**changes)


def preset(name: str, **overrides) -> Config:
    """The paper-default config of a model (see PRESETS), with optional overrides (see with_overrides)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown model {name!r}; choose one of {', '.join(PRESETS)}")
    return with_overrides(Config.from_dict(PRESETS[name]), **overrides)
