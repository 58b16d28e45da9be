"""Which CPU kernel library TensorFlow runs a model with: oneDNN or TF's default kernels (issue 16).

TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, when it loads, and the setting holds for the whole process. Neither
library wins everywhere on the CPUs measured here: oneDNN is much faster on some layers and about 2x slower on
strided and transposed convolutions, so the faster setting depends on the model. `FASTER_TRAINING` holds the
winner for each model's training step as measured by `python -m bench.kernel_choice` (bench/README.md, "Kernel
library per model"); `tfgan-i2i train` applies it unless the user chose (`--onednn on|off`, the config's `onednn`,
or TF_ENABLE_ONEDNN_OPTS in the environment). `import tfgan_i2i` sets `DEFAULT` when the environment has no
setting; a script that trains one model can call `select(model)` before it imports TensorFlow. `FASTER_INFERENCE`
holds the winner for G inference, which `tfgan-i2i translate` / `evaluate` and `tfgan-i2i-audio translate` apply
for the model in the checkpoint's config.json (read as plain JSON) unless TF_ENABLE_ONEDNN_OPTS is set.

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
# model -> the faster setting for its G inference (Keras, one image, same runs): what `tfgan-i2i translate` /
# `evaluate` and `tfgan-i2i-audio translate` pick for the model they load. The ResNet-style generators (CycleGAN,
# UNIT and its AVB-GTN variant, DRIT) infer 1.35-3.4x faster with the default kernels even where oneDNN trains faster
FASTER_INFERENCE = {
    # U-Net G: pix2pix 256 oneDNN 1.10x, BicycleGAN 128 oneDNN 1.23x, BicycleGAN 256 a tie
    "pix2pix": "on", "pix2pix-noise": "on", "bicyclegan": "on", "cvae-gan": "on", "clr-gan": "on", "msgan": "on",
    "cyclegan": "off",                                           # default kernels 2.49x faster
    "unit": "off", "unit-master": "off", "avb-gtn": "off",       # UNIT 256: default kernels 3.39x faster
    "drit": "off", "drit-ms": "off",                             # DRIT 216: default kernels 1.35x faster
}
TASKS = {"train": FASTER_TRAINING, "infer": FASTER_INFERENCE}
CONFIG_FILE = "config.json"  # as tfgan_i2i.config.CONFIG_FILE (that module imports TensorFlow)
DEFAULT = "on"  # `import tfgan_i2i` without a model: the faster setting for most models above
# a training-step win smaller than this factor is within the run-to-run spread: such a model keeps DEFAULT (whose
# G inference is the faster one wherever training ties)
TIE = 1.03


def flag(setting: str) -> str:
    """TF_ENABLE_ONEDNN_OPTS's value for "on" / "off"."""
    return "1" if setting == "on" else "0"


def preferred(model: str, task: str = "train") -> str:
    """The faster setting for `task` ("train" / "infer") with `model` ("on"/"off"; DEFAULT for a model not in the
    table)."""
    return TASKS[task].get(model, DEFAULT)


def model_of(path: str | None) -> str | None:
    """The model name in the config.json of a checkpoint folder, train logdir, export (or its version folder), or a
    paired audio logdir (its direction folders); None when there is none to read (e.g. a .keras file). Plain JSON,
    so it can run before TensorFlow loads; a file that does not parse is left for the loader to report."""
    import json

    if not path:
        return None
    path = os.path.normpath(path)
    candidates = [path, os.path.dirname(path)]
    if os.path.isdir(path):
        candidates += sorted(os.path.join(path, d) for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    for folder in candidates:
        try:
            with open(os.path.join(folder, CONFIG_FILE), encoding="utf-8") as f:
                model = json.load(f).get("model")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(model, str):
            return model
    return None


def _name(flag: str) -> str:
    return "off" if flag.strip().lower() in ("0", "false", "off", "no") else "on"


def in_effect() -> str | None:
    """"on"/"off": the setting TensorFlow loaded with (None if TensorFlow is not loaded yet)."""
    if "tensorflow" not in sys.modules:
        return None
    from tensorflow.python.util import _pywrap_util_port

    return "on" if _pywrap_util_port.IsMklEnabled() else "off"


def select(model: str, requested: str = "auto", task: str = "train") -> tuple[str, str]:
    """Set TF_ENABLE_ONEDNN_OPTS for `task` ("train" / "infer") with `model`, before TensorFlow loads; returns
    (setting, why).

    `requested` "on"/"off" wins; "auto" keeps a TF_ENABLE_ONEDNN_OPTS the user set before `import tfgan_i2i`,
    else takes the faster setting for the model (`FASTER_TRAINING` / `FASTER_INFERENCE`, `DEFAULT` for an unknown
    one). If TensorFlow is already loaded nothing can change: the setting it loaded with is returned, and `why`
    says so.
    """
    if requested not in CHOICES:
        raise ValueError(f"onednn={requested!r} is not one of {', '.join(CHOICES)}")
    if requested != "auto":
        want, why = requested, "as asked (--onednn / the config's onednn)"
    elif USER_SETTING is not None:
        want, why = _name(USER_SETTING), f"{ENV}={USER_SETTING} in the environment"
    else:
        want = preferred(model, task)
        what = "training step" if task == "train" else "G inference"
        why = (f"faster for {model}'s {what} on the benchmark CPU (bench/README.md); "
               + ("--onednn on|off overrides" if task == "train" else f"{ENV}=1|0 overrides"))
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


__all__ = ["CHOICES", "DEFAULT", "ENV", "FASTER_INFERENCE", "FASTER_TRAINING", "TASKS", "TIE", "USER_SETTING",
           "describe", "flag", "in_effect", "model_of", "preferred", "select"]
