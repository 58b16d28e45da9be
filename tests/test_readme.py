"""The README's promises: its Python example runs as written, and its demo config is valid."""
import os
import re

import numpy as np

from tfgan_i2i.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_python_blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


def test_library_example_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it writes runs/lib/...
    namespace = {}
    exec(compile(readme_python_blocks()[0], "README.md", "exec"), namespace)
    assert np.asarray(namespace["samples"]).shape == (4, 5, 32, 32, 3)
    assert os.path.isfile(tmp_path / "runs/lib/samples/latest.png")
    assert os.path.isfile(tmp_path / "runs/lib/checkpoints/checkpoint")


def test_shipped_configs_load():
    for name in os.listdir(os.path.join(ROOT, "configs")):
        config = Config.load(os.path.join(ROOT, "configs", name))
        assert config.model == "bicyclegan" and config.direction == "BtoA"
