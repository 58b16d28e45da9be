"""Shared machinery of the claim experiments (bench/claim_*.py): arms x seeds, resumable, with provenance.

A claim compares arms (a preset plus the one change under test) over several seeds. Every run (arm, seed) trains
through `tfgan_i2i.training.train` into RUNS/<arm>-s<seed>/ with one epoch = `eval_every` steps, so the
library's own checkpoints (networks, optimizers, pools, seed streams, data position) make an interrupted run resume
exactly. After every epoch the claim's `curve_fn(model)` is evaluated and appended to curve.json; when the run has
all its steps, `final_fn(model, run_dir)` measures it on the full test split and row.json is written. A rerun skips
runs with a row, continues the others, and never trains one run in two processes at once (a lock file holding
the owner's pid). Reports are rebuilt from whatever rows exist, so two processes may share a claim's folder
(e.g. one per arm, each with one thread) and the report is complete when the last row lands.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np

import tfgan_i2i  # noqa: F401  (first: it sets TensorFlow's kernel options before TensorFlow loads)

FACADES = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "facades"))


@dataclass(frozen=True)
class Arm:
    """One arm of a claim: a preset and the options changed from it (the thing under test)."""

    name: str
    preset: str
    overrides: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Setup:
    """What every arm of a claim shares: data, size, network width, steps, evaluation interval, seeds."""

    data: str
    size: int
    width: int
    steps: int
    eval_every: int
    seeds: tuple
    shared: tuple = ()  # (option, value) pairs every arm gets, e.g. (("direction", "BtoA"), ("batch_size", 2))

    @property
    def epochs(self) -> int:
        return self.steps // self.eval_every


def write_json(path: str, obj) -> None:
    """Write JSON atomically (a kill mid-write leaves the previous file)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def read_json(path: str, default=None):
    if not os.path.isfile(path):
        return default
    with open(path) as f:
        return json.load(f)


def git_commit() -> str:
    """HEAD of the repository this script runs from, with '-dirty' when tracked files differ from it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        return subprocess.run(["git", "-C", root, "describe", "--always", "--dirty", "--abbrev=40"],
                              capture_output=True, text=True, timeout=30).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def command() -> str:
    """This process's command line as `python -m module args` (or the script path when not run with -m)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    head = ["python", "-m", spec.name] if spec is not None and spec.name else ["python", sys.argv[0]]
    return " ".join(head + sys.argv[1:])


def set_threads(n: int) -> None:
    """TensorFlow intra-op threads n, inter-op 1 (before any TensorFlow op runs)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def add_options(p, out: str, runs: str, width: int, steps: int, eval_every: int, data_help: str) -> None:
    """The options every claim script has; a claim family's scripts share `runs`, so their defaults must agree."""
    p.add_argument("--data", default=FACADES, help=data_help)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--width", type=int, default=width, help="ngf = ndf = nef = ntf of every arm")
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--eval-every", type=int, default=eval_every)
    p.add_argument("--log-images", type=int, default=32, help="test images measured every --eval-every steps")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--arms", nargs="+", help="train only these arms (e.g. one per process); the report has all")
    p.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    p.add_argument("--runs", default=runs, help="folder of the runs (shared by the claims of one family)")
    p.add_argument("--out", default=out, help="folder of this claim's report")
    p.add_argument("--report-only", action="store_true", help="rewrite the report from the finished runs")


def arm_config(arm: Arm, seed: int, setup: Setup):
    """The arm's preset at setup's size and width (ngf = ndf = nef = ntf = width), seeded; linear schedules decay
    over the second half of the run (pix2pix / CycleGAN style), constant ones stay constant."""
    from tfgan_i2i.config import preset

    half = setup.epochs // 2
    shared = dict(image_size=setup.size, ngf=setup.width, ndf=setup.width, nef=setup.width, ntf=setup.width,
                  seed=seed, epochs=half, epochs_decay=setup.epochs - half)
    shared.update(dict(setup.shared))
    return preset(arm.preset, **{**shared, **arm.overrides})


def run_name(arm: Arm, seed: int) -> str:
    return f"{arm.name}-s{seed}"


class _Lock:
    """run_dir/lock holding this process's pid; a lock whose pid is gone is taken over."""

    def __init__(self, run_dir: str):
        self.path = os.path.join(run_dir, "lock")
        self.held = False

    def acquire(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(open(self.path).read().strip() or 0)
                os.kill(pid, 0)
                return False  # another live process trains this run
            except (ValueError, ProcessLookupError):
                os.remove(self.path)
                return self.acquire()
            except PermissionError:
                return False
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        self.held = True
        return True

    def release(self) -> None:
        if self.held and os.path.exists(self.path):
            os.remove(self.path)
        self.held = False


def _curve_callback(run_dir: str, setup: Setup, curve_fn):
    """Keras callback: curve_fn(model) after every epoch into run_dir/curve.json (keyed by step), with the epoch's
    training seconds; on (re)start it also measures the starting point if the curve lacks it (step 0, or the
    restored checkpoint's step after a kill between the checkpoint and the curve write)."""
    import keras

    from tfgan_i2i.training.callbacks import read_checkpoint_epoch

    path = os.path.join(run_dir, "curve.json")

    class Curve(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.state = read_json(path, {"points": [], "sessions": []})
            start = read_checkpoint_epoch(os.path.join(run_dir, "checkpoints")) * setup.eval_every
            self.state["sessions"].append({"commit": git_commit(), "from_step": start, "command": command(),
                                           "date": time.strftime("%Y-%m-%d %H:%M:%S")})
            if all(p["step"] != start for p in self.state["points"]):
                self._add(start, 0.0)
            write_json(path, self.state)

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            train_s = time.perf_counter() - self.t0
            self._add((epoch + 1) * setup.eval_every, train_s, logs)
            write_json(path, self.state)

        def _add(self, step, train_s, logs=None):
            t = time.perf_counter()
            point = {"step": step, "train_s": train_s, **curve_fn(self.model)}
            point["eval_s"] = time.perf_counter() - t
            if logs:
                point["losses"] = {k: float(v) for k, v in logs.items() if np.isscalar(v) or np.size(v) == 1}
            self.state["points"] = [p for p in self.state["points"] if p["step"] != step] + [point]
            self.state["points"].sort(key=lambda p: p["step"])
            print(f"[{os.path.basename(run_dir)}] step {step}/{setup.steps} "
                  + " ".join(f"{k} {v:.4f}" for k, v in point.items() if isinstance(v, float) and k.endswith("l1")),
                  flush=True)

    return Curve()


def run(arm: Arm, seed: int, setup: Setup, out: str, curve_fn, final_fn) -> dict | None:
    """Train (or resume) one run and return its row; None when another live process holds it."""
    from tfgan_i2i.training import train

    run_dir = os.path.join(out, run_name(arm, seed))
    row_path = os.path.join(run_dir, "row.json")
    recorded = read_json(os.path.join(run_dir, "setup.json"))
    mine = {k: v for k, v in vars(setup).items() if k not in ("seeds", "data")}
    mine["shared"] = [list(kv) for kv in setup.shared]
    if recorded is not None and recorded != mine:
        changed = ", ".join(k for k in mine if recorded.get(k) != mine[k])
        raise SystemExit(f"{run_dir} was run with other options ({changed}: {recorded}); rerun with those "
                         "options or give another runs folder")
    row = read_json(row_path)
    if row is not None:
        return row
    os.makedirs(run_dir, exist_ok=True)
    write_json(os.path.join(run_dir, "setup.json"), mine)
    lock = _Lock(run_dir)
    if not lock.acquire():
        print(f"[{run_name(arm, seed)}] another process is training it: skipped", flush=True)
        return None
    try:
        config = arm_config(arm, seed, setup)
        model, _ = train(config, setup.data, run_dir, epochs=setup.epochs, steps_per_epoch=setup.eval_every,
                         verbose=0, callbacks=[_curve_callback(run_dir, setup, curve_fn)])
        curve = read_json(os.path.join(run_dir, "curve.json"))
        points = [p for p in curve["points"] if p["step"] > 0]
        per_step = [p["train_s"] / setup.eval_every for p in points[1:]]  # the first epoch includes tracing
        row = {
            "arm": arm.name, "preset": arm.preset, "overrides": arm.overrides, "seed": seed, "steps": setup.steps,
            "batch_size": config.batch_size, "final": final_fn(model, run_dir),
            "curve": [{k: v for k, v in p.items() if k != "losses"} for p in curve["points"]],
            "final_losses": points[-1].get("losses") if points else None,
            "train_seconds": sum(p["train_s"] for p in points),
            "eval_seconds": sum(p["eval_s"] for p in curve["points"]),
            "s_per_step": statistics.median(per_step) if per_step else None,
            "sessions": curve["sessions"],
            "params": {k: int(sum(np.prod(v.shape) for v in net.trainable_variables)) for k, net in model.nets.items()},
        }
        write_json(row_path, row)
        return row
    finally:
        lock.release()


def run_all(arms, setup: Setup, out: str, curve_fn, final_fn, only_arms=None) -> None:
    """Every (arm, seed) in seed-major order (so early stops leave whole seeds), skipping finished ones."""
    for seed in setup.seeds:
        for arm in arms:
            if only_arms and arm.name not in only_arms:
                continue
            run(arm, seed, setup, out, curve_fn, final_fn)


def run_claim(args, arms, setup: Setup, fns, write_report) -> None:
    """A claim script's main: train every (arm, seed) unless --report-only (fns(args) gives (curve_fn, final_fn)),
    then write_report(args, {arm: finished rows}, start time)."""
    started = time.time()
    if not args.report_only:
        set_threads(args.threads)
        curve_fn, final_fn = fns(args)
        run_all(arms, setup, args.runs, curve_fn, final_fn, only_arms=args.arms)
    write_report(args, rows(args.runs, arms, args.seeds), started)


def save_report(out: str, lines, claim: str, verdict: str, setup: Setup, started: float, found: dict,
                **extra) -> None:
    """OUT/results.md from the report lines and OUT/results.json with the claim, verdict, provenance, wall time,
    any extra entries and every finished row."""
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    write_json(os.path.join(out, "results.json"), {
        "claim": claim, "verdict": verdict, "provenance": provenance(setup, started),
        "wall_seconds_total": wall_seconds(found), **extra, "rows": found})


def rows(out: str, arms, seeds) -> dict:
    """{arm name: [rows of finished seeds]} read from the runs folder."""
    found = {}
    for arm in arms:
        found[arm.name] = [r for s in seeds
                           if (r := read_json(os.path.join(out, run_name(arm, s), "row.json"))) is not None]
    return found


def stats(values) -> dict:
    """mean, min, max and n of the finite values (None when there are none)."""
    v = [float(x) for x in values if x is not None and np.isfinite(x)]
    if not v:
        return {"mean": None, "min": None, "max": None, "n": 0}
    return {"mean": float(np.mean(v)), "min": min(v), "max": max(v), "n": len(v)}


def fmt(s: dict, digits: int = 4) -> str:
    """'mean [min-max]' of a stats dict."""
    if not s or s["n"] == 0:
        return "-"
    if s["n"] == 1:
        return f"{s['mean']:.{digits}f} (1 seed)"
    return f"{s['mean']:.{digits}f} [{s['min']:.{digits}f}-{s['max']:.{digits}f}]"


def apart(lower: dict, higher: dict) -> bool:
    """True when every seed of `lower` is below every seed of `higher` (the ranges do not overlap)."""
    return bool(lower["n"] and higher["n"] and lower["max"] < higher["min"])


def steps_to(curve, key: str, threshold: float):
    """First logged step whose `key` is below threshold (None when never)."""
    return next((p["step"] for p in curve if p.get(key) is not None and p[key] < threshold), None)


def wall_seconds(found: dict) -> float:
    """Training plus evaluation seconds of every finished run of a claim (summed over its sessions)."""
    return float(sum(r["train_seconds"] + r["eval_seconds"] for runs in found.values() for r in runs))


def train_commands(found: dict) -> str:
    """The distinct commands that trained the finished runs (sessions record them), else this process's."""
    seen = sorted({s["command"] for runs in found.values() for r in runs for s in r["sessions"] if "command" in s})
    return "`, `".join(seen) if seen else command()


def wall_line(found: dict) -> str:
    """One sentence with the runs' total time, for the reports."""
    n = sum(len(runs) for runs in found.values())
    commits = sorted({s["commit"][:12] for runs in found.values() for r in runs for s in r["sessions"]})
    return (f"Wall time: {wall_seconds(found) / 60:.0f} min of training and evaluation for {n} runs (one TensorFlow "
            f"thread each, two runs side by side on the 2-core CPU); the runs were trained at commit(s) "
            f"{', '.join(commits) or '-'}.")


def provenance(setup: Setup, started: float) -> dict:
    """Command, commit, date, versions, machine and threads of this invocation (the rows keep their own sessions)."""
    import keras
    import tensorflow as tf

    return {
        "command": command(),
        "commit": git_commit(), "date": time.strftime("%Y-%m-%d %H:%M:%S"), "tf": tf.__version__,
        "keras": keras.__version__, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "threads": [tf.config.threading.get_intra_op_parallelism_threads(),
                    tf.config.threading.get_inter_op_parallelism_threads()],
        "seeds": list(setup.seeds), "setup": {k: v for k, v in vars(setup).items()},
        "this_invocation_seconds": time.time() - started,
    }


def sample_grid(path: str, found: dict, runs_dir: str, picture: str) -> None:
    """One PNG stacking, per arm, its first seed's `picture` (strip.png / grid.png written by the claim's final_fn)."""
    from PIL import Image

    tiles = []
    for name, runs in found.items():
        if runs:
            first = min(runs, key=lambda r: r["seed"])
            tiles.append(np.asarray(Image.open(os.path.join(runs_dir, f"{name}-s{first['seed']}", picture))
                                    .convert("RGB")))
    if tiles:
        width = max(t.shape[1] for t in tiles)
        gap = np.full((4, width, 3), 255, np.uint8)
        rows = [np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0)), constant_values=255) for t in tiles]
        Image.fromarray(np.concatenate([x for r in rows for x in (r, gap)][:-1])).save(path)


def plot_curves(path: str, found: dict, keys, title: str) -> None:
    """PNG: per metric key one panel, per arm the mean over seeds against steps with the min-max band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(keys), figsize=(5.2 * len(keys), 3.8), squeeze=False)
    for ax, (key, label) in zip(axes[0], keys):
        for name, runs in found.items():
            if not runs:
                continue
            steps = sorted(set.intersection(*[{p["step"] for p in r["curve"] if key in p} for r in runs]))
            vals = np.array([[next(p[key] for p in r["curve"] if p["step"] == s) for s in steps] for r in runs])
            line, = ax.plot(steps, vals.mean(0), label=f"{name} ({len(runs)} seeds)")
            ax.fill_between(steps, vals.min(0), vals.max(0), color=line.get_color(), alpha=0.2)
        ax.set_xlabel("training step")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if any(found.values()):
        axes[0][0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
