"""The CPU kernel library per model (tfgan_i2i.kernels): chosen before TensorFlow loads, recorded in config.json."""
import json
import math
import os
import subprocess
import sys

import pytest

from tfgan_i2i import kernels
from tfgan_i2i.cli import TRAINABLE_MODELS, main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != kernels.ENV}
    return {**env, **extra}


def _python(code: str, **env) -> str:
    result = subprocess.run([sys.executable, "-c", code], env=_clean_env(**env), capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_every_trainable_model_has_a_measured_setting():
    assert set(kernels.FASTER_TRAINING) == set(TRAINABLE_MODELS)
    assert set(kernels.FASTER_TRAINING.values()) <= {"on", "off"}


@pytest.mark.parametrize("cpu", sorted(kernels.RESULTS))
def test_tables_agree_with_the_committed_measurements(cpu):
    """Each model measured by bench/kernel_choice.py on a machine of the CPU class gets the setting that was faster
    for its training step and its G inference (a win by less than kernels.TIE keeps the default); a model measured
    at several sizes (BicycleGAN 128 and 256) takes the setting faster on the geometric mean of its speed-ups."""
    with open(os.path.join(ROOT, "bench", "results", kernels.RESULTS[cpu])) as f:
        measured = json.load(f)
    assert kernels.cpu_class(measured["machine"]["cpu"]["flags"]) == cpu  # measured on a CPU of that class
    rows = measured["rows"]
    assert {"pix2pix:256", "cyclegan:256", "unit:256", "drit:216"} <= set(rows)
    for task, tables in (("train", kernels.TRAINING_BY_CPU), ("infer", kernels.INFERENCE_BY_CPU)):
        assert set(tables[cpu]) == set(TRAINABLE_MODELS)
        onednn_gain = {}  # model -> log speed-ups of oneDNN over the default kernels, one per size
        for spec, row in rows.items():
            won = row["choice"][task]
            gain = math.log(won["speedup"])
            onednn_gain.setdefault(spec.split(":")[0], []).append(gain if won["onednn"] == "1" else -gain)
        for model, gains in onednn_gain.items():
            mean = sum(gains) / len(gains)
            want = kernels.DEFAULT if abs(mean) < math.log(kernels.TIE) else ("on" if mean > 0 else "off")
            assert tables[cpu][model] == want, (cpu, task, model, [round(math.exp(g), 3) for g in gains])


def test_cpu_class_from_flags():
    assert kernels.cpu_class(["sse4_2", "avx2", "fma"]) == "avx2"
    assert kernels.cpu_class(["avx2", "avx512f", "avx512_vnni"]) == "avx512"
    assert kernels.cpu_class(["avx512f", "amx_tile"]) == "avx512"  # AMX: not measured, the nearest class
    assert kernels.FASTER_TRAINING is kernels.TRAINING_BY_CPU[kernels.CPU]


def test_model_of_reads_config_json_wherever_the_loaders_look(tmp_path):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "config.json").write_text(json.dumps({"model": "cyclegan"}))
    (tmp_path / "export" / "1").mkdir(parents=True)
    (tmp_path / "export" / "config.json").write_text(json.dumps({"model": "unit"}))
    (tmp_path / "paired" / "violin_to_piano").mkdir(parents=True)
    (tmp_path / "paired" / "violin_to_piano" / "config.json").write_text(json.dumps({"model": "pix2pix"}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    assert kernels.model_of(str(tmp_path / "run")) == "cyclegan"              # a logdir: checkpoints/config.json
    assert kernels.model_of(str(tmp_path / "run" / "checkpoints")) == "cyclegan"
    assert kernels.model_of(str(tmp_path / "export")) == "unit"
    assert kernels.model_of(str(tmp_path / "export" / "1")) == "unit"         # a version folder: the one above
    assert kernels.model_of(str(tmp_path / "paired")) == "pix2pix"            # an audio paired logdir
    for nothing in ("broken", "missing", "model.keras"):
        assert kernels.model_of(str(tmp_path / nothing)) is None
    assert kernels.model_of(None) is None


@pytest.mark.parametrize("model, requested, user, expected", [
    ("cyclegan", "auto", None, kernels.FASTER_TRAINING["cyclegan"]),
    ("pix2pix", "auto", None, kernels.FASTER_TRAINING["pix2pix"]),
    ("cyclegan", "on", None, "on"),
    ("pix2pix", "off", "1", "off"),      # an explicit request beats the environment
    ("cyclegan", "auto", "1", "on"),     # the user's environment beats the table
    ("pix2pix", "auto", "0", "off"),
    ("no-such-model", "auto", None, kernels.DEFAULT),
])
def test_select_before_tensorflow_loads(model, requested, user, expected):
    code = ("import os, sys, tfgan_i2i.cli\nfrom tfgan_i2i import kernels\n"
            f"setting, why = kernels.select({model!r}, {requested!r})\n"
            "assert 'tensorflow' not in sys.modules\n"
            "print(setting, os.environ[kernels.ENV])")
    out = _python(code, **({kernels.ENV: user} if user is not None else {}))
    assert out.split() == [expected, "1" if expected == "on" else "0"]


def test_select_after_tensorflow_loaded_reports_what_it_runs_with():
    import tensorflow  # noqa: F401

    loaded = kernels.in_effect()
    other = "off" if loaded == "on" else "on"
    before = os.environ.get(kernels.ENV)
    setting, why = kernels.select("cyclegan", other)
    assert setting == loaded and "already loaded" in why
    assert os.environ.get(kernels.ENV) == before  # nothing changed behind TensorFlow's back
    with pytest.raises(ValueError, match="onednn='fast'"):
        kernels.select("cyclegan", "fast")


def test_in_effect_reads_what_tensorflow_loaded_with():
    for flag, name in (("0", "off"), ("1", "on")):
        code = "import tensorflow\nfrom tfgan_i2i import kernels\nprint(kernels.in_effect())"
        assert _python(code, **{kernels.ENV: flag}).split()[-1] == name


def test_train_command_picks_the_setting_prints_it_and_records_it(tmp_path):
    """`tfgan-i2i train` without any choice: the table's setting for CycleGAN, printed once, in config.json."""
    expected = kernels.FASTER_TRAINING["cyclegan"]
    logdir = tmp_path / "run"
    code = ("import sys\nfrom tfgan_i2i.cli import main\nsys.exit(main(['train', '--model', 'cyclegan', '--logdir', "
            f"{str(logdir)!r}, '--size', '32', '--ngf', '4', '--ndf', '4', '--batch-size', '1', '--epochs', '1', "
            "'--epochs-decay', '0', '--steps-per-epoch', '1', '--samples', '1', '--num-fixed', '1', '--quiet']))")
    out = _python(code)
    lines = [line for line in out.splitlines() if line.startswith("CPU kernels:")]
    assert len(lines) == 1 and f"onednn={expected}" in lines[0], out
    assert json.loads((logdir / "config.json").read_text())["onednn"] == expected
    # translate in a new process: the faster G-inference setting for the checkpoint's model, printed once
    code = ("import sys\nfrom tfgan_i2i.cli import main\nfrom tfgan_i2i import kernels\nrc = main(['translate', "
            f"'--checkpoint', {str(logdir)!r}, '--input', {os.path.join(ROOT, 'tfgan_i2i', 'sample_data')!r} + "
            f"'/facades/test/1.jpg', '--out', {str(tmp_path / 'out')!r}, '--samples', '1'])\n"
            "print('RESULT', rc, kernels.in_effect())")
    out = _python(code)
    lines = [line for line in out.splitlines() if line.startswith("CPU kernels:")]
    expected = kernels.FASTER_INFERENCE["cyclegan"]
    assert len(lines) == 1 and f"onednn={expected}" in lines[0] and "G inference" in lines[0], out
    assert out.split("RESULT", 1)[1].split() == ["0", expected]
    other = "off" if expected == "on" else "on"
    chosen = _python(code, **{kernels.ENV: kernels.flag(other)})  # the user's TF_ENABLE_ONEDNN_OPTS wins
    assert chosen.split("RESULT", 1)[1].split() == ["0", other]


def test_config_onednn_is_validated_and_recorded(tmp_path, capsys):
    from tfgan_i2i.config import ConfigError, preset

    with pytest.raises(ConfigError, match="option onednn='fast' is not one of auto, on, off"):
        preset("pix2pix", onednn="fast")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": "pix2pix", "onednn": "fast"}))
    assert main(["train", "--config", str(bad), "--logdir", str(tmp_path / "r")]) == 2
    assert "onednn='fast' is not one of auto, on, off" in capsys.readouterr().err
