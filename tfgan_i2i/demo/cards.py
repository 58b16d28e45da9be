"""Model cards for the page: what a model is, how big, what it was trained on and how well it did (Markdown).

A card is built from files only, no weights loaded: the model's config.json (architecture, schedule, size), its
size on disk, the section about it in the README beside it (savedmodels/README.md for the shipped exports: data,
training, measured figures), its export_report.md (TFLite parity) and any `tfgan-i2i evaluate` report in its run
folder (eval-*/evaluation.md).
"""
from __future__ import annotations

import glob
import os
import re

from apps.audio_translation.model import is_paired

from ..export.loaded import savedmodel_dir
from .registry import KINDS, Entry

README = "README.md"


def readme_section(readme: str, name: str) -> str | None:
    """The `## name...` section of a Markdown file (up to the next `#`/`##` heading), images left out; else None."""
    if not os.path.isfile(readme):
        return None
    with open(readme, encoding="utf-8") as f:
        lines = f.read().splitlines()
    heading = re.compile(rf"^##\s+{re.escape(name)}(\W|$)")
    start = next((i for i, line in enumerate(lines) if heading.match(line)), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^#{1,2}\s", lines[i])), len(lines))
    body = [line for line in lines[start + 1:end] if not line.lstrip().startswith("![")]
    return "\n".join(["#### " + lines[start].lstrip("# ").strip(), *body]).strip()


def _weight_files(path: str) -> list[str]:
    """The files holding a model's weights: an export's version folder, a checkpoint's newest ckpt-N.*, a .keras."""
    if os.path.isfile(path):
        return [path]
    exported = savedmodel_dir(path)
    if exported is not None:
        return [os.path.join(d, f) for d, _, files in os.walk(exported) for f in files]
    for folder in (path, os.path.join(path, "checkpoints")):
        index = sorted(glob.glob(os.path.join(folder, "ckpt-*.index")),
                       key=lambda p: int(re.sub(r"\D", "", os.path.basename(p)) or 0))
        if index:
            return glob.glob(index[-1][:-len(".index")] + ".*")
    return []


def size_on_disk(path: str) -> str:
    """The weights' size, e.g. '24.1 MB'."""
    total = sum(os.path.getsize(f) for f in _weight_files(path))
    return f"{total / 1e6:.1f} MB"


def _translates(entry: Entry) -> str:
    """One line: what goes in and what comes out."""
    c = entry.config
    if entry.kind == "audio":
        audio = c.extra["audio"]
        return (f"violin <-> piano recordings through {audio.get('representation', '?')} spectrogram images "
                f"({c.image_size}x{c.image_size}, {audio.get('sample_rate', '?')} Hz, STFT "
                f"{audio.get('frame_length', '?')}/{audio.get('frame_step', '?')})")
    size = f"{c.image_size}x{c.image_size} px"
    if entry.kind == "unpaired":
        return f"A ({c.input_nc} channels) <-> B ({c.output_nc} channels), unaligned domains, {size}"
    source, target = ("A", "B") if c.direction == "AtoB" else ("B", "A")
    return f"{source} ({c.input_nc} channels) -> {target} ({c.output_nc} channels), {size} ({c.direction})"


def _shown_path(path: str) -> str:
    """`path` relative to the current folder when it lies inside it (savedmodels/NAME), else absolute."""
    path = os.path.abspath(path)
    inside = os.path.commonpath([path, os.getcwd()]) == os.getcwd()
    return os.path.relpath(path) if inside else path


def _latent(entry: Entry) -> str:
    """How the model draws different outputs for one input."""
    c = entry.config
    if entry.kind == "audio" and is_paired(c):
        return ("none: one translation per recording" if c.model == "pix2pix"
                else "z = 0: one translation per recording")
    if entry.kind == "audio":
        return "the encoders' mean code: one translation per recording"
    if entry.kind == "unpaired" and c.model in ("unit", "unit-master", "avb-gtn"):
        return "drawn from the encoder's posterior (exports translate with its mean: one output)"
    return f"nz = {c.nz}" if c.nz else "none (nz = 0): one output per input"


def _facts(entry: Entry) -> list[tuple[str, str]]:
    """(field, value) rows from the config and the files."""
    c = entry.config
    nets = f"G {c.netG} ngf {c.ngf}, D ndf {c.ndf}, norm {c.norm}"
    if entry.kind == "audio" and is_paired(c):
        nets += ", one model per direction"
    elif entry.kind == "audio":
        nets = f"ngf {c.ngf}, ndf {c.ndf}, ntf {c.ntf}, {c.n_res} residual blocks"
    rows = [("model", f"{c.model} ({KINDS[entry.kind]})"), ("translates", _translates(entry)),
            ("latent code", _latent(entry)), ("networks", nets),
            ("schedule", f"{c.epochs} + {c.epochs_decay} epochs ({c.lr_policy}), batch {c.batch_size}, lr {c.lr:g}"),
            ("weights", f"{size_on_disk(entry.path)} in {_shown_path(entry.path)}")]
    return rows


def _reports(entry: Entry) -> list[str]:
    """Measured figures written next to the model: the README section, export parity, evaluate reports."""
    folder = entry.path if os.path.isdir(entry.path) else os.path.dirname(entry.path)
    name = os.path.basename(os.path.normpath(folder))
    parts = [readme_section(os.path.join(os.path.dirname(os.path.normpath(folder)), README), name),
             readme_section(os.path.join(folder, README), name)]
    for report in [os.path.join(folder, "export_report.md"), *sorted(glob.glob(os.path.join(folder, "eval-*",
                                                                                           "evaluation.md")))]:
        if os.path.isfile(report):
            with open(report, encoding="utf-8") as f:
                parts.append(f"#### {os.path.relpath(report, folder)}\n\n{f.read().strip()}")
    return [p for p in parts if p]


def model_card(entry: Entry) -> str:
    """The entry's card as Markdown."""
    facts = [f"- **{k}**: {v}" for k, v in _facts(entry)]
    reports = _reports(entry) or ["No README section or evaluation report was found next to this model; "
                                  "`tfgan-i2i evaluate --checkpoint ...` writes one."]
    return "\n\n".join([f"### {entry.name}", "\n".join(facts), *reports])


__all__ = ["model_card", "readme_section", "size_on_disk"]
