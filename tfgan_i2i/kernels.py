"""Which CPU kernel library TensorFlow runs a model with: oneDNN or TF's default kernels (issue 16).

TensorFlow reads TF_ENABLE_ONEDNN_OPTS once, when it loads, and the setting holds for the whole process. Neither
library wins everywhere on every CPU measured here: on an AVX2 AMD EPYC oneDNN is much faster on some layers and
about 2x slower on strided and transposed convolutions, so the faster setting depends on the model; on an AVX-512
EPYC oneDNN won for every model. `FASTER_TRAINING` holds the winner for each model's training step on CPUs of this
machine's class (`CPU`: "avx2" or "avx512", from /proc/cpuinfo) as measured by `python -m bench.kernel_choice`
(bench/README.md, "Kernel library per model"); `tfgan-i2i train` applies it unless the user chose (`--onednn
on|off`, the config's `onednn`, or TF_ENABLE_ONEDNN_OPTS in the environment). `import tfgan_i2i` sets `DEFAULT`
when the environment has no setting; a script that trains one model can call `select(model)` before it imports
TensorFlow. `FASTER_INFERENCE` holds the winner for G inference, which `tfgan-i2i translate` / `evaluate` and
`tfgan-i2i-audio translate` apply for the model in the checkpoint's config.json (read as plain JSON) unless
TF_ENABLE_ONEDNN_OPTS is set.

Pure Python: this module must not import TensorFlow, because the choice has to be made before TensorFlow loads.
"""
from __future__ import annotations

import os
import sys

ENV = "TF_ENABLE_ONEDNN_OPTS"
CHOICES = ("auto", "on", "off")
# what the user's environment held before `import tfgan_i2i` set its default (None: the user did not choose)
USER_SETTING = os.environ.get(ENV)

U_NET = ("pix2pix", "pix2pix-noise", "bicyclegan", "cvae-gan", "clr-gan", "msgan")


def _rows(u_net: str, cyclegan: str, unit: str, drit: str) -> dict:
    """model -> setting, models not measured sharing the row of the one with the same networks."""
    return {**{m: u_net for m in U_NET}, "cyclegan": cyclegan, "unit": unit, "unit-master": unit, "avb-gtn": unit,
            "drit": drit, "drit-ms": drit}


# CPU class -> model -> the faster setting for its training step at the preset's size and batch, as measured by
# `python -m bench.kernel_choice` on this project's 2-core benchmark machines (a tie, see TIE, keeps DEFAULT; a
# model measured at several sizes takes the setting faster on the geometric mean of its speed-ups).
# The winner depends on the CPU: on the AVX2 EPYC oneDNN halved the speed of strided and transposed convolutions,
# on the AVX-512 EPYC it is faster for every model measured.
TRAINING_BY_CPU = {
    # AMD EPYC, AVX2/FMA, no AVX-512 (bench/results/kernel_choice.json): with every stride-1 conv a ThinConv2D the
    # default kernels win every model: pix2pix 256 1.37x, BicycleGAN 256 1.59x (128 a tie, 1.03x), CycleGAN 1.36x,
    # UNIT 1.38x (oneDNN won by 1.07x before UNIT's convs were thin), DRIT 1.27x
    "avx2": _rows(u_net="off", cyclegan="off", unit="off", drit="off"),
    # AMD EPYC, AVX-512 (bf16, VNNI), 2.6 GHz (bench/results/kernel_choice_avx512.json): oneDNN 1.39-1.53x (U-Net),
    # 1.93x (CycleGAN), 3.42-3.49x (UNIT, AVB-GTN), 1.33x (DRIT)
    "avx512": _rows(u_net="on", cyclegan="on", unit="on", drit="on"),
}
# CPU class -> model -> the faster setting for its G inference (Keras, one image, same runs): what `tfgan-i2i
# translate` / `evaluate` and `tfgan-i2i-audio translate` pick for the model they load
INFERENCE_BY_CPU = {
    # AVX2 EPYC: U-Net pix2pix oneDNN 1.08x, BicycleGAN 128 oneDNN 1.11x and 256 default 1.07x (a tie on the
    # mean); the ResNet-style generators 1.24-2.6x faster with the default kernels (CycleGAN 1.52x, UNIT 2.62x,
    # DRIT 1.24x)
    "avx2": _rows(u_net="on", cyclegan="off", unit="off", drit="off"),
    # AVX-512 EPYC: oneDNN 1.10-1.82x (U-Net), 1.06x (CycleGAN), 1.17x (UNIT), 1.49x (AVB-GTN); DRIT a tie (1.03x)
    "avx512": _rows(u_net="on", cyclegan="on", unit="on", drit="on"),
}
RESULTS = {"avx2": "kernel_choice.json", "avx512": "kernel_choice_avx512.json"}  # under bench/results/


def cpu_class(flags=None) -> str:
    """"avx512" for a CPU with AVX-512 (one with AMX too: not measured, the nearest class), else "avx2".

    `flags`: the CPU's flags (default: read from /proc/cpuinfo; a machine without it counts as "avx2")."""
    if flags is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
        except OSError:
            flags = []
    return "avx512" if "avx512f" in set(flags) else "avx2"


CPU = cpu_class()
FASTER_TRAINING = TRAINING_BY_CPU[CPU]
FASTER_INFERENCE = INFERENCE_BY_CPU[CPU]
TASKS = {"train": FASTER_TRAINING, "infer": FASTER_INFERENCE}
CONFIG_FILE = "config.json"  # as tfgan_i2i.config.CONFIG_FILE (that module imports TensorFlow)
# `import tfgan_i2i` without a model: oneDNN, faster for every model on the AVX-512 class; on the AVX2 class every
# model measured trains faster without it (the table above: `tfgan-i2i train` and `select(model)` pick that), but
# the U-Nets' G inference is faster with it, and ties fall back to this
DEFAULT = "on"
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
        why = (f"faster for {model}'s {what} on the {CPU} benchmark CPU (bench/README.md); "
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


__all__ = ["CHOICES", "CPU", "DEFAULT", "ENV", "FASTER_INFERENCE", "FASTER_TRAINING", "INFERENCE_BY_CPU", "RESULTS",
           "TASKS", "TIE", "TRAINING_BY_CPU", "USER_SETTING", "cpu_class", "describe", "flag", "in_effect", "model_of",
           "preferred", "select"]
