"""Markdown tables of the step profiles (issue 16): time, share and GFLOP/s per layer kind, TensorFlow with oneDNN,
TensorFlow's default kernels and the PyTorch reference side by side.

    python -m bench.profile_report --out bench/results/profile/profile.md
    python -m bench.profile_report --results /tmp/some_profiles --out -      # print instead

Reads <results>/tf_<case>_onednn<0|1>.json (python -m bench.profile_step) and <results>/reference_*.json
(bench/profile_reference.py, same format); a missing source leaves its columns empty. One table per case and
record ("train_step", "infer_G", ...): a row per layer kind, then the profiled total and the wall time per step;
"best TF / ref" is the faster TF setting's time over the reference's (below 1: TensorFlow is faster).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re

from .layer_kinds import KINDS
from .profile_step import CASES

SOURCES = (("onednn1", "TF oneDNN"), ("onednn0", "TF default"), ("reference", "reference"))


def load(folder: str) -> dict:
    """{case: {source: profile}} from the folder's tf_*.json and reference_*.json."""
    cases: dict = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        name = os.path.basename(path)
        if re.fullmatch(r"tf_.+_onednn[01]\.json", name):
            source = name[-12:-5]
        elif name.startswith("reference_"):
            source = "reference"
        else:
            continue
        with open(path, encoding="utf-8") as f:
            profile = json.load(f)
        cases.setdefault(profile["case"], {})[source] = profile
    return cases


def _cell(kind: dict | None) -> list[str]:
    if not kind:
        return ["", "", ""]
    gflops = f"{kind['gflops']:.1f}" if kind.get("gflops") else ""
    return [f"{kind['ms']:.1f}", f"{kind['share']:.1%}", gflops]


def _ratio(tf_ms: list[float], ref_ms: float | None) -> str:
    return f"{min(tf_ms) / ref_ms:.2f}" if tf_ms and ref_ms else ""


def table(records: dict) -> list[str]:
    """Markdown lines of one (case, what): {source: record}."""
    head = ["kind"] + [f"{label} {col}" for _, label in SOURCES for col in ("ms", "share", "GFLOP/s")]
    lines = ["| " + " | ".join(head + ["best TF / ref"]) + " |", "|" + "---|" * (len(head) + 1)]
    present = [k for k in (*KINDS, "total") if any(k in r["kinds"] for r in records.values())]
    for kind in present:
        cells = [c for source, _ in SOURCES for c in _cell(records.get(source, {}).get("kinds", {}).get(kind))]
        tf_ms = [records[s]["kinds"][kind]["ms"] for s in ("onednn1", "onednn0")
                 if s in records and kind in records[s]["kinds"]]
        ref = records.get("reference", {}).get("kinds", {}).get(kind, {}).get("ms")
        lines.append("| " + " | ".join([f"**{kind}**" if kind == "total" else kind, *cells, _ratio(tf_ms, ref)]) + " |")
    step = [f"{records[s]['step_ms']:.1f}" if s in records else "" for s, _ in SOURCES]
    cells = [c for ms in step for c in (ms, "", "")]
    tf_ms = [records[s]["step_ms"] for s in ("onednn1", "onednn0") if s in records]
    ref = records.get("reference", {}).get("step_ms")
    lines.append("| " + " | ".join(["wall time per step", *cells, _ratio(tf_ms, ref)]) + " |")
    return lines


def section(cases: dict) -> str:
    """The markdown section: one table per case and record, with what each source ran on."""
    out = ["## Step profiles by layer kind", "",
           "ms per step (own time of the ops, averaged over the profiled steps), share of the profiled total, "
           "GFLOP/s of the kind's convolutions / matrix products; best TF / ref < 1: TensorFlow faster.", ""]
    order = [c for c in CASES if c in cases] + sorted(set(cases) - set(CASES))
    for case in order:
        sources = cases[case]
        whats = list(dict.fromkeys(r["what"] for s, _ in SOURCES if s in sources for r in sources[s]["records"]))
        for what in whats:
            records = {s: r for s, _ in SOURCES if s in sources for r in sources[s]["records"] if r["what"] == what}
            out += [f"### {case}: {what}", ""]
            for source, label in SOURCES:
                if source in records:
                    p, r = sources[source], records[source]
                    cover = r["profiled_ms"] / r["step_ms"] if r["step_ms"] else 0.0
                    out.append(f"- {label}: {p['framework']}, {p['threads']} threads, {p['date']}, load "
                               f"{p.get('load_at_start')} at start; profiled {cover:.0%} of the wall time")
            out += ["", *table(records), ""]
    if not order:
        out.append("(no profiles found)")
    return "\n".join(out) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", default="bench/results/profile", help="folder of the profile JSON files")
    p.add_argument("--out", default="bench/results/profile/profile.md", help="markdown file, or - for stdout")
    args = p.parse_args(argv)
    text = section(load(args.results))
    if args.out == "-":
        print(text, end="")
        return
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
