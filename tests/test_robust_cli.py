"""The `tfgan-i2i` command under bad input: TensorFlow's log noise hidden unless --verbose, one-line errors with exit
status 2 (never a traceback) for random option combinations, and --paired refusing a file that is not an A|B pair."""
import argparse
import contextlib
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tfgan_i2i.cli import EXPORT_FORMATS, build_parser, main, shipped_model_dir
from tfgan_i2i.data import sample_dir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What TensorFlow's C++ side prints on import and first run (banners, INFO/WARNING/ERROR lines of absl logging).
TF_NOISE = ("oneDNN", "I0000", "W0000", "E0000", "cpu_feature_guard", "absl::InitializeLog")


def _cli(*args, env_extra=None):
    """Start the real command in a fresh Python (TensorFlow not loaded yet), without the test suite's log level."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])
    env.update(env_extra or {})
    return subprocess.Popen([sys.executable, "-m", "tfgan_i2i.cli", *args], env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _noise(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if any(word in line for word in TF_NOISE)]


def test_tensorflow_log_lines_hidden_by_default_shown_with_verbose_or_the_users_level(tmp_path):
    """A real translation with the shipped model: silent stderr by default; --verbose or TF_CPP_MIN_LOG_LEVEL=0
    (the user's own setting wins) shows TensorFlow's lines."""
    if not os.path.isdir(shipped_model_dir()):
        pytest.fail(f"the shipped model {shipped_model_dir()} is missing from this checkout")
    image = os.path.join(sample_dir(), "test", sorted(os.listdir(os.path.join(sample_dir(), "test")))[0])
    common = ["--input", image, "--samples", "1", "--paired"]
    runs = {"default": _cli("translate", *common, "--out", str(tmp_path / "a")),
            "verbose": _cli("--verbose", "translate", *common, "--out", str(tmp_path / "b")),
            "user level": _cli("translate", *common, "--out", str(tmp_path / "c"),
                               env_extra={"TF_CPP_MIN_LOG_LEVEL": "0"})}
    results = {name: proc.communicate(timeout=240) for name, proc in runs.items()}
    for name, proc in runs.items():
        assert proc.returncode == 0, f"{name}: {results[name][1][-2000:]}"
    _, err = results["default"]
    assert _noise(err) == [], err
    assert "Traceback" not in err
    for name in ("verbose", "user level"):
        err = results[name][1]
        assert any("oneDNN" in line for line in _noise(err)), err
        assert any("cpu_feature_guard" in line for line in _noise(err)), err


def test_user_error_is_one_line_and_quiet_in_a_fresh_process(tmp_path):
    """An error the user can fix, from a fresh process: exit 2, one stderr line, no TensorFlow noise."""
    proc = _cli("translate", "--checkpoint", str(tmp_path / "nope"), "--input", "x.png", "--out", str(tmp_path))
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tfgan-i2i translate: error: checkpoint directory"), err


def test_verbose_flag_before_or_after_the_command():
    parser = build_parser()
    tail = ["--input", "x", "--out", "y"]
    assert parser.parse_args(["--verbose", "translate", *tail]).verbose
    assert parser.parse_args(["translate", *tail, "--verbose"]).verbose
    assert not parser.parse_args(["translate", *tail]).verbose


def test_building_the_parser_does_not_import_tensorflow():
    code = "import sys; from tfgan_i2i.cli import build_parser; build_parser(); print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_export_formats_named_in_the_cli_match_the_exporter():
    from tfgan_i2i.export.bundle import FORMATS

    assert EXPORT_FORMATS == FORMATS


# --- translate --paired -------------------------------------------------------------------------------------------
def test_paired_refuses_an_image_that_is_not_an_a_b_pair(tmp_path, capsys):
    """width != 2 x height with --paired: refused with one line naming the file, never silently split."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    Image.fromarray(np.zeros((128, 256, 3), np.uint8)).save(folder / "a_pair.png")
    Image.fromarray(np.zeros((128, 200, 3), np.uint8)).save(folder / "not_a_pair.png")
    code = main(["translate", "--input", str(folder), "--out", str(tmp_path / "out"), "--paired", "--samples", "1"])
    assert code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(lines) == 1, lines
    assert str(folder / "not_a_pair.png") in lines[0] and "200x128" in lines[0] and "--paired" in lines[0]
    assert main(["translate", "--input", str(folder / "not_a_pair.png"), "--out", str(tmp_path / "whole"),
                 "--samples", "1"]) == 0  # without --paired the same file is translated whole


# --- fuzz: random option combinations -------------------------------------------------------------------------------
def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[command]


def _options(command: str) -> list[argparse.Action]:
    return [a for a in _subparser(command)._actions if a.option_strings]


COMMANDS = ("train", "translate", "evaluate")
OPTIONS = {command: _options(command) for command in COMMANDS}
NUMBERS = ["-1", "0", "1", "2", "3", "16", "33", "1000000", "99999999999999999999", "0.5", "-7.5", "1e400", "nan",
           "-inf"]
BAD_NUMBERS = [*NUMBERS, "abc", "", "0x10"]
BAD_NAMES = ["AtoB", "BtoX", "unet", "UNET", "pix2pix", "resnet9", "none", "lsgan", "fid,nope", "tflite,foo"]


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    """Files and folders the fuzz points options at; none of them lets a command do real work."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "empty").mkdir()
    (root / "text.png").write_text("not an image")
    (root / "bad.json").write_text("{model: ")
    (root / "unknown.json").write_text('{"model": "nope"}')
    (root / "ok.json").write_text('{"model": "pix2pix", "image_size": 32, "ngf": 4, "ndf": 4}')
    Image.fromarray(np.zeros((8, 16, 3), np.uint8)).save(root / "small.png")
    return {"root": root, "empty": str(root / "empty"), "missing": str(root / "missing" / "x"),
            "values": [str(root / n) for n in ("empty", "missing", "text.png", "bad.json", "unknown.json", "ok.json",
                                               "small.png")]}


def _value(action: argparse.Action, paths) -> st.SearchStrategy:
    """Random values for one option: bad numbers, wrong names, its own choices, files that are wrong for it."""
    if action.nargs == 0:
        return st.none()
    anything = st.sampled_from(BAD_NUMBERS + BAD_NAMES + paths["values"])
    if action.choices:
        # multi-worker needs a fresh process (collective ops are configured at TensorFlow start-up, and this test
        # shares its process with others), so in-process it is replaced by a wrong name
        own = [str(c) for c in action.choices if c != "multi-worker"]
        return st.one_of(st.sampled_from(own), anything)
    if action.type is not None:  # mostly numbers of the right kind, so runs get past argparse to the command
        return st.one_of(st.sampled_from(NUMBERS), anything)
    return anything


def _argv(command: str, paths):
    """A strategy of argv lists: fixed arguments that stop before real work, then up to 5 random options."""
    base = {  # no default dataset or shipped model: an empty data folder and checkpoint make every run fail fast
        "train": ["--data", paths["empty"], "--logdir", str(paths["root"] / "logs")],
        "translate": ["--checkpoint", paths["empty"], "--input", paths["values"][-1], "--out",
                      str(paths["root"] / "out")],
        "evaluate": ["--checkpoint", paths["empty"], "--data", paths["empty"], "--out", str(paths["root"] / "ev")],
    }[command]
    option = st.sampled_from(OPTIONS[command]).flatmap(
        lambda a: st.tuples(st.sampled_from(a.option_strings), _value(a, paths)))
    return st.lists(option, max_size=5).map(
        lambda pairs: [command, *base, *[x for name, value in pairs for x in (name, value) if x is not None]])


def _run(argv) -> tuple[int, str]:
    """main(argv) in this process: (exit status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own exit (usage errors, --help)
            code = e.code
    return code, err.getvalue()


FUZZ_SEEN: dict[str, int] = {}


@pytest.mark.parametrize("command", COMMANDS)
def test_random_options_exit_0_or_2_with_one_error_line(command, paths, monkeypatch):
    """Every combination of options ends with exit 0, or exit 2 and exactly one error line; never a traceback."""
    monkeypatch.chdir(paths["root"])  # relative values ("abc", "") name nothing real
    seen = FUZZ_SEEN.setdefault(command, {"runs": 0, "exit 0": 0, "usage error": 0, "command error": 0})

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(argv=_argv(command, paths))
    def check(argv):
        code, err = _run(argv)
        seen["runs"] += 1
        assert "Traceback" not in err, (argv, err)
        assert code in (0, 2), (argv, code, err)
        if code == 2:
            errors = [line for line in err.splitlines() if "error" in line.lower()]
            assert len(errors) == 1, (argv, err)
        seen["exit 0" if code == 0 else "usage error" if "usage:" in err else "command error"] += 1

    check()
    assert seen["command error"] > 0  # some combinations got past argparse into the command
    print(f"fuzz {command}: {seen}")
