"""Evidence for the audio app: violin <-> piano translations scored against the true renderings, per representation.

Data: ../shared/data/violin_piano_midi, where piano/NAME.wav and violin/NAME.wav render the same melody (time
aligned). The last --test melodies by sorted name are held out; the model trains on the other melodies as two
UNPAIRED domains (each domain cropped and shuffled on its own, so no pair is ever seen together). For each
representation (raw phase, instantaneous frequency, magnitude + Griffin-Lim) the app's model trains for --steps
steps (resumable: one logdir per representation under OUT/ckpt/), then every held-out violin file is translated to
piano and every piano file to violin with the chunked `translate_wave`, and scored against the true rendering of
the target instrument:
  * LSD: log-spectral distance in dB (lower is better), SC: spectral convergence (lower is better), both on a
    1024/256 STFT magnitude that is the same for every representation;
  * baseline: the same scores for the untranslated input (the violin file scored as if it were the piano);
  * inverse SNR: to_image -> from_image of the test files alone, whole file and through the chunked, cross-faded
    path with an identity model (what the inverse transform costs before any model touches the sound).
Writes OUT/results.json, OUT/results.md and the translated test files OUT/wavs/REPRESENTATION/NAME.{violin_to_piano,
piano_to_violin}.wav. A rerun resumes training where it stopped and re-scores; results of representations not
run this time are kept.

  python -m bench.audio_evidence --steps 3000 --out bench/results/audio            # the README run
  python -m bench.audio_evidence --steps 2 --epoch-steps 1 --frame-length 64 --frame-step 16 --ngf 8 --ndf 8 \
      --ntf 8 --n-res 1 --out /tmp/audio_smoke                                      # a smoke test in minutes
  python -m bench.audio_evidence --report-only --out bench/results/audio           # re-render results.md
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from apps.audio_translation.model import AudioTranslator, audio_config
from apps.audio_translation.training import monitor_clips, train_audio
from tfgan_i2i.audio import (REPRESENTATIONS, SpectrogramConfig, from_image, log_spectral_distance, read_audio, snr_db,
                             spectral_convergence, to_image, translate_wave, write_audio)

DEFAULT_DATA = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                                             "violin_piano_midi"))
# The scores' STFT: fixed, so every representation is measured with the same ruler.
METRIC_SPEC = SpectrogramConfig(frame_length=1024, frame_step=256)
DIRECTIONS = {"violin_to_piano": ("violin", "piano"), "piano_to_violin": ("piano", "violin")}


def melody_split(data: str, n_test: int) -> tuple[list[str], list[str]]:
    """(train names, test names): melodies rendered for both instruments, the last n_test by sorted name held out."""
    names = [sorted(os.path.splitext(f)[0] for f in os.listdir(os.path.join(data, d)) if f.endswith(".wav"))
             for d in ("violin", "piano")]
    common = sorted(set(names[0]) & set(names[1]))
    if len(common) <= n_test:
        raise SystemExit(f"{data} has {len(common)} melodies rendered for both instruments; need more than "
                         f"--test {n_test}")
    return common[:-n_test], common[-n_test:]


def wav(data: str, instrument: str, name: str) -> str:
    """Path of one rendering."""
    return os.path.join(data, instrument, f"{name}.wav")


def _score(reference, estimate) -> dict:
    """LSD (dB) and SC of `estimate` against `reference` on the fixed metric STFT."""
    return {"lsd_db": log_spectral_distance(reference, estimate, METRIC_SPEC),
            "sc": spectral_convergence(reference, estimate, METRIC_SPEC)}


def inverse_only(waves: dict, spec: SpectrogramConfig, chunk_frames: int, gl_iters: int) -> dict:
    """SNR (dB) and SC of the inverse transform alone on each test wave: whole file and chunked identity."""
    out = {}
    for key, wave in waves.items():
        whole = from_image(to_image(wave, spec), spec, len(wave), griffin_lim_iters=gl_iters).numpy()
        chunked = translate_wave(wave, lambda images: images, spec, chunk_frames, griffin_lim_iters=gl_iters)
        out[key] = {"whole_snr_db": snr_db(wave, whole), "chunked_snr_db": snr_db(wave, chunked),
                    "whole_sc": spectral_convergence(wave, whole, METRIC_SPEC)}
    return out


def _mean(rows, key):
    """Mean of rows[*][key] (None when there are no rows)."""
    values = [r[key] for r in rows]
    return float(np.mean(values)) if values else None


def run_representation(rep: str, args, train_names, test_names, waves) -> dict:
    """Train (resuming) and score one representation; returns its result dict."""
    spec = SpectrogramConfig(frame_length=args.frame_length, frame_step=args.frame_step, representation=rep)
    epoch_steps = min(args.epoch_steps, args.steps)
    epochs = math.ceil(args.steps / epoch_steps)
    overrides = dict(ngf=args.ngf, ndf=args.ndf, ntf=args.ntf, n_res=args.n_res, batch_size=args.batch_size,
                     seed=args.seed, epochs=epochs, epochs_decay=0)
    if args.lr is not None:
        overrides["lr"] = args.lr
    config = audio_config(spec, args.model, **overrides)
    logdir = os.path.join(args.out, "ckpt", rep)
    os.makedirs(logdir, exist_ok=True)
    timing_path = os.path.join(logdir, "timing.json")
    timing = {"train_seconds": 0.0}
    if os.path.isfile(timing_path):
        with open(timing_path) as f:
            timing = json.load(f)

    violin_files = [wav(args.data, "violin", n) for n in train_names]
    piano_files = [wav(args.data, "piano", n) for n in train_names]
    clips = monitor_clips(wav(args.data, "violin", test_names[0]), wav(args.data, "piano", test_names[0]), config,
                          args.monitor_seconds)
    print(f"[{rep}] training {args.model} {config.image_size}x{config.image_size}x{spec.channels}, {epochs} x "
          f"{epoch_steps} steps -> {logdir}", flush=True)
    start = time.perf_counter()
    model, _ = train_audio(config, violin_files, piano_files, logdir, epochs=epochs, steps_per_epoch=epoch_steps,
                           verbose=2, monitor=clips)
    timing["train_seconds"] += time.perf_counter() - start  # summed over resumed runs
    with open(timing_path, "w") as f:
        json.dump(timing, f)

    translator = AudioTranslator.from_model(model, source=logdir)
    out_dir = os.path.join(args.out, "wavs", rep)
    files, start = [], time.perf_counter()
    for name in test_names:
        for direction, (source, target) in DIRECTIONS.items():
            translated = translator.translate(waves[name, source], target, griffin_lim_iters=args.griffin_lim_iters)
            write_audio(os.path.join(out_dir, f"{name}.{direction}.wav"), translated, spec.sample_rate)
            files.append({"name": name, "direction": direction, **_score(waves[name, target], translated)})
    translate_seconds = time.perf_counter() - start
    inverse = inverse_only({f"{n}/{i}": waves[n, i] for n, i in waves}, spec, config.image_size,
                           args.griffin_lim_iters)
    summary = {d: {k: _mean([f for f in files if f["direction"] == d], k) for k in ("lsd_db", "sc")}
               for d in DIRECTIONS}
    return {
        "representation": rep, "steps": epochs * epoch_steps, "train_seconds": timing["train_seconds"],
        "translate_seconds": translate_seconds, "summary": summary, "files": files,
        "inverse": inverse,
        "inverse_mean": {k: _mean(list(inverse.values()), k) for k in ("whole_snr_db", "chunked_snr_db", "whole_sc")},
        "params": int(sum(np.prod(v.shape) for v in model.trainable_variables)),
        "config": {k: getattr(config, k) for k in ("model", "image_size", "input_nc", "ngf", "ndf", "ntf", "n_res",
                                                    "num_D", "d_layers", "batch_size", "lr", "lambda_gan",
                                                    "lambda_recon", "lambda_kl", "lambda_cycle", "lambda_cycle_kl")},
        "spectrogram": config.extra["audio"],
    }


def baseline_scores(test_names, waves) -> dict:
    """The untranslated input scored against the target rendering, per direction (mean over test melodies)."""
    rows = {d: [_score(waves[n, target], waves[n, source]) for n in test_names]
            for d, (source, target) in DIRECTIONS.items()}
    return {d: {k: _mean(r, k) for k in ("lsd_db", "sc")} for d, r in rows.items()}


def _fmt(value, digits=2):
    return "n/a" if value is None else f"{value:.{digits}f}"


def write_report(out: str, report: dict) -> None:
    """OUT/results.json and OUT/results.md from the report dict."""
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(report, f, indent=2)
    meta, base = report["meta"], report["baseline"]
    results = [report["results"][r] for r in report["order"] if r in report["results"]]
    lines = [
        "# Audio evidence: violin <-> piano on the rendered pairs, held out by melody",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']}; TensorFlow {meta['tensorflow']}, Keras {meta['keras']}, Python {meta['python']}; "
        f"TF threads intra-op {meta['threads']['intra']}, inter-op {meta['threads']['inter']} on a shared CPU.",
        "",
        f"Train melodies ({len(meta['train'])}, as unpaired domains): {', '.join(meta['train'])}. "
        f"Test melodies: {', '.join(meta['test'])}. Model: {meta['model']}, batch {meta['batch_size']}. "
        f"Scores on a {METRIC_SPEC.frame_length}/{METRIC_SPEC.frame_step} STFT magnitude (same for every "
        "representation), mean over the test melodies; LSD in dB and SC, lower is better. The baseline row is the "
        "untranslated input scored against the target instrument's rendering.",
        "",
        "| representation | steps | train wall (s) | violin->piano LSD | violin->piano SC | piano->violin LSD | "
        "piano->violin SC | inverse SNR whole (dB) | inverse SNR chunked (dB) | inverse SC whole |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| baseline (input unchanged) | - | - | {_fmt(base['violin_to_piano']['lsd_db'])} | "
        f"{_fmt(base['violin_to_piano']['sc'], 3)} | {_fmt(base['piano_to_violin']['lsd_db'])} | "
        f"{_fmt(base['piano_to_violin']['sc'], 3)} | - | - | - |",
    ]
    for r in results:
        s, inv = r["summary"], r["inverse_mean"]
        lines.append(
            f"| {r['representation']} | {r['steps']} | {r['train_seconds']:.0f} | "
            f"{_fmt(s['violin_to_piano']['lsd_db'])} | "
            f"{_fmt(s['violin_to_piano']['sc'], 3)} | {_fmt(s['piano_to_violin']['lsd_db'])} | "
            f"{_fmt(s['piano_to_violin']['sc'], 3)} | {_fmt(inv['whole_snr_db'], 1)} | "
            f"{_fmt(inv['chunked_snr_db'], 1)} | {_fmt(inv['whole_sc'], 3)} |")
    if any(r.get("command") != meta["command"] for r in results):
        lines += ["", "Rows from earlier invocations (results of representations not rerun are kept):", ""]
        lines += [f"- {r['representation']}: `{r.get('command')}` ({r.get('date')})" for r in results]
    lines += ["", "Per test file:", "", "| representation | melody | direction | LSD (dB) | SC |",
              "|---|---|---|---|---|"]
    for r in results:
        lines += [f"| {r['representation']} | {f['name']} | {f['direction']} | {_fmt(f['lsd_db'])} | "
                  f"{_fmt(f['sc'], 3)} |" for f in r["files"]]
    lines += ["", "Inverse SNR is of to_image -> from_image alone (no model); magnitude-only images are inverted "
              "with Griffin-Lim, whose phase differs from the original, so its SNR is low by construction and its "
              "spectral convergence is the figure to read.",
              "", "Translated test files: " + ", ".join(f"`wavs/{r['representation']}/`" for r in results) + "."]
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    """Parse options, train and score each representation, and write the report."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=DEFAULT_DATA, help="violin_piano_midi folder (violin/, piano/)")
    p.add_argument("--representations", default="phase,if,magnitude")
    p.add_argument("--model", choices=("avb-gtn", "unit"), default="avb-gtn")
    p.add_argument("--steps", type=int, default=3000, help="training steps per representation")
    p.add_argument("--epoch-steps", type=int, default=100, help="steps between checkpoints and TensorBoard clips")
    p.add_argument("--test", type=int, default=2, help="melodies held out (the last by sorted name)")
    p.add_argument("--frame-length", type=int, default=256, help="64 gives 32x32 images for a smoke test")
    p.add_argument("--frame-step", type=int, default=64)
    p.add_argument("--ngf", type=int, default=32)
    p.add_argument("--ndf", type=int, default=32)
    p.add_argument("--ntf", type=int, default=32)
    p.add_argument("--n-res", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--lr", type=float, default=None, help="default: the preset's")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--griffin-lim-iters", type=int, default=32)
    p.add_argument("--monitor-seconds", type=float, default=2.0, help="TensorBoard clip length")
    p.add_argument("--out", default="bench/results/audio")
    p.add_argument("--report-only", action="store_true", help="re-render results.md from results.json")
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    results_path = os.path.join(args.out, "results.json")
    previous = {}
    if os.path.isfile(results_path):
        with open(results_path) as f:
            previous = json.load(f)
    if args.report_only:
        if not previous:
            raise SystemExit(f"--report-only: no {results_path} yet; run without --report-only first")
        write_report(args.out, previous)
        return 0

    reps = [r.strip() for r in args.representations.split(",") if r.strip()]
    unknown = [r for r in reps if r not in REPRESENTATIONS]
    if unknown or not reps:
        raise SystemExit(f"--representations {args.representations!r}: choose from {', '.join(REPRESENTATIONS)}")
    train_names, test_names = melody_split(args.data, args.test)
    waves = {(n, i): read_audio(wav(args.data, i, n)) for n in test_names for i in ("violin", "piano")}
    results = dict(previous.get("results", {}))
    command = "python -m bench.audio_evidence " + shlex.join(argv)
    for rep in reps:
        results[rep] = run_representation(rep, args, train_names, test_names, waves)
        # rows kept from earlier invocations keep their own command and date
        results[rep].update(command=command, date=datetime.datetime.now().isoformat(timespec="seconds"))
    report = {
        "meta": {
            "command": command,
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version(),
            "threads": {"intra": os.environ.get("TF_NUM_INTRAOP_THREADS", "default"),
                        "inter": os.environ.get("TF_NUM_INTEROP_THREADS", "default")},
            "train": train_names, "test": test_names, "model": args.model, "batch_size": args.batch_size,
            "args": vars(args),
        },
        "baseline": baseline_scores(test_names, waves),
        "order": sorted(results, key=lambda r: (REPRESENTATIONS.index(r) if r in REPRESENTATIONS else 9, r)),
        "results": results,
    }
    write_report(args.out, report)
    with open(os.path.join(args.out, "results.md")) as f:
        print(f.read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
