"""Timing helpers: warm-up excluded, medians over repeated windows, device synchronisation at the edges only."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Throughput:
    """Items per second over each timed window; ``median`` is what gets reported."""

    per_window: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.per_window) if self.per_window else float("nan")

    def as_dict(self) -> dict[str, float | list[float]]:
        return {"median": self.median, "windows": self.per_window}


def windows_from_marks(marks: list[float], items_per_step: int, steps_per_window: int) -> Throughput:
    """Throughput of each window between consecutive window-edge times ``marks`` (one mark every
    ``steps_per_window`` steps)."""
    return Throughput(
        [items_per_step * steps_per_window / (b - a) for a, b in zip(marks, marks[1:])]
    )


def time_iterations(
    steps: Iterator[int] | Callable[[], int],
    device: torch.device,
    warmup: int,
    windows: int,
    steps_per_window: int,
) -> Throughput:
    """Call ``steps`` (a callable returning the number of items it processed, or an iterator of such counts)
    ``warmup`` times untimed, then ``windows`` timed windows of ``steps_per_window`` calls each."""
    step = steps if callable(steps) else (lambda it=steps: next(it))
    for _ in range(warmup):
        step()
    sync(device)
    rates = []
    for _ in range(windows):
        n = 0
        t0 = time.perf_counter()
        for _ in range(steps_per_window):
            n += step()
        sync(device)
        rates.append(n / (time.perf_counter() - t0))
    return Throughput(rates)
