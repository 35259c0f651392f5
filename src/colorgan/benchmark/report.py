"""What the benchmark prints: the machine and versions, and a table of results."""

from __future__ import annotations

import os
import platform
from typing import Any

import torch

# Dense tensor-core peaks per GPU in TFLOP/s (bf16, and TF32 for 32-bit convolutions), from the vendors' sheets.
PEAK_TFLOPS: list[tuple[str, dict[str, float]]] = [
    ("H100 PCIe", {"bf16": 756.0, "fp32": 378.0}),
    ("H100", {"bf16": 989.0, "fp32": 494.0}),
    ("H200", {"bf16": 989.0, "fp32": 494.0}),
    ("A100", {"bf16": 312.0, "fp32": 156.0}),
    ("L40S", {"bf16": 362.0, "fp32": 183.0}),
    ("RTX 4090", {"bf16": 165.0, "fp32": 82.6}),
    ("A10", {"bf16": 125.0, "fp32": 62.5}),
]


def device_peak_tflops(device: torch.device, precision: str) -> float | None:
    """The device's dense peak for ``precision``, or None where it is not known (CPUs, unlisted GPUs)."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    kind = "bf16" if precision.startswith("bf16") or precision.startswith("16") else "fp32"
    for key, peaks in PEAK_TFLOPS:
        if key in name:
            return peaks[kind]
    return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(device: torch.device) -> dict[str, Any]:
    import kornia
    import lightning

    import colorgan

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    info: dict[str, Any] = {
        "cpu": _cpu_name(),
        "cpu_cores": cpus,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "kornia": kornia.__version__,
        "colorgan": colorgan.__version__,
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
        info["gpu_memory_gb"] = round(torch.cuda.get_device_properties(device).total_memory / 2**30, 1)
    return info


def markdown_table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    lines = [f"| {'measure'.ljust(width)} | value |", f"| {'-' * width} | --- |"]
    lines += [f"| {k.ljust(width)} | {v} |" for k, v in rows]
    return "\n".join(lines)
