"""Which CPU kernel library TensorFlow runs a model with: oneDNN or TF's default kernels (issue 16).

TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, when it loads, and the setting holds for the whole process. Neither
library wins everywhere on the CPUs measured here: oneDNN is much faster on some layers and about 2x slower on
strided and transposed convolutions, so the faster setting depends on the model. `FASTER_TRAINING` holds the
winner for each model's training step as measured by `python -m bench.kernel_choice` (bench/README.md, "Kernel
library per model"); `tfgan-i2i train` applies it unless the user chose (`--onednn on|off`, the config's `onednn`,
or TF_ENABLE_ONEDNN_OPTS in the environment). `import tfgan_i2i` sets `DEFAULT` when the environment has no
setting; a script that trains one model can call `select(model)` before it imports TensorFlow.

Pure Python: this module must not import TensorFlow, because the choice has to be made before TensorFlow loads.
"""
from __future__ import annotations

import os
import sys

ENV = "TF_ENABLE_ONEDNN_OPTS"
CHOICES = ("auto", "on", "off")
# what the user's environment held before `import tfgan_i2i` set its default (None: the user did not choose)
USER_SETTING = os.environ.get(ENV)

# model -> the faster setting for its training step at the preset's size and batch, on this project's 2-core AMD
# EPYC benchmark machine (bench/results/kernel_choice.json; a tie, see TIE, keeps DEFAULT); models not measured
# share the row of the one with the same networks
FASTER_TRAINING = {
    # U-Net G: BicycleGAN 128 1.19x faster with oneDNN; pix2pix 256 and BicycleGAN 256 tie (1.01x either way)
    "pix2pix": "on", "pix2pix-noise": "on", "bicyclegan": "on", "cvae-gan": "on", "clr-gan": "on", "msgan": "on",
    "cyclegan": "off",                                           # ResNet-9 G: default kernels 1.65x faster
    "unit": "on", "unit-master": "on", "avb-gtn": "on",          # UNIT 256: oneDNN 1.07x faster (AVB-GTN: same nets)
    "drit": "off", "drit-ms": "off",                             # DRIT 216: default kernels 1.50x faster
}
DEFAULT = "on"  # `import tfgan_i2i` without a model: the faster setting for most models above
# a training-step win smaller than this factor is within the run-to-run spread: such a model keeps DEFAULT (whose
# G inference is the faster one wherever training ties)
TIE = 1.03


def flag(setting: str) -> str:
    """TF_ENABLE_ONEDNN_OPTS's value for "on" / "off"."""
    return "1" if setting == "on" else "0"


def preferred(model: str) -> str:
    """The faster setting for training `model` ("on"/"off"; DEFAULT for a model not in the table)."""
    return FASTER_TRAINING.get(model, DEFAULT)


def _name(flag: str) -> str:
    return "off" if flag.strip().lower() in ("0", "false", "off", "no") else "on"


def in_effect() -> str | None:
    """"on"/"off": the setting TensorFlow loaded with (None if TensorFlow is not loaded yet)."""
    if "tensorflow" not in sys.modules:
        return None
    from tensorflow.python.util import _pywrap_util_port

    return "on" if _pywrap_util_port.IsMklEnabled() else "off"


def select(model: str, requested: str = "auto") -> tuple[str, str]:
    """Set TF_ENABLE_ONEDNN_OPTS for training `model`, before TensorFlow loads; returns (setting, why).

    `requested` "on"/"off" wins; "auto" keeps a TF_ENABLE_ONEDNN_OPTS the user set before `import tfgan_i2i`,
    else takes the faster setting for the model (`FASTER_TRAINING`, `DEFAULT` for an unknown one). If TensorFlow is
    already loaded nothing can change: the setting it loaded with is returned, and `why` says so.
    """
    if requested not in CHOICES:
        raise ValueError(f"onednn={requested!r} is not one of {', '.join(CHOICES)}")
    if requested != "auto":
        want, why = requested, "as asked (--onednn / the config's onednn)"
    elif USER_SETTING is not None:
        want, why = _name(USER_SETTING), f"{ENV}={USER_SETTING} in the environment"
    else:
        want = preferred(model)
        why = f"faster for {model}'s training step on the benchmark CPU (bench/README.md); --onednn on|off overrides"
    loaded = in_effect()
    if loaded is None:
        os.environ[ENV] = flag(want)
        return want, why
    if loaded != want:
        why = (f"TensorFlow was already loaded with oneDNN {loaded} ({why} asked for {want}); set {ENV} before "
               "TensorFlow is imported to change it")
    return loaded, why


def describe(setting: str, why: str) -> str:
    """The one line `tfgan-i2i train` prints about the choice."""
    library = "oneDNN" if setting == "on" else "TensorFlow's default kernels"
    return f"CPU kernels: {library} (onednn={setting}: {why})"


__all__ = ["CHOICES", "DEFAULT", "ENV", "FASTER_TRAINING", "TIE", "USER_SETTING", "describe", "flag", "in_effect",
           "preferred", "select"]
