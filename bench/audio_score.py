"""Score an audio model (issue #18): does violin -> piano (and back) sound like the other instrument playing the
same notes, at the input's level?

Any model the app can load is scored: the shipped SavedModel savedmodels/violin_piano_pix2pix (the default), another
export, a `tfgan-i2i-audio train` logdir (unpaired, or paired with one run per direction) or its checkpoints/.
Translation goes through `AudioTranslator.translate`, the path `tfgan-i2i-audio translate` takes.

Renders (../shared/data/violin_piano_midi, sample-aligned: the other instrument's render of the same melody is the
ground truth). The last --test melodies by sorted name are held out, as in bench.audio_evidence (the split the
shipped model was trained on). For each held-out melody and direction, the output is scored
  * against the true target: log-spectral distance (LSD, dB) and spectral convergence (SC) on a 1024/256 STFT
    magnitude, and the correlation of librosa onset-strength envelopes (attacks where the target has them);
  * against the input: median absolute f0 difference in cents on frames pYIN finds voiced in both (pitch kept),
    and the level difference in dB, RMS and K-weighted LUFS (BS.1770, pyloudnorm) (loudness kept).
The untranslated input is scored the same way (the baseline a translation must beat), and so is the true target
(what a perfect translation would score on the measures taken against the input).
Real notes (../shared/data/violin_piano_vsco2, no ground truth): the first --note-seconds of every note, scored
against the input only (pitch, level, onsets).

Output level: the model's raw output is matched to each --level mode with the library's `match_level` (one gain
per file, as `translate(level=...)` does), so LSD, SC and level are reported for input / target / none from one
translation; pitch and onsets are taken on the --level output (a gain moves neither). A model without recorded
typical levels (trained before issue #18) gets them measured from the training renders, and results say so.

Writes OUT/<name>/results.json (per example and mean / min-max per direction, command, commit, wall time),
OUT/<name>/results.md (one table per dataset and direction), and OUT/<name>/examples/: a spectrogram PNG
(input | output | truth) and 16-bit WAVs of the first --example-seconds of --examples melodies per direction and
of the --example-notes.

  python -m bench.audio_score                                        # the shipped model, about 5 minutes
  python -m bench.audio_score --model runs/audio_paired --name pix2pix_if
  python -m bench.audio_score --notes 2 --note-seconds 1 --test 1 --out /tmp/score     # a quick look
  python -m bench.audio_score --report-only                          # rewrite results.md from results.json
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time

import numpy as np
from PIL import Image

from apps.audio_translation.cli import default_model_dir
from bench.audio_evidence import DEFAULT_DATA as MIDI, DIRECTIONS, METRIC_SPEC, melody_split, wav
from bench.experiment import command, git_commit, read_json, write_json

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VSCO2 = os.path.join(os.path.dirname(MIDI), "violin_piano_vsco2")
DEFAULT_MODEL = default_model_dir()  # the export `tfgan-i2i-audio translate` uses without --checkpoint
# pYIN's search range (Hz) by what is played: the melodies are violin parts (G3..A5, MIDI 55-81); the real notes
# span each instrument (violin G3..C7, piano C1..G7). The range leaves an octave either side where it can, so an
# octave error is measured as 1200 cents rather than lost as unvoiced frames; pYIN's cost grows with its square.
F0_RANGES = {"renders": (90.0, 2100.0), "violin": (90.0, 4200.0), "piano": (30.0, 4200.0)}
# measure key -> (label in the tables, digits, better: "low" | "high" | "zero")
MEASURES = {
    "lsd_db": ("LSD to the true target (dB)", 2, "low"),
    "sc": ("SC to the true target", 3, "low"),
    "onset_corr_truth": ("onset envelope corr. with the true target", 3, "high"),
    "onset_corr_input": ("onset envelope corr. with the input", 3, "high"),
    "pitch_cents": ("pitch vs input: median abs. error (cents)", 1, "low"),
    "voiced_both": ("frames voiced in input and this", 2, "high"),
    "level_rms_db": ("level vs input, RMS (dB)", 2, "zero"),
    "level_lufs_db": ("level vs input, LUFS (dB)", 2, "zero"),
}


# --- measuring -----------------------------------------------------------------------------------------------------
class Tracks:
    """pYIN tracks over one f0 range, computed once per wave (a melody's input and truth serve both directions)."""

    def __init__(self, sample_rate: int, f0_range: tuple[float, float]):
        self.sample_rate, self.f0_range, self.cache = sample_rate, f0_range, {}

    def __call__(self, key, wave):
        """The (f0, voiced) track of `wave`; remembered under `key` unless key is None."""
        from tfgan_i2i.audio import f0_track

        fmin, fmax = self.f0_range
        if key is None:
            return f0_track(wave, self.sample_rate, fmin, fmax)
        if key not in self.cache:
            self.cache[key] = f0_track(wave, self.sample_rate, fmin, fmax)
        return self.cache[key]


def kept(source, wave, sample_rate: int, tracks: Tracks, source_key, key=None) -> dict:
    """What `wave` keeps of `source`: pitch (cents, voiced fractions), level (RMS, LUFS dB) and onset correlation."""
    from tfgan_i2i.audio import compare_f0, level_difference_db, onset_correlation

    pitch = compare_f0(tracks(source_key, source), tracks(key, wave))
    return {"pitch_cents": pitch["cents"], "voiced_both": pitch["voiced_both"], "voiced": pitch["voiced_est"],
            "level_rms_db": level_difference_db(source, wave),
            "level_lufs_db": level_difference_db(source, wave, sample_rate, "lufs"),
            "onset_corr_input": onset_correlation(source, wave, sample_rate)}


def to_truth(truth, wave, sample_rate: int) -> dict:
    """How close `wave` is to the true target: LSD, SC and onset-envelope correlation."""
    from tfgan_i2i.audio import log_spectral_distance, onset_correlation, spectral_convergence

    return {"lsd_db": log_spectral_distance(truth, wave, METRIC_SPEC),
            "sc": spectral_convergence(truth, wave, METRIC_SPEC),
            "onset_corr_truth": onset_correlation(truth, wave, sample_rate)}


def level_modes(translator, raw, source, to: str, truth=None) -> tuple[dict, dict]:
    """({mode: output wave}, {mode: {gain_db, level_rms_db[, lsd_db, sc]}}) for every --level mode, from the raw
    output, with the same `match_level` that `translate(level=...)` applies."""
    from tfgan_i2i.audio import LEVEL_MODES, level_difference_db, log_spectral_distance, match_level, \
        spectral_convergence

    waves, rows = {}, {}
    for mode in LEVEL_MODES:
        goal = translator.output_level(source, to, mode)
        waves[mode], gain_db = (raw, 0.0) if goal is None else match_level(raw, goal)
        rows[mode] = {"gain_db": gain_db, "level_rms_db": level_difference_db(source, waves[mode])}
        if truth is not None:
            rows[mode].update(lsd_db=log_spectral_distance(truth, waves[mode], METRIC_SPEC),
                              sc=spectral_convergence(truth, waves[mode], METRIC_SPEC))
    return waves, rows


def score_render(translator, args, name, source, target, waves, tracks) -> tuple[dict, np.ndarray]:
    """One held-out melody in one direction: the output, the untranslated input and the truth scored."""
    rate = translator.sample_rate
    src, truth = waves[name, source], waves[name, target]
    start = time.perf_counter()
    raw = translator.translate(src, target, level="none", griffin_lim_iters=args.griffin_lim_iters)
    seconds = time.perf_counter() - start
    outs, modes = level_modes(translator, raw, src, target, truth)
    out = outs[args.level]
    row = {"name": name, "seconds": len(src) / rate, "translate_seconds": seconds, "levels": modes,
           "output": {**to_truth(truth, out, rate), **kept(src, out, rate, tracks, (name, source))},
           "input": to_truth(truth, src, rate),
           "truth": kept(src, truth, rate, tracks, (name, source), (name, target))}
    return row, out


def score_note(translator, args, path, source, target, tracks) -> tuple[dict, np.ndarray, np.ndarray]:
    """One real note (its first --note-seconds) in one direction, scored against the input."""
    from tfgan_i2i.audio import read_audio

    rate = translator.sample_rate
    src = read_audio(path, rate)[:int(args.note_seconds * rate)]
    start = time.perf_counter()
    raw = translator.translate(src, target, level="none", griffin_lim_iters=args.griffin_lim_iters)
    seconds = time.perf_counter() - start
    outs, modes = level_modes(translator, raw, src, target)
    out = outs[args.level]
    name = os.path.splitext(os.path.basename(path))[0]
    row = {"name": name, "seconds": len(src) / rate, "translate_seconds": seconds, "levels": modes,
           "output": kept(src, out, rate, tracks, path)}
    return row, src, out


# --- summaries and files -------------------------------------------------------------------------------------------
def stats(values) -> dict:
    """mean, min, max and n of the finite values (None when there are none)."""
    v = [float(x) for x in values if x is not None and np.isfinite(x)]
    if not v:
        return {"mean": None, "min": None, "max": None, "n": 0}
    return {"mean": float(np.mean(v)), "min": min(v), "max": max(v), "n": len(v)}


def summarise(rows: list[dict]) -> dict:
    """{column: {measure: stats}} over the examples of one direction; level modes under "level_<mode>"."""
    columns = {}
    for column in ("output", "input", "truth"):
        present = [r[column] for r in rows if column in r]
        if present:
            columns[column] = {k: stats(r.get(k) for r in present) for k in present[0]}
    for mode in rows[0]["levels"]:
        columns[f"level_{mode}"] = {k: stats(r["levels"][mode][k] for r in rows) for k in rows[0]["levels"][mode]}
    return columns


def spectrogram_png(path: str, panels: dict, sample_rate: int, max_hz: float = 4000.0) -> str:
    """Side-by-side log-magnitude spectrograms (dB, the scores' 1024/256 STFT, 0..max_hz) of {title: wave}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tfgan_i2i.audio import stft

    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 2.6), sharey=True, squeeze=False)
    top = None
    for ax, (title, wave) in zip(axes[0], panels.items()):
        mag = np.abs(stft(np.asarray(wave, np.float32), METRIC_SPEC).numpy())
        db = 20 * np.log10(np.maximum(mag, 1e-6))
        top = db.max() if top is None else top  # one colour scale for all panels: the first panel's peak
        bins = int(max_hz / (sample_rate / METRIC_SPEC.frame_length)) + 1
        extent = [0, len(wave) / sample_rate, 0, (bins - 1) * sample_rate / METRIC_SPEC.frame_length]
        ax.imshow(db[:, :bins].T, origin="lower", aspect="auto", extent=extent, vmin=top - 80, vmax=top,
                  cmap="magma")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("s", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("Hz", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72)
    plt.close(fig)
    # a 64-colour palette keeps a committed picture near a third of its RGB size with no visible change
    Image.open(buffer).convert("RGB").quantize(64).save(path, optimize=True)
    return path


def write_example(folder: str, stem: str, panels: dict, sample_rate: int, seconds: float) -> list[str]:
    """The first `seconds` of each {title: (wave, wav name)} as a 16-bit WAV (the inputs and truths of the two
    directions of a melody share their files) and the panels side by side in stem.png; returns the paths, the PNG
    last."""
    from tfgan_i2i.audio import write_audio

    os.makedirs(folder, exist_ok=True)
    clips = {title: np.asarray(w)[:int(seconds * sample_rate)] for title, (w, _) in panels.items()}
    paths = [write_audio(os.path.join(folder, f"{name}.wav"), clips[title], sample_rate)
             for title, (_, name) in panels.items()]
    return paths + [spectrogram_png(os.path.join(folder, f"{stem}.png"), clips, sample_rate)]


def _num(x: float, digits: int) -> str:
    """x to `digits` decimals, with no '-0.00' for a value that rounds to zero."""
    return f"{round(x, digits) + 0.0:.{digits}f}"


def _fmt(s: dict, digits: int) -> str:
    """'mean (min to max)' of a stats dict; '-' when empty."""
    if not s or not s["n"]:
        return "-"
    if s["n"] == 1 or s["min"] == s["max"]:
        return _num(s["mean"], digits)
    return f"{_num(s['mean'], digits)} ({_num(s['min'], digits)} to {_num(s['max'], digits)})"


def direction_table(summary: dict, columns: dict) -> list[str]:
    """One markdown table: a row per measure, a column per scored wave ({key in summary: heading})."""
    lines = ["| measure | " + " | ".join(columns.values()) + " |", "|---" * (len(columns) + 1) + "|"]
    for key, (label, digits, better) in MEASURES.items():
        cells = [_fmt(summary.get(c, {}).get(key), digits) for c in columns]
        if any(cell != "-" for cell in cells):
            arrow = {"low": " (lower is better)", "high": " (higher is better)", "zero": " (0 is best)"}[better]
            lines.append(f"| {label}{arrow} | " + " | ".join(cells) + " |")
    return lines


def level_table(summary: dict, truth: bool) -> list[str]:
    """How each --level mode moves the level (and, on the renders, LSD / SC) of the same translation."""
    keys = ["gain_db", "level_rms_db"] + (["lsd_db", "sc"] if truth else [])
    heads = {"gain_db": "gain applied (dB)", "level_rms_db": "level vs input, RMS (dB)",
             "lsd_db": "LSD to the true target (dB)", "sc": "SC to the true target"}
    lines = ["| --level | " + " | ".join(heads[k] for k in keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for column, stats_by_key in summary.items():
        if column.startswith("level_"):
            cells = [_fmt(stats_by_key[k], 3 if k == "sc" else 2) for k in keys]
            lines.append(f"| {column[len('level_'):]} | " + " | ".join(cells) + " |")
    return lines


def _mean(summary: dict, column: str, key: str, digits: int) -> str:
    """The mean of one measure as text ('-' when absent)."""
    s = summary.get(column, {}).get(key)
    return "-" if not s or not s["n"] else _num(s["mean"], digits)


def summary_tables(report: dict) -> list[str]:
    """One compact table per direction (means): the model and the untranslated input on the renders, the model on
    the real notes. The README copies these."""
    lines = []
    for direction in DIRECTIONS:
        blocks = [(label, report[part]["directions"][direction]["summary"], column)
                  for part, label, column in (("renders", "renders: model", "output"),
                                              ("renders", "renders: untranslated input", "input"),
                                              ("notes", "real notes: model", "output"))
                  if report.get(part) and direction in report[part]["directions"]]
        if not blocks:
            continue
        lines += [f"| {' -> '.join(DIRECTIONS[direction])} | LSD (dB) | SC | onset corr. | pitch error (cents) | "
                  "level vs input, RMS / LUFS (dB) |", "|---|---|---|---|---|---|"]
        for label, summary, column in blocks:
            onset = (_mean(summary, column, "onset_corr_truth", 3) if label.startswith("renders")
                     else _mean(summary, column, "onset_corr_input", 3) + " (with the input)")
            level = "-" if column == "input" else (f"{_mean(summary, column, 'level_rms_db', 2)} / "
                                                   f"{_mean(summary, column, 'level_lufs_db', 2)}")
            lines.append(f"| {label} | {_mean(summary, column, 'lsd_db', 2)} | {_mean(summary, column, 'sc', 3)} | "
                         f"{onset} | {_mean(summary, column, 'pitch_cents', 1)} | {level} |")
        lines.append("")
    return lines


def write_markdown(path: str, report: dict) -> None:
    """results.md: provenance, then per dataset and direction the measures table and the level table."""
    meta = report["meta"]
    lines = [f"# Audio score: {meta['name']}", "",
             f"Model: `{meta['model']}`. Command: `{meta['command']}`  ",
             f"Commit {meta['commit']}, {meta['date']}; wall time {meta['wall_seconds']:.0f} s on the shared 2-core "
             f"CPU; TensorFlow {meta['tensorflow']}, Python {meta['python']}. Output level: `--level "
             f"{meta['level']}`. Figures are the mean (min to max) over the examples.", "",
             "## Summary (means; onset corr. with the true target on the renders)", ""]
    lines += summary_tables(report)
    renders = report.get("renders")
    if renders:
        lines += [f"## Held-out renders ({', '.join(renders['test'])}; trained on {len(renders['train'])} others)",
                  "", f"Typical training levels used by `--level target` (RMS dBFS): "
                      f"{', '.join(f'{k} {v:.1f}' for k, v in renders['target_levels'].items())} "
                      f"({renders['target_levels_from']}).", ""]
        for direction, block in renders["directions"].items():
            lines += [f"### {direction.replace('_', ' ')}", ""]
            lines += direction_table(block["summary"], {"output": "model output", "input": "untranslated input",
                                                        "truth": "true target render"})
            lines += ["", "Output level modes (the same translation, one gain per file):", ""]
            lines += level_table(block["summary"], truth=True) + [""]
    notes = report.get("notes")
    if notes:
        lines += [f"## Real notes (VSCO 2, first {notes['seconds']:g} s of each; no ground truth)", ""]
        for direction, block in notes["directions"].items():
            names = ", ".join(r["name"] for r in block["examples"])
            lines += [f"### {direction.replace('_', ' ')} ({names})", ""]
            lines += direction_table(block["summary"], {"output": "model output"})
            per_note = ", ".join(f"{r['name']} {_num(r['output']['pitch_cents'], 0)}" if np.isfinite(
                r["output"]["pitch_cents"]) else f"{r['name']} -" for r in block["examples"])
            lines += ["", f"Pitch error per note (cents): {per_note}.", ""]
            lines += ["Output level modes:", ""] + level_table(block["summary"], truth=False) + [""]
    if report.get("examples"):
        lines += ["## Listening examples", ""]
        for png, wavs in report["examples"].items():
            links = " ".join(f"[{kind}]({w})" for kind, w in zip(("input", "output", "truth"), wavs))
            lines += [f"![{png}]({png})", "", links, ""]
    with open(path, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")


# --- the run -------------------------------------------------------------------------------------------------------
def model_name(path: str) -> str:
    """A folder name for a model path: its last part, skipping a version folder or checkpoints/."""
    parts = [p for p in os.path.normpath(os.path.abspath(path)).split(os.sep) if p]
    while len(parts) > 1 and (parts[-1].isdigit() or parts[-1] == "checkpoints"):
        parts.pop()
    return parts[-1]


def ensure_levels(translator, midi: str, train_names) -> str:
    """Give a model without recorded typical levels those of the training renders; says where they came from."""
    from tfgan_i2i.audio import read_audio, typical_level

    if all(to in translator.levels for to in ("violin", "piano")):
        return "recorded by the model's training"
    translator.levels = {i: typical_level(read_audio(wav(midi, i, n), translator.sample_rate) for n in train_names)
                         for i in ("violin", "piano")}
    return "the model has none recorded: median RMS of the training renders, measured here"


def score_renders(translator, args, examples: dict, out_dir: str) -> dict:
    """Every held-out melody in both directions; the first --examples of each written as listening examples."""
    from tfgan_i2i.audio import read_audio

    train_names, test_names = melody_split(args.midi, args.test)
    source_of_levels = ensure_levels(translator, args.midi, train_names)
    waves = {(n, i): read_audio(wav(args.midi, i, n), translator.sample_rate)
             for n in test_names for i in ("violin", "piano")}
    tracks, blocks = Tracks(translator.sample_rate, F0_RANGES["renders"]), {}
    for direction, (source, target) in DIRECTIONS.items():
        if target not in translator.targets:
            continue
        rows = []
        for k, name in enumerate(test_names):
            row, out = score_render(translator, args, name, source, target, waves, tracks)
            rows.append(row)
            print(f"renders {direction} {name}: LSD {row['output']['lsd_db']:.2f} dB (input "
                  f"{row['input']['lsd_db']:.2f}), pitch {row['output']['pitch_cents']:.1f} cents, level "
                  f"{row['output']['level_rms_db']:+.2f} dB", flush=True)
            if k < args.examples:
                panels = {f"input ({source})": (waves[name, source], f"render_{name}_{source}"),
                          f"output ({target})": (out, f"render_{name}_{direction}"),
                          f"truth ({target})": (waves[name, target], f"render_{name}_{target}")}
                paths = write_example(out_dir, f"render_{direction}_{name}", panels, translator.sample_rate,
                                      args.example_seconds)
                examples[os.path.relpath(paths[-1], os.path.dirname(out_dir))] = [
                    os.path.relpath(p, os.path.dirname(out_dir)) for p in paths[:-1]]
        blocks[direction] = {"examples": rows, "summary": summarise(rows)}
    return {"test": test_names, "train": train_names, "target_levels": dict(translator.levels),
            "target_levels_from": source_of_levels, "directions": blocks}


def note_files(folder: str, instrument: str, limit: int | None) -> list[str]:
    """The notes of one instrument in pitch order; `limit` of them spread evenly over the range."""
    from tfgan_i2i.data.audio import list_audio

    def midi_number(path):
        """A sort key in pitch order: C4.mp3 -> 48, A4.mp3 -> 57."""
        name = os.path.splitext(os.path.basename(path))[0]
        return 12 * int(name[-1]) + "C D EF G A B".index(name[0])

    files = sorted(list_audio(os.path.join(folder, instrument)), key=midi_number)
    if limit is not None and limit < len(files):
        files = [files[int(i)] for i in np.linspace(0, len(files) - 1, limit).round()]
    return files


def score_notes(translator, args, examples: dict, out_dir: str) -> dict:
    """Every (or --notes) real note in both directions; the --example-notes written as listening examples."""
    blocks = {}
    wanted = {x.strip() for x in args.example_notes.split(",") if x.strip()}
    for direction, (source, target) in DIRECTIONS.items():
        if target not in translator.targets:
            continue
        rows, tracks = [], Tracks(translator.sample_rate, F0_RANGES[source])
        for path in note_files(args.vsco2, source, args.notes):
            row, src, out = score_note(translator, args, path, source, target, tracks)
            rows.append(row)
            print(f"notes {direction} {row['name']}: pitch {row['output']['pitch_cents']:.1f} cents, level "
                  f"{row['output']['level_rms_db']:+.2f} dB", flush=True)
            if f"{source}/{row['name']}" in wanted:
                panels = {f"input ({source})": (src, f"note_{source}_{row['name']}"),
                          f"output ({target})": (out, f"note_{source}_{row['name']}_{direction}")}
                paths = write_example(out_dir, f"note_{direction}_{row['name']}", panels,
                                      translator.sample_rate, args.example_seconds)
                examples[os.path.relpath(paths[-1], os.path.dirname(out_dir))] = [
                    os.path.relpath(p, os.path.dirname(out_dir)) for p in paths[:-1]]
        blocks[direction] = {"examples": rows, "summary": summarise(rows)}
    return {"seconds": args.note_seconds, "directions": blocks}


def parse_args(argv):
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=DEFAULT_MODEL, help="export, train logdir or checkpoints/ folder "
                                                          f"(default: the shipped savedmodels/{os.path.basename(DEFAULT_MODEL)})")
    p.add_argument("--name", help="results folder name (default: the model folder's name)")
    p.add_argument("--midi", default=MIDI, help="violin_piano_midi folder (violin/, piano/)")
    p.add_argument("--vsco2", default=VSCO2, help="violin_piano_vsco2 folder (violin/, piano/); '' to skip")
    p.add_argument("--test", type=int, default=2, help="held-out melodies: the last N by sorted name (default 2)")
    p.add_argument("--level", choices=("input", "target", "none"), default="input",
                   help="the output level the pitch / onset / main figures are taken at (default: input)")
    p.add_argument("--notes", type=int, default=None, help="real notes per instrument, spread over the range "
                                                           "(default: all)")
    p.add_argument("--note-seconds", type=float, default=3.0, help="seconds of each real note scored (default 3)")
    p.add_argument("--examples", type=int, default=1, help="listening examples per direction from the renders")
    p.add_argument("--example-notes", default="violin/A3,piano/C4", help="real notes written as examples")
    p.add_argument("--example-seconds", type=float, default=4.0, help="length of the example WAVs and PNGs")
    p.add_argument("--griffin-lim-iters", type=int, default=32, help="for magnitude-only models")
    p.add_argument("--out", default=os.path.join("bench", "results", "audio_score"))
    p.add_argument("--report-only", action="store_true", help="rewrite results.md from OUT/NAME/results.json")
    return p.parse_args(argv)


def fail(message: str):
    """Print one error line and exit with status 2 (a problem the user can fix)."""
    print(f"audio_score: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)


def check_inputs(args) -> None:
    """One clear line (exit 2) for a missing data folder, an impossible option or an absent optional package."""
    from tfgan_i2i.audio.metrics import optional_module

    for option, folder in (("--midi", args.midi), ("--vsco2", args.vsco2)):
        if folder and not all(os.path.isdir(os.path.join(folder, i)) for i in ("violin", "piano")):
            fail(f"{option} {folder} has no violin/ and piano/ folders; pass the "
                 f"{'violin_piano_midi' if option == '--midi' else 'violin_piano_vsco2'} data folder")
    try:
        melody_split(args.midi, args.test)
    except SystemExit as e:
        fail(f"--test {args.test}: {e}")
    if args.test < 1 or (args.notes is not None and args.notes < 1) or args.examples < 0:
        fail("--test and --notes must be >= 1, --examples >= 0")
    if args.note_seconds < 0.5 or args.example_seconds <= 0:
        fail(f"--note-seconds {args.note_seconds}: score at least 0.5 s of a note (LUFS gates 0.4 s blocks); "
             "--example-seconds must be > 0")
    try:
        optional_module("librosa", "the pitch and onset measures")
        optional_module("pyloudnorm", "the LUFS level")
    except ImportError as e:
        fail(str(e))


def main(argv=None) -> int:
    """Load the model, score renders and real notes, write results.json / results.md / examples."""
    started = time.perf_counter()
    args = parse_args(sys.argv[1:] if argv is None else argv)
    name = args.name or model_name(args.model)
    out_dir = os.path.join(args.out, name)
    if args.report_only:
        report = read_json(os.path.join(out_dir, "results.json"))
        if report is None:
            fail(f"--report-only: no {out_dir}/results.json yet; run without --report-only first")
        write_markdown(os.path.join(out_dir, "results.md"), report)
        return 0
    check_inputs(args)
    import keras
    import tensorflow as tf

    from apps.audio_translation.model import load_translator
    from tfgan_i2i.config import ConfigError
    from tfgan_i2i.data.images import DataError
    from tfgan_i2i.export.loaded import ExportError
    from tfgan_i2i.training.callbacks import CheckpointError

    try:
        translator = load_translator(args.model)
    except (ConfigError, DataError, CheckpointError, ExportError) as e:
        fail(f"--model {args.model}: {e}")
    examples = {}
    report = {"renders": score_renders(translator, args, examples, os.path.join(out_dir, "examples"))}
    if args.vsco2:
        report["notes"] = score_notes(translator, args, examples, os.path.join(out_dir, "examples"))
    report["examples"] = examples
    report["meta"] = {"name": name, "model": os.path.relpath(os.path.abspath(args.model), REPO),
                      "command": command(), "commit": git_commit(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                      "wall_seconds": time.perf_counter() - started, "level": args.level,
                      "tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version(),
                      "metric_stft": [METRIC_SPEC.frame_length, METRIC_SPEC.frame_step], "args": vars(args)}
    write_json(os.path.join(out_dir, "results.json"), report)
    write_markdown(os.path.join(out_dir, "results.md"), report)
    print(f"wrote {out_dir}/results.json, results.md and {len(examples)} example(s) in "
          f"{report['meta']['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
