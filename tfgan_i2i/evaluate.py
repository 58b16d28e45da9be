"""Evaluate a trained translation model in one call: FID, KID, LPIPS diversity, NDB/JSD and pixel diversity.

`evaluate(checkpoint, data_dir, metrics, protocol)` samples k outputs per test input (BicycleGAN protocol: 100 inputs x
20 codes, LPIPS over the 19 consecutive pairs; MSGAN protocol: every input x 50 codes, 50 random pairs), streams
them through the requested metrics without holding all samples, and writes evaluation.json and evaluation.md.
Metrics whose pretrained weights are missing stop the run before any work with one message naming the file.
"""
from __future__ import annotations

import json
import os
import time

import numpy as np

METRICS = ("fid", "kid", "lpips", "ndb", "jsd", "pixel-diversity")
SMOKE_METRICS = ("fid-random-features", "lpips-random-features")  # random networks: pipeline checks, NOT FID/LPIPS
PROTOCOLS = {"bicyclegan": dict(inputs=100, k=20), "msgan": dict(inputs=None, k=50)}


class EvaluationError(ValueError):
    """An evaluation option or input cannot be used; the message names it and the fix."""


def parse_metrics(metrics) -> list[str]:
    """Metric names from a comma-separated string or a list ('_' and '-' both accepted); unknown names raise."""
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    names = [m.strip().lower().replace("_", "-") for m in names if m.strip()]
    names = ["pixel-diversity" if m in ("pixel", "diversity") else m for m in names]
    unknown = [m for m in names if m not in METRICS + SMOKE_METRICS]
    if unknown or not names:
        raise EvaluationError(f"unknown metric(s) {', '.join(unknown) or '(none given)'}; choose from "
                              f"{', '.join(METRICS)} (smoke tests: {', '.join(SMOKE_METRICS)})")
    return list(dict.fromkeys(names))


DIVERSITY_METRICS = ("pixel-diversity", "lpips", "lpips-random-features")  # need k different outputs per input


def load_sampler(checkpoint: str, metrics=()):
    """(sampler, info) for a training logdir / checkpoint folder (full model) or an exported SavedModel folder.

    metrics: the metric names to compute; an export without a `sample` signature (no latent code) can still be
    scored by FID/KID/NDB/JSD from its `translate` outputs, but not by the diversity metrics.
    """
    if not os.path.isdir(checkpoint):
        what = "is a file, not a folder" if os.path.exists(checkpoint) else "does not exist"
        raise EvaluationError(f"--checkpoint {checkpoint} {what}; pass a train --logdir, its checkpoints/ "
                              "folder or an exported SavedModel folder")
    from .export.loaded import ExportedModel, savedmodel_dir

    saved = savedmodel_dir(checkpoint)
    if saved is not None:
        sampler = ExportedModel(saved)
        diversity = [m for m in metrics if m in DIVERSITY_METRICS]
        if diversity and not hasattr(sampler.loaded, "sample"):
            raise EvaluationError(f"SavedModel {saved} has no `sample` signature (a model without a latent code), "
                                  f"which --metrics {','.join(diversity)} needs to draw different outputs per "
                                  "input; evaluate its checkpoint folder instead, or choose fid, kid, ndb or jsd")
        c = sampler.config  # None for exports without config.json: direction and output channels then default
        return sampler, {"kind": "savedmodel", "path": saved, "image_size": sampler.image_size,
                         "input_nc": sampler.input_nc, "output_nc": c.output_nc if c else None,
                         "direction": c.direction if c else None, "model": c.model if c else sampler.name}
    from .training import load_for_inference

    model = load_for_inference(checkpoint)
    c = model.config
    return model, {"kind": "checkpoint", "path": checkpoint, "image_size": c.image_size, "input_nc": c.input_nc,
                   "output_nc": c.output_nc, "direction": c.direction, "model": c.model}


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    import tensorflow as tf

    return tf.image.resize(images, (size, size), method="bilinear", antialias=True).numpy()


def check_weights(names, inception_weights=None, lpips_weights=None) -> dict:
    """Fail fast: locate the weight files the requested metrics need (raises one clear error when missing)."""
    found = {}
    if {"fid", "kid"} & set(names):
        from .metrics.fid import find_inception_weights

        found["inception"] = find_inception_weights(inception_weights)
    if "lpips" in names:
        from .metrics.lpips import LPIPSWeightsError, _missing_message

        if lpips_weights is None:
            raise LPIPSWeightsError(_missing_message("--metrics lpips needs --lpips-weights"))
        if not os.path.isfile(lpips_weights):
            raise LPIPSWeightsError(_missing_message(f"--lpips-weights {lpips_weights} does not exist"))
        found["lpips"] = lpips_weights
    return found


def evaluate(checkpoint, data_dir: str, metrics=("pixel-diversity",), protocol: str = "bicyclegan",
             out_dir: str | None = None, inception_weights: str | None = None, lpips_weights: str | None = None,
             num_inputs: int | None = None, samples_per_input: int | None = None, split: str = "test",
             direction: str | None = None, ndb_bins: int = 20, ndb_size: int = 32, ndb_train_limit: int = 2000,
             kid_subset_size: int = 1000, seed: int = 0, batch_size: int = 4, progress: bool = True) -> dict:
    """Sample k outputs per test input and compute the requested metrics; write evaluation.json/.md to out_dir.

    checkpoint: a train logdir / checkpoint folder, an exported SavedModel folder, or a model object with
    `sample(images, k, seed)` and `config`. data_dir: a paired dataset (A|B files or A/ B/ folders) with `split`
    (test) and, for NDB/JSD, `train`. protocol: bicyclegan (100 inputs x 20 samples, consecutive pairs) or msgan
    (all inputs x 50 samples, 50 random pairs); num_inputs / samples_per_input override it. FID/KID compare the
    N*k samples with the N ground-truth B images; NDB/JSD bin the train B images (resized to ndb_size) with
    K = ndb_bins. Returns the result dict (also written as JSON).
    """
    from tqdm import tqdm

    names = parse_metrics(metrics)
    if protocol not in PROTOCOLS:
        raise EvaluationError(f"--protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    weights = check_weights(names, inception_weights, lpips_weights)  # before any slow work
    start = time.perf_counter()
    from .data import paired_arrays
    from .metrics import GaussianStats, InceptionFeatures, best_of_k_l1, fid_from_stats, kid, pairwise_l1
    from .metrics.lpips import LPIPS, pair_indices
    from .metrics.ndb import NDB

    if isinstance(checkpoint, (str, os.PathLike)):
        sampler, info = load_sampler(os.fspath(checkpoint), names)
    else:
        c = checkpoint.config
        sampler, info = checkpoint, {"kind": "model", "path": None, "image_size": c.image_size, "input_nc": c.input_nc,
                                     "output_nc": c.output_nc, "direction": c.direction, "model": c.model}
    direction = direction or info["direction"] or "AtoB"
    p = PROTOCOLS[protocol]
    k = samples_per_input or p["k"]
    limit = num_inputs if num_inputs is not None else p["inputs"]
    if k < 2 and ({"lpips", "lpips-random-features", "pixel-diversity"} & set(names)):
        raise EvaluationError("diversity metrics need --samples >= 2 per input")
    out_nc = info["output_nc"] or 3
    A, B = paired_arrays(data_dir, split, direction, info["image_size"], info["input_nc"], out_nc, limit=limit)
    n = len(A)

    lpips_metric = None
    if "lpips" in names:
        lpips_metric = LPIPS(weights["lpips"])
    elif "lpips-random-features" in names:
        lpips_metric = LPIPS(random_weights=True, seed=seed)
    extractor = None
    if {"fid", "kid"} & set(names):
        extractor = InceptionFeatures(weights["inception"])
    elif "fid-random-features" in names:
        extractor = InceptionFeatures(random_weights=True, seed=seed)
    ndb = None
    if {"ndb", "jsd"} & set(names):
        _, B_train = paired_arrays(data_dir, "train", direction, info["image_size"], info["input_nc"], out_nc,
                                   limit=ndb_train_limit)
        if len(B_train) < ndb_bins:
            raise EvaluationError(f"NDB with {ndb_bins} bins needs at least that many train images in {data_dir}, "
                                  f"found {len(B_train)}; lower --ndb-bins")
        ndb = NDB(_resize(B_train, ndb_size), k=ndb_bins, seed=seed)

    fake_stats = GaussianStats(keep_features="kid" in names)
    rng = np.random.default_rng(seed)
    unpaired = getattr(sampler, "unpaired", False)
    pix, best, lp, ndb_samples = [], [], [], []
    for i in tqdm(range(0, n, batch_size), desc=f"evaluate ({n} inputs x {k} samples)", unit="batch",
                  disable=not progress):
        a, b = A[i:i + batch_size], B[i:i + batch_size]
        # (batch, k, H, W, C), the same k codes per input; unpaired models translate the way `direction` says
        s = sampler.sample(a, k, seed, direction=direction) if unpaired else sampler.sample(a, k, seed)
        s = np.asarray(s, np.float32)
        if k >= 2:
            pix.append(pairwise_l1(s))
        best.append(best_of_k_l1(s, b))
        flat = s.reshape(-1, *s.shape[2:])
        if extractor is not None:
            fake_stats.update(extractor(flat))
        if lpips_metric is not None:
            for per_input in s:
                pairs = pair_indices(protocol, k, rng, 50)
                x0, x1 = zip(*pairs)
                lp.append(lpips_metric(per_input[list(x0)], per_input[list(x1)]))
        if ndb is not None:
            ndb_samples.append(_resize(flat, ndb_size))

    values: dict = {}
    if "pixel-diversity" in names:
        values["pixel_diversity"] = float(np.concatenate(pix).mean())
        values["best_of_k_l1"] = float(np.concatenate(best).mean())
    if lpips_metric is not None:
        d = np.concatenate(lp)
        key = "lpips" if "lpips" in names else "lpips_random_features"
        values.update({key: float(d.mean()), f"{key}_std": float(d.std()), f"{key}_pairs": int(len(d)),
                       f"{key}_version": lpips_metric.label})
    if extractor is not None:
        real_stats = GaussianStats(keep_features="kid" in names)
        real_stats.update(extractor(B))
        if "fid" in names:
            values["fid"] = fid_from_stats(real_stats, fake_stats)
        if "kid" in names:
            values["kid"], values["kid_std"] = kid(real_stats.all_features(), fake_stats.all_features(),
                                                   subset_size=kid_subset_size, seed=seed)
        if "fid-random-features" in names and "fid" not in names:
            values["fid_random_features"] = fid_from_stats(real_stats, fake_stats)
        values["fid_real_images"], values["fid_fake_images"] = real_stats.n, fake_stats.n
    if ndb is not None:
        r = ndb.evaluate(np.concatenate(ndb_samples))
        if "ndb" in names:
            values.update(ndb=r["ndb"], ndb_fraction=r["ndb_fraction"], ndb_bins=r["k"])
        if "jsd" in names:
            values["jsd"] = r["jsd"]
        # the same test on the real test B images: what a perfect generator would score with this few images
        real = ndb.evaluate(_resize(B, ndb_size))
        values.update(ndb_real_test=real["ndb"], jsd_real_test=real["jsd"])

    result = {
        "model": info["model"], "checkpoint": info["path"], "kind": info["kind"], "data": data_dir, "split": split,
        "direction": direction, "image_size": info["image_size"], "protocol": protocol, "inputs": n,
        "samples_per_input": k, "seed": seed, "ndb_size": ndb_size, "metrics": values, "seconds": round(time.perf_counter() - start, 2),
        "weights": weights,
    }
    if out_dir:
        write_report(result, out_dir)
    return result


def markdown_report(result: dict) -> str:
    """A Markdown table of one evaluation result."""
    lines = [f"# Evaluation of {result['model']}", "",
             f"Data `{result['data']}` ({result['split']}, {result['direction']}), protocol **{result['protocol']}**: "
             f"{result['inputs']} inputs x {result['samples_per_input']} samples, seed {result['seed']}, "
             f"{result['image_size']} px; {result['seconds']} s.", "", "| metric | value |", "|---|---|"]
    for name, value in result["metrics"].items():
        lines.append(f"| {name} | {value:.4f} |" if isinstance(value, float) else f"| {name} | {value} |")
    notes = {
        "pixel_diversity": "mean |s_i - s_j| over all sample pairs of an input, averaged over inputs ([-1, 1] scale)",
        "best_of_k_l1": "min over an input's k samples of mean |s_j - B|, averaged over inputs",
        "lpips": "mean LPIPS over the protocol's sample pairs (net and version in lpips_version)",
        "fid": "Keras ImageNet Inception-v3 pool features of the N*k samples vs the N ground-truth B images",
        "kid": "unbiased polynomial-kernel MMD^2 on the same features",
        "ndb": f"K-means bins of the train B images at {result.get('ndb_size', 32)} px, two-proportion z-tests at "
               "alpha 0.05",
        "jsd": "Jensen-Shannon divergence (natural log) of the bin proportions",
        "ndb_real_test": "NDB of the N real test B images against the same bins (reference; fewer images, so "
                         "fewer significant bins and a noisier JSD)",
    }
    used = [f"- {k}: {v}" for k, v in notes.items() if k in result["metrics"]]
    if used:
        lines += [""] + used
    if any(k.endswith("random_features") for k in result["metrics"]):
        lines += ["", "*random_features* values come from randomly initialised networks: pipeline checks only, "
                      "not FID or LPIPS."]
    return "\n".join(lines) + "\n"


def write_report(result: dict, out_dir: str) -> tuple[str, str]:
    """Write evaluation.json and evaluation.md into out_dir; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = os.path.join(out_dir, "evaluation.json"), os.path.join(out_dir, "evaluation.md")
    with open(paths[0], "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    with open(paths[1], "w", encoding="utf-8") as f:
        f.write(markdown_report(result))
    return paths


def __getattr__(name):
    if name == "EvaluationCallback":  # imported on use: keeps `import tfgan_i2i.evaluate` free of keras
        from .metrics.callback import EvaluationCallback

        return EvaluationCallback
    raise AttributeError(name)


__all__ = ["evaluate", "parse_metrics", "check_weights", "load_sampler", "markdown_report", "DIVERSITY_METRICS",
           "write_report", "EvaluationCallback", "EvaluationError", "METRICS", "PROTOCOLS"]
