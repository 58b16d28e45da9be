"""`evaluate` end to end on a tiny model, the training-time callback, and the CLI's offline error path."""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from tfgan_i2i.data import sample_dir
from tfgan_i2i.evaluate import EvaluationError, evaluate, parse_metrics
from tfgan_i2i.metrics.fid import INCEPTION_FILE


@pytest.fixture(scope="module")
def tiny_model():
    from tfgan_i2i.models import build_model

    model = build_model("pix2pix-noise", image_size=32, load_size=32, ngf=8, ndf=8, nz=4)
    model.compile()
    return model


def test_parse_metrics():
    assert parse_metrics("fid, KID,pixel_diversity") == ["fid", "kid", "pixel-diversity"]
    with pytest.raises(EvaluationError, match="unknown metric"):
        parse_metrics("fid,inception-score")


def test_evaluate_tiny_model_writes_reports(tiny_model, tmp_path):
    result = evaluate(tiny_model, sample_dir(), "pixel-diversity,ndb,jsd,lpips-random-features", "msgan",
                      out_dir=str(tmp_path), num_inputs=3, samples_per_input=3, ndb_bins=4, progress=False)
    m = result["metrics"]
    assert result["inputs"] == 3 and result["samples_per_input"] == 3
    assert m["pixel_diversity"] >= 0 and m["best_of_k_l1"] > 0
    assert 0 <= m["ndb"] <= 4 and 0 <= m["jsd"] <= np.log(2) + 1e-9
    assert m["lpips_random_features_pairs"] == 3 * 50 and "RANDOM" in m["lpips_random_features_version"]
    assert "lpips" not in m and "fid" not in m  # random networks never report under the real names
    saved = json.load(open(tmp_path / "evaluation.json"))
    assert saved["metrics"]["ndb"] == m["ndb"]
    assert "| pixel_diversity |" in open(tmp_path / "evaluation.md").read()


def test_missing_weights_fail_before_work(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    from tfgan_i2i.metrics.fid import WeightsNotFoundError
    from tfgan_i2i.metrics.lpips import LPIPSWeightsError

    with pytest.raises(WeightsNotFoundError, match=INCEPTION_FILE):
        evaluate(tiny_model, "/nonexistent", "kid")
    with pytest.raises(LPIPSWeightsError, match="convert-lpips"):
        evaluate(tiny_model, "/nonexistent", "lpips")


def test_callback_logs_pixel_diversity(tiny_model, tmp_path):
    import tensorflow as tf

    from tfgan_i2i.data import paired_arrays
    from tfgan_i2i.evaluate import EvaluationCallback

    A, B = paired_arrays(sample_dir(), "test", size=32, limit=2)
    cb = EvaluationCallback(A, B, every=1, k=3, logdir=str(tmp_path))
    ds = tf.data.Dataset.from_tensor_slices((A, B)).batch(1)
    history = tiny_model.fit(ds, epochs=1, verbose=0, callbacks=[cb])
    assert "eval_pixel_diversity" in history.history and "eval_best_of_k_l1" in history.history
    assert os.listdir(tmp_path / "eval")


def test_cli_evaluate_fid_without_weights_exits_fast(tmp_path):
    env = {**os.environ, "KERAS_HOME": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tfgan_i2i.cli", "evaluate", "--checkpoint", str(tmp_path),
                           "--metrics", "fid"], env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert proc.returncode != 0
    assert INCEPTION_FILE in proc.stderr and "--inception-weights" in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("tfgan-i2i evaluate: error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr
    assert elapsed < 60  # TensorFlow's import is the bulk of it; no model or data is loaded


@pytest.mark.slow  # the export alone takes ~15-40 s on 2 cores
def test_evaluate_exported_savedmodel(tiny_model, tmp_path):
    from tfgan_i2i.export.savedmodel import export_savedmodel

    export_savedmodel(tiny_model, str(tmp_path / "serving"))
    result = evaluate(str(tmp_path / "serving"), sample_dir(), "pixel-diversity", num_inputs=3, samples_per_input=3,
                      progress=False)
    assert result["kind"] == "savedmodel" and result["inputs"] == 3
    direct = evaluate(tiny_model, sample_dir(), "pixel-diversity", num_inputs=3, samples_per_input=3, progress=False)
    # other codes (stateless RNG) and uint8 outputs, so close but not equal; the ground-truth term matches closely
    assert result["metrics"]["best_of_k_l1"] == pytest.approx(direct["metrics"]["best_of_k_l1"], abs=0.02)
