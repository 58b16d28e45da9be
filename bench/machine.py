"""What a benchmark ran on: the CPU and its theoretical peak FLOP/s, TensorFlow's devices, and how busy the host was.

Peak FP32 FLOP/s = cores x clock x SIMD lanes x 2 x FMA units
  cores      os.cpu_count() (logical CPUs; where two of them are hyperthreads of one core they share its FMA
             units, so the peak is then overstated up to 2x);
  clock      cpufreq's cpuinfo_max_freq when the kernel exposes it, else the largest "cpu MHz" in /proc/cpuinfo
             (on a VM that is the nominal clock; turbo above it makes an achieved fraction look a little high);
  lanes      float32 lanes of the widest vector unit: 16 with avx512f, 8 with avx2 or avx, 4 otherwise (SSE);
  2          a fused multiply-add is two floating-point operations (with no fma flag: a multiply and an add
             issued on two ports, the same count);
  FMA units  vector FMA pipes per core, ASSUMED 2 (Intel since Haswell, AMD since Zen 2; some Xeon SKUs have a
             single 512-bit unit: pass --fma-units 1 there).
Peak bf16 FLOP/s on AMX (only when /proc/cpuinfo lists amx_bf16) = cores x clock x 1024:
  one TDPBF16PS multiplies a 16x32 by a 32x16 bf16 tile (8192 multiply-adds, 16,384 FLOP) and is ASSUMED to
  issue once per 16 cycles per core, i.e. 1024 FLOP/cycle/core (Intel's figure for Sapphire Rapids). That holds
  only for large matrix products; convolutions reach it only as far as oneDNN maps them onto tiles.
"""
from __future__ import annotations

import os

LANES_FP32 = {"avx512f": 16, "avx2": 8, "avx": 8}
AMX_BF16_FLOP_PER_CYCLE = 1024
DEFAULT_FMA_UNITS = 2
INTERESTING_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16",
                     "amx_int8")


def read_cpuinfo(path: str = "/proc/cpuinfo") -> dict:
    """{model_name, mhz (largest listed), flags (the INTERESTING_FLAGS present)} from a Linux /proc/cpuinfo.

    Missing file or fields give None / an empty list (e.g. on macOS), so the peak is then unknown.
    """
    model, mhz, flags = None, None, set()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        lines = []
    for line in lines:
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "model name" and model is None:
            model = value
        elif key == "cpu MHz":
            mhz = max(mhz or 0.0, float(value))
        elif key == "flags" and not flags:
            flags = set(value.split())
    max_khz = _read_number("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    if max_khz:
        mhz = max_khz / 1000
    return {"model_name": model, "mhz": mhz, "flags": [f for f in INTERESTING_FLAGS if f in flags]}


def _read_number(path: str) -> float | None:
    try:
        with open(path, encoding="utf-8") as f:
            return float(f.read().strip())
    except (OSError, ValueError):
        return None


def peak_gflops(cpu: dict, cores: int, fma_units: int = DEFAULT_FMA_UNITS) -> dict:
    """{fp32, bf16_amx (None without AMX), lanes, fma_units, formulas} in GFLOP/s for `cpu` from read_cpuinfo."""
    flags = set(cpu["flags"])
    lanes = next((n for flag, n in LANES_FP32.items() if flag in flags), 4)
    ghz = (cpu["mhz"] or 0) / 1000
    fp32 = cores * ghz * lanes * 2 * fma_units if ghz else None
    amx = cores * ghz * AMX_BF16_FLOP_PER_CYCLE if ghz and "amx_bf16" in flags else None
    out = {
        "fp32_gflops": fp32, "bf16_amx_gflops": amx, "cores": cores, "ghz": ghz or None, "simd_lanes_fp32": lanes,
        "fma_units_assumed": fma_units,
        "fp32_formula": f"{cores} cores x {ghz:.2f} GHz x {lanes} lanes x 2 (FMA) x {fma_units} FMA units",
    }
    if amx:
        out["bf16_amx_formula"] = f"{cores} cores x {ghz:.2f} GHz x {AMX_BF16_FLOP_PER_CYCLE} FLOP/cycle (AMX TMUL)"
    return out


def peak_for(precision: str, peak: dict) -> float | None:
    """The peak a run at `precision` is measured against: the AMX bf16 peak for mixed_bfloat16 where the CPU has
    AMX, else the FP32 FMA peak (without AMX, bf16 math runs on the FP32 units after conversion)."""
    if precision == "mixed_bfloat16" and peak.get("bf16_amx_gflops"):
        return peak["bf16_amx_gflops"]
    return peak.get("fp32_gflops")


def tf_devices() -> list[str]:
    """TensorFlow's physical devices, e.g. ["CPU:0", "GPU:0 (NVIDIA A100-SXM4-40GB)"]."""
    import tensorflow as tf

    names = []
    for device in tf.config.list_physical_devices():
        label = device.name.replace("/physical_device:", "")
        if device.device_type == "GPU":
            details = tf.config.experimental.get_device_details(device)
            label += f" ({details.get('device_name', 'unknown GPU')})"
        names.append(label)
    return names


def describe(fma_units: int = DEFAULT_FMA_UNITS) -> dict:
    """Everything about the machine the results' meta records (CPU, peak, devices, load average)."""
    cpu = read_cpuinfo()
    cores = os.cpu_count() or 1
    devices = tf_devices()
    on_gpu = any(d.startswith("GPU") for d in devices)
    return {"cpu": cpu, "peak": peak_gflops(cpu, cores, fma_units), "devices": devices,
            "device": "GPU" if on_gpu else "CPU", "load_average_at_start": load_average()}


def summary_line(machine: dict) -> str:
    """One line for the console and the report: CPU, flags, peak(s), TF device."""
    cpu, peak = machine["cpu"], machine["peak"]
    fp32 = f"{peak['fp32_gflops']:.0f}" if peak["fp32_gflops"] else "unknown"
    text = (f"{cpu['model_name'] or 'unknown CPU'}, {peak['cores']} logical CPUs at {peak['ghz'] or 0:.2f} GHz, "
            f"flags {' '.join(cpu['flags']) or '-'}; FP32 peak {fp32} GFLOP/s")
    if peak.get("bf16_amx_gflops"):
        text += f", bf16 AMX peak {peak['bf16_amx_gflops']:.0f} GFLOP/s"
    return text + f"; TF devices: {', '.join(machine['devices'])}"


def load_average() -> float | None:
    """The 1-minute load average (None where /proc/loadavg does not exist)."""
    try:
        with open("/proc/loadavg", encoding="utf-8") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def busy_cpu_seconds() -> float | None:
    """CPU seconds all processes on the host have used since boot (user+nice+system+irq+softirq+steal in
    /proc/stat; steal counts because a VM's neighbours slow it down too); None off Linux."""
    try:
        with open("/proc/stat", encoding="utf-8") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU seconds used by this process's finished (waited-for) child processes."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
