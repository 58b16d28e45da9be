"""Robust configs: sizes the networks cannot run on, bad option values and broken config files are refused up front.

Every refusal is a ConfigError of one line that names the option (or file and line) and a value that works.
"""
import dataclasses
import json
import math
import types
import typing

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfgan_i2i.config import _CHOICES, _FIELD_TYPES, _RANGES, PRESETS, Config, ConfigError, preset
from tfgan_i2i.models import MODELS, build_model
from tfgan_i2i.networks import patch_discriminator, resnet_encoder
from tfgan_i2i.networks.discriminators import patch_logit_sizes
from tfgan_i2i.networks.encoders import resnet_encoder_feature_size
from tfgan_i2i.networks.unit import ms_discriminator, ms_logit_sizes

# tiny widths and depths that leave every spatial constraint as the preset has it
TINY = dict(ngf=4, ndf=4, nef=4, ntf=4, g_blocks=1, n_res=1, avb_noise_nc=2, pool_size=2, batch_size=1)
# (model, size) pairs whose preset defaults do not fit: UNIT's 3-scale D of 4 layers needs 64 px
REFUSED = {("unit", 32), ("unit-master", 32), ("avb-gtn", 32)}
REFUSED_SIZE = {("drit", 32), ("drit-ms", 32)}  # refused for the size itself, whatever the D options


def one_line_error(excinfo, *names):
    """The refusal's message: one line that names every one of `names`."""
    message = str(excinfo.value)
    assert "\n" not in message, message
    for name in names:
        assert name in message, message
    return message


def tiny_batch(name, size):
    """One batch of the model's training data shapes: (images, labels) for DCGAN, (A, B) otherwise."""
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (1, size, size, 3)).astype("float32"))
    if name.startswith("dcgan"):
        return images, tf.constant([1], tf.int32)
    return images, tf.constant(rng.uniform(-1, 1, (1, size, size, 3)).astype("float32"))


def train_one_step(name, size, **changes):
    """Build the model's preset at `size` with tiny widths and run one eager train step; the logged losses."""
    model = build_model(name, image_size=size, load_size=size, **{**TINY, **changes})
    model.compile()
    logs = model.train_step(tiny_batch(name, size))
    return {k: float(np.mean(v)) for k, v in logs.items()}


# --- 1. sizes -------------------------------------------------------------------------------------------------
def test_registry_and_presets_agree():
    assert set(MODELS) == set(PRESETS)


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("name", list(PRESETS))
def test_every_model_trains_one_step_or_is_refused_at_validate(name, size):
    if (name, size) in REFUSED_SIZE:
        with pytest.raises(ConfigError) as e:
            preset(name, image_size=size, load_size=size, **TINY)
        one_line_error(e, "image_size=32", ">= 64")
        return
    if (name, size) in REFUSED:
        with pytest.raises(ConfigError) as e:
            preset(name, image_size=size, load_size=size, **TINY)
        message = one_line_error(e, "num_D=3", "d_layers=4", "image_size >= 64")
        assert "num_D <= 2" in message and "d_layers <= 3" in message
        return
    logs = train_one_step(name, size)
    assert logs and all(math.isfinite(v) for v in logs.values()), logs


def test_the_suggested_fix_trains():
    # "use num_D <= 2 or d_layers <= 3 at image_size=32": the second of them, for the UNIT family's D
    logs = train_one_step("unit", 32, d_layers=3)
    assert all(math.isfinite(v) for v in logs.values()), logs


@pytest.mark.parametrize("changes, names", [
    (dict(model="bicyclegan", d_layers=3), ("num_D=2", "d_layers=3", "image_size >= 64", "d_layers <= 2")),
    (dict(model="pix2pix", num_D=2), ("num_D=2", "d_layers=3", "num_D <= 1")),
    (dict(model="pix2pix", d_layers=4), ("num_D=1", "d_layers=4", "d_layers <= 3")),
    (dict(model="cyclegan", num_D=3), ("num_D=3", "image_size >= 128")),
    (dict(model="bicyclegan", e_blocks=6), ("e_blocks=6", "image_size >= 64", "e_blocks <= 5")),
    (dict(model="unit", n_downsample=4), ("n_downsample=4", "n_downsample <= 3")),
    (dict(model="bicyclegan", num_D=9, d_layers=1), ("num_D=9", "num_D <= 3")),
    (dict(model="unit", num_D=10**9, d_layers=10**9), ("num_D=1000000000", "far too large", "num_D=1 with")),
    (dict(model="bicyclegan", e_blocks=10**9), ("e_blocks=1000000000", "e_blocks <= 5")),
    (dict(model="bicyclegan", ndf=1), ("ndf=1", "num_D=2", "ndf >= 2", "num_D <= 1")),
])
def test_too_deep_for_the_size_is_refused_naming_a_fit(changes, names):
    name = changes.pop("model")
    with pytest.raises(ConfigError) as e:
        preset(name, image_size=32, load_size=32, **changes)
    one_line_error(e, *names)


@pytest.mark.parametrize("num_D", [1, 2, 3])
@pytest.mark.parametrize("n_layers", [1, 2, 3, 4])
def test_patch_logit_sizes_match_the_network(n_layers, num_D):
    predicted = patch_logit_sizes(32, n_layers, num_D)
    # Built for a fixed 32 px input, so Keras infers every shape when the model is built (and refuses an empty
    # map there). Eager calls of the size-agnostic model were unreliable for too-small inputs: after other tests in
    # the same process Keras returned a wrong-shaped output instead of raising.
    def build():
        return patch_discriminator(3, ndf=8, n_layers=n_layers, num_D=num_D, norm="none", image_size=32)

    if min(predicted) >= 1:
        assert [o.shape[1] for o in tf.nest.flatten(build().outputs)] == predicted
    else:
        with pytest.raises(ValueError):
            build()


@pytest.mark.parametrize("num_scales", [1, 2, 3])
@pytest.mark.parametrize("n_layers", [3, 4, 5])
def test_ms_logit_sizes_match_the_network(n_layers, num_scales):
    predicted = ms_logit_sizes(32, n_layers, num_scales)
    D = ms_discriminator(3, ndf=2, n_layers=n_layers, num_scales=num_scales)
    _check_against_network(lambda: D(tf.zeros((1, 32, 32, 3))), predicted)


@pytest.mark.parametrize("n_blocks", [4, 5, 6])
def test_resnet_encoder_feature_size_matches_the_network(n_blocks):
    fits = resnet_encoder_feature_size(32, n_blocks) >= 1
    E = resnet_encoder(3, nz=2, nef=2, n_blocks=n_blocks)
    if fits:
        mu, _ = E(tf.zeros((1, 32, 32, 3)))
        assert mu.shape == (1, 2)
    else:
        with pytest.raises(Exception):
            E(tf.zeros((1, 32, 32, 3)))


def _check_against_network(run, predicted):
    """The network's logit maps have the predicted sides, or it fails when a predicted side is 0."""
    if min(predicted) >= 1:
        outputs = tf.nest.flatten(run())
        assert [o.shape[1] for o in outputs] == predicted
        return
    try:
        outputs = tf.nest.flatten(run())
    except Exception:  # noqa: BLE001 - TensorFlow's shape errors differ by kernel (Pad, Conv2D, oneDNN)
        return
    assert min(o.shape[1] for o in outputs) < 1, predicted  # an empty map is no use either


# --- 2. option values -----------------------------------------------------------------------------------------
def _kind(name):
    """int, float, bool, str or dict: what an option holds (optional ones also None)."""
    annotation = _FIELD_TYPES[name]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return typing.get_origin(annotation) or annotation


WRONG_TYPE = {
    int: ["abc", 1.5, 2.0, True, [1], {"a": 1}],
    float: ["abc", "1e-4", [0.1], True, float("nan"), float("inf")],
    bool: ["yes", 1, 0.0, [True]],
    str: [3, ["unet"], True],
    dict: [[1], "x", 3],
}


def _wrong_type_cases():
    for f in dataclasses.fields(Config):
        values = WRONG_TYPE[_kind(f.name)]
        if "None" not in str(_FIELD_TYPES[f.name]):
            values = values + [None]
        for value in values:
            yield pytest.param(f.name, value, id=f"{f.name}={value!r}")


@pytest.mark.parametrize("name, value", list(_wrong_type_cases()))
def test_a_value_of_the_wrong_type_names_the_option(name, value):
    with pytest.raises(ConfigError) as e:
        Config().replace(**{name: value})
    one_line_error(e, f"option {name}=")


def _out_of_range(rule):
    """Values just outside a range rule of config._RANGES ('>= k', '> k', 'in [a, b)', 'in (a, b)')."""
    if rule.startswith(">= "):
        low = float(rule[3:])
        return [int(low) - 1, int(low) - 5]
    if rule.startswith("> "):
        return [float(rule[2:]), -1.0]
    low, high = (float(x) for x in rule[4:-1].split(", "))
    return ([low] if rule[3] == "(" else [low - 0.1]) + ([high] if rule[-1] == ")" else [high + 0.1])


def _range_cases():
    for name, (_, rule, _) in _RANGES.items():
        for value in _out_of_range(rule):
            value = value if _kind(name) is float else int(value)
            yield pytest.param(name, value, id=f"{name}={value!r}")


@pytest.mark.parametrize("name, value", list(_range_cases()))
def test_a_value_out_of_range_names_the_option_and_its_range(name, value):
    with pytest.raises(ConfigError) as e:
        Config().replace(**{name: value})
    rule = _RANGES[name][1]
    one_line_error(e, f"option {name}=", rule)


def test_every_numeric_option_has_a_range():
    numeric = {f.name for f in dataclasses.fields(Config) if _kind(f.name) in (int, float)}
    assert numeric - set(_RANGES) == {"image_size", "load_size", "seed"}  # checked on their own; any seed works


@pytest.mark.parametrize("name", list(_CHOICES) + ["d_norm", "model"])
def test_an_unknown_enum_name_lists_the_choices(name):
    with pytest.raises(ConfigError) as e:
        Config().replace(**{name: "bogus"})
    one_line_error(e, f"option {name}='bogus'", "is not one of")


@pytest.mark.parametrize("name", list(_CHOICES))
def test_every_enum_choice_is_accepted(name):
    for choice in _CHOICES[name]:
        assert getattr(Config().replace(**{name: choice}), name) == choice


@pytest.mark.parametrize("changes, names", [
    (dict(model="bicyclegan", nz=0), ("nz=0", "nz >= 1")),
    (dict(model="dcgan", nz=0), ("nz=0", "nz >= 1")),
    (dict(model="avb-gtn", avb_noise_nc=0), ("avb_noise_nc=0", "avb_noise_nc >= 1")),
    (dict(model="dcgan", extra={"num_classes": 0}), ("extra.num_classes=0",)),
    (dict(model="unit", n_shared=3, n_res=2), ("n_shared=3", "n_res=2")),
])
def test_options_that_depend_on_each_other(changes, names):
    name = changes.pop("model")
    with pytest.raises(ConfigError) as e:
        preset(name, **changes)
    one_line_error(e, *names)


def test_unknown_keys_keep_failing_loudly():
    with pytest.raises(ConfigError) as e:
        Config.from_dict({"lamda_l1": 3, 7: 1})
    one_line_error(e, "unknown config option(s) 7, lamda_l1")


OPTION_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 300), st.floats(allow_nan=True),
                          st.sampled_from(["", "abc", "1e-4", "unet", "lsgan"]), st.lists(st.integers(), max_size=2))


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([f.name for f in dataclasses.fields(Config) if f.name != "extra"]),
                       OPTION_VALUES, max_size=4))
def test_any_values_give_a_config_or_one_config_error(changes):
    try:
        Config().replace(**changes)
    except ConfigError as e:
        assert "\n" not in str(e) and str(e).startswith("option ")


# --- 3. files -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("filename, text, line", [
    ("bad.json", '{\n  "model": "pix2pix",\n  "ngf": 8,,\n}\n', 3),
    ("bad.yaml", "model: pix2pix\nngf: 8\nlr: [0.1\nnz: 0\n", 4),
    ("bad.yml", "model: pix2pix\n  ngf: 8\n", 2),
])
def test_a_syntax_error_names_the_file_and_line(tmp_path, filename, text, line):
    path = tmp_path / filename
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        Config.load(str(path))
    one_line_error(e, f"config file {path} could not be parsed", f"line {line}")


def test_values_in_files_are_checked_like_any_other(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model: pix2pix\nlr: 1e-4\n")  # YAML 1.1: an exponent without a dot is a string
    with pytest.raises(ConfigError) as e:
        Config.load(str(path))
    one_line_error(e, "option lr='1e-4'", "1.0e-4")
    path.write_text("model: [pix2pix]\n")
    with pytest.raises(ConfigError) as e:
        Config.load(str(path))
    one_line_error(e, "unknown model ['pix2pix']")
    path.write_text("model: pix2pix\n3: 4\n")
    with pytest.raises(ConfigError) as e:
        Config.load(str(path))
    one_line_error(e, "option name 3")
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"model": "unit", "image_size": 32, "load_size": 32}))
    with pytest.raises(ConfigError) as e:
        Config.load(str(path))
    one_line_error(e, "num_D=3", "d_layers=4")
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(ConfigError) as e:
        Config.load(str(path))
    one_line_error(e, f"config file {path} could not be read")
