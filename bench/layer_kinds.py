"""Layer kinds for the side-by-side step profiles (issue 16): one vocabulary for TensorFlow and PyTorch.

Pure Python (no TensorFlow, no torch import), so bench/profile_step.py (TensorFlow) and bench/profile_reference.py
(run in a torch environment) group their op times the same way. A profile is a list of records
{"kind": str, "ms": float, "gflop": float}; `group` sums them per kind and gives each kind's share of the step.
"""
from __future__ import annotations

from collections import defaultdict

THIN_7X7 = "conv 7x7, 3 channels in or out"
KINDS = (
    THIN_7X7,
    "conv 3x3",
    "conv 3x3 stride 2",
    "conv 4x4 stride 2",
    "conv 4x4 stride 1",
    "transposed conv 4x4 stride 2",
    "transposed conv 3x3 stride 2",
    "conv other",
    "dense / matmul",
    "reflection pad",
    "norm (instance / batch)",
    "elementwise / activation",
    "optimizer update",
    "loss, reduction, other",
    "data / host",
)


def conv_kind(kernel: int, stride: int, cin: int, cout: int, transposed: bool = False) -> str:
    """The kind of a 2-D convolution from its square kernel size, stride and channel counts."""
    if transposed:
        name = f"transposed conv {kernel}x{kernel} stride {stride}"
        return name if name in KINDS else "conv other"
    if kernel == 7 and min(cin, cout) <= 3:
        return THIN_7X7
    name = f"conv {kernel}x{kernel}" + ("" if stride == 1 and kernel == 3 else f" stride {stride}")
    return name if name in KINDS else "conv other"


def conv_gflop(kernel: int, cin: int, cout: int, out_h: int, out_w: int, batch: int = 1,
               transposed: bool = False, in_h: int | None = None, in_w: int | None = None) -> float:
    """Forward GFLOP (2 x multiply-adds) of one convolution; a transposed one counts its multiply-adds per input
    pixel (in_h x in_w), which is what its gradient-of-conv formulation computes. Backward is 2x this."""
    pixels = (in_h * in_w) if transposed else (out_h * out_w)
    return 2.0 * kernel * kernel * cin * cout * pixels * batch / 1e9


def table(rec: dict) -> str:
    """A profile record's kinds as text lines (ms per step, share, GFLOP, GFLOP/s), then its largest 'other' ops."""
    lines = [f"  {'kind':34} {'ms':>9} {'share':>6} {'GFLOP':>8} {'GFLOP/s':>8}"]
    for kind, k in rec["kinds"].items():
        gflops = f"{k['gflops']:8.1f}" if k["gflops"] else f"{'':8}"
        lines.append(f"  {kind:34} {k['ms']:9.1f} {k['share']:6.1%} {k['gflop']:8.2f} {gflops}")
    lines.append("  largest ops in 'other': " + "; ".join(f"{op} {ms:.1f} ms" for op, ms in rec["top_other"].items()))
    return "\n".join(lines)


def group(records: list[dict]) -> dict:
    """{kind: {"ms", "gflop", "gflops", "share"}} over all records, kinds in KINDS order, plus "total"."""
    ms, gf = defaultdict(float), defaultdict(float)
    for r in records:
        if r["kind"] not in KINDS:
            raise ValueError(f"unknown layer kind {r['kind']!r}; use one of bench.layer_kinds.KINDS")
        ms[r["kind"]] += r["ms"]
        gf[r["kind"]] += r.get("gflop", 0.0)
    total = sum(ms.values())
    out = {}
    for k in KINDS:
        if k in ms:
            out[k] = {"ms": ms[k], "gflop": gf[k], "gflops": gf[k] / (ms[k] / 1e3) if gf[k] and ms[k] else None,
                      "share": ms[k] / total if total else 0.0}
    out["total"] = {"ms": total, "gflop": sum(gf.values()),
                    "gflops": sum(gf.values()) / (total / 1e3) if total else None, "share": 1.0}
    return out
