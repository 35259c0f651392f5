"""Host overhead per training step: colorgan's step under Lightning against the plain loop of the same tiny model.

With a tiny model (64 px, ngf = ndf = 8) a step's arithmetic is small, and what differs between colorgan's step and
the plain PyTorch loop (:class:`~colorgan.benchmark.models.PlainLoop`) is host work: Lightning's loop and hooks,
colorgan's non-finite guard, its logging. On a GPU that work decides whether the GPU waits for Python.

The two are timed in alternating windows inside one fit: after each window of the fit, a callback runs a window of
the plain loop on the same batch, so that each pair sees the same machine load; the overhead is the median of the
per-pair differences, in wall time and in the process's CPU time. On a CPU both run on one thread. Lightning's floor
is measured the same way: the same Trainer whose ``training_step`` only runs the plain loop.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import lightning as L
import torch
from torch import Tensor

from colorgan.benchmark.models import PlainLoop, RepeatedBatch, make_model, synthetic_batch
from colorgan.benchmark.timing import sync

TINY = {"image_size": 64, "ngf": 8, "ndf": 8}


@dataclass
class PairedWindows:
    """Per-step times (ms) of alternating windows: the fit's, and the plain loop's right after each."""

    fit_ms: list[float] = field(default_factory=list)
    plain_ms: list[float] = field(default_factory=list)
    fit_cpu_ms: list[float] = field(default_factory=list)
    plain_cpu_ms: list[float] = field(default_factory=list)

    @property
    def differences(self) -> list[float]:
        return [f - p for f, p in zip(self.fit_ms, self.plain_ms)]

    @property
    def cpu_differences(self) -> list[float]:
        return [f - p for f, p in zip(self.fit_cpu_ms, self.plain_cpu_ms)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "median_ms": statistics.median(self.differences),
            "windows_ms": self.differences,
            "cpu_median_ms": statistics.median(self.cpu_differences),
            "cpu_windows_ms": self.cpu_differences,
            "fit_ms_per_step": self.fit_ms,
            "plain_ms_per_step": self.plain_ms,
        }


class _Alternate(L.Callback):
    """Closes a timed window every ``steps`` batches of the fit, then times a window of the plain loop."""

    def __init__(self, loop: PlainLoop, batch: dict[str, Tensor], device: torch.device, warmup: int, windows: int,
                 steps: int) -> None:
        self.loop, self.batch, self.device = loop, batch, device
        self.warmup, self.windows, self.steps = warmup, windows, steps
        self.result = PairedWindows()
        self._start: tuple[float, float] | None = None

    @staticmethod
    def _now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def _per_step_ms(self, start: tuple[float, float]) -> tuple[float, float]:
        sync(self.device)
        wall, cpu = self._now()
        return (wall - start[0]) * 1e3 / self.steps, (cpu - start[1]) * 1e3 / self.steps

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        done = batch_idx + 1 - self.warmup
        if done < 0 or done % self.steps or len(self.result.fit_ms) == self.windows:
            return
        if self._start is None:  # end of the warm-up: warm the plain loop up too
            for _ in range(self.warmup):
                self.loop.step(self.batch)
        else:
            wall, cpu = self._per_step_ms(self._start)
            self.result.fit_ms.append(wall)
            self.result.fit_cpu_ms.append(cpu)
            sync(self.device)
            start = self._now()
            for _ in range(self.steps):
                self.loop.step(self.batch)
            wall, cpu = self._per_step_ms(start)
            self.result.plain_ms.append(wall)
            self.result.plain_cpu_ms.append(cpu)
        sync(self.device)
        self._start = self._now()


class PlainLoopModule(L.LightningModule):
    """Lightning's floor: a LightningModule whose training step is nothing but the plain loop's step."""

    def __init__(self, loop: PlainLoop) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.loop = loop
        self.networks = torch.nn.ModuleList([loop.g, loop.d])  # so that Lightning sees (and places) the weights

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return []

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self.loop.step(batch)


def _fit(module: L.LightningModule, loop: PlainLoop, batch: dict[str, Tensor], device: torch.device,
         precision: str, warmup: int, windows: int, steps: int) -> PairedWindows:
    clock = _Alternate(loop, batch, device, warmup, windows, steps)
    n = warmup + windows * steps + 1
    trainer = L.Trainer(
        accelerator="gpu" if device.type == "cuda" else "cpu", devices=1, precision=precision, max_epochs=1,
        limit_train_batches=n, limit_val_batches=0, num_sanity_val_steps=0, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[clock],
        benchmark=True,
    )
    trainer.fit(module, train_dataloaders=RepeatedBatch(batch, n))
    return clock.result


def host_overhead(device: torch.device, precision: str, batch_size: int, warmup: int, windows: int,
                  steps: int) -> dict[str, Any]:
    """colorgan's host overhead per step and Lightning's floor, both over the plain loop, in ms (tiny model).

    Returns ``host_overhead_ms`` (colorgan's step minus the plain loop's: median, and every window pair),
    ``lightning_floor_ms`` (the same for a Trainer that only runs the plain loop), their difference
    ``host_overhead_over_floor_ms``, and the CPU-time medians (process time, all threads) of the first two.
    """
    batch = synthetic_batch(batch_size, TINY["image_size"], device, False)

    def tiny() -> Any:
        return make_model(TINY["image_size"], TINY["ngf"], TINY["ndf"], False, False)

    threads = torch.get_num_threads()
    if device.type == "cpu":
        # One thread: the arithmetic then runs where the host work runs, and on a busy machine the comparison is not
        # thrown off by intra-op threads waiting for each other.
        torch.set_num_threads(1)
    try:
        colorgan = _fit(tiny(), PlainLoop(tiny(), device, precision), batch, device, precision, warmup, windows,
                        steps)
        floor_loop = PlainLoop(tiny(), device, precision)
        floor = _fit(PlainLoopModule(floor_loop), floor_loop, batch, device, precision, warmup, windows, steps)
    finally:
        torch.set_num_threads(threads)
    over, under = colorgan.as_dict(), floor.as_dict()
    return {
        "host_overhead_ms": over,
        "lightning_floor_ms": under,
        "host_overhead_over_floor_ms": over["median_ms"] - under["median_ms"],
        "tiny_model": {**TINY, "batch_size": batch_size, "windows": windows, "steps_per_window": steps},
    }
