"""The streaming data path: colorgan-prepare's cost per 1,000 photos, and the streaming loader (LitData chunks on
local disk) against the folder and cache paths, in images per second and peak memory."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from colorgan.benchmark.data_path import colorgan_loader
from colorgan.benchmark.timing import Throughput

IMAGENET_PHOTOS = 1_281_167  # ImageNet-1k's training photos


class PeakMemory:
    """Peak resident memory of this process and its children (the decode workers), sampled every 20 ms while the
    block runs, in GiB. Without psutil: this process's own peak (``ru_maxrss``), workers not counted."""

    def __init__(self) -> None:
        self.peak_gb = 0.0
        self._stop = threading.Event()

    def _sample(self) -> float:
        import psutil

        me = psutil.Process()
        total = 0
        for proc in [me, *me.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**30

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_gb = max(self.peak_gb, self._sample())
            self._stop.wait(0.02)

    def __enter__(self) -> PeakMemory:
        try:
            import psutil  # noqa: F401
        except ImportError:
            import resource

            self.peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
            return self
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if hasattr(self, "_thread"):
            self._stop.set()
            self._thread.join()


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def prepare_cost(
    root: Path, out: Path, image_size: int, workers: int, val_fraction: float, test_fraction: float
) -> dict[str, Any]:
    """Prepare ``root`` into ``out`` anew and measure it: seconds and stored bytes per 1,000 photos, and those
    figures times ImageNet's 1.28 M photos (a linear extrapolation, not a measurement)."""
    from colorgan.data.preparing import prepare_photos

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    report = prepare_photos(
        root, str(out), size=image_size, num_workers=workers, val_fraction=val_fraction, test_fraction=test_fraction
    )
    seconds = time.perf_counter() - t0
    photos = sum(report.written.values())
    stored = folder_bytes(out)
    source = folder_bytes(root)
    per_k = 1000.0 / photos
    return {
        "photos": photos,
        "workers": workers,
        "seconds": seconds,
        "seconds_per_1000": seconds * per_k,
        "mb_per_1000": stored * per_k / 1e6,
        "source_mb_per_1000": source * per_k / 1e6,
        "imagenet_extrapolated_hours": seconds / photos * IMAGENET_PHOTOS / 3600,
        "imagenet_extrapolated_gb": stored / photos * IMAGENET_PHOTOS / 1e9,
    }


def loader_runs(
    make: dict[str, Callable[[], Any]], device: torch.device, warmup: int, windows: int, steps: int
) -> dict[str, dict[str, Any]]:
    """Images per second (median and every window) and peak memory of each loader ``make`` builds."""
    out = {}
    for name, build in make.items():
        with PeakMemory() as peak:
            t: Throughput = colorgan_loader(build(), device, warmup, windows, steps)
        out[name] = {**t.as_dict(), "peak_memory_gb": peak.peak_gb}
    return out
