"""Test-only tools that break a training run on purpose and watch what it does.

The callbacks go into a real run through the Hydra config
(``+callbacks.NAME={_target_: helpers.fault_injection.X, ...}``), also in a subprocess started with
:func:`start_training` (``tests/`` is put on its PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch

TESTS_DIR = Path(__file__).resolve().parents[1]  # on the PYTHONPATH of runs, so helpers.* imports


# --------------------------------------------------------------------------------------------- in the run
class PoisonLoss(L.Callback):
    """Turn the ``ab`` targets of chosen training batches (indices counted over the whole run) into NaN, so both
    losses of those batches are NaN. ``batches=None`` poisons every batch."""

    def __init__(self, batches: Sequence[int] | None = None) -> None:
        self.batches = None if batches is None else set(batches)
        self.seen = 0

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.batches is None or self.seen in self.batches:
            batch["ab"].fill_(float("nan"))
        self.seen += 1


class DeleteFile(L.Callback):
    """Delete a file once the data is set up: a photo that vanishes (or stops being readable) mid-run."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.path.unlink()


class Pace(L.Callback):
    """Sleep after every training batch, so that an epoch lasts long enough for a test to act inside it on any
    machine, fast or loaded."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        time.sleep(self.seconds)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)  # a reader never sees half a file


class RecordProgress(L.Callback):
    """Write what a test needs to check continuity into ``folder``:

    * ``start.pt`` before the first training batch of this process: where it starts (epoch, global step, index of
      the batch in its epoch, the Adam step count of each optimizer) and the generator's weights;
    * ``progress.json`` after every training batch: epoch, global step, batches done in this epoch and in this
      process.
    """

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.batches_here = 0

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.batches_here:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "epoch": trainer.current_epoch,
                "global_step": trainer.global_step,
                "batch_idx": batch_idx,
                "optimizer_steps": [
                    [float(s["step"]) for s in opt.state.values()][:1] for opt in trainer.optimizers
                ],
                "generator": {k: v.detach().cpu().clone() for k, v in pl_module.generator.state_dict().items()},
            },
            self.folder / "start.pt",
        )

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self.batches_here += 1
        _write_json(
            self.folder / "progress.json",
            {
                "epoch": trainer.current_epoch,
                "global_step": trainer.global_step,
                "batches_done_in_epoch": trainer.fit_loop.epoch_loop.batch_progress.current.processed,
                "batches_this_process": self.batches_here,
            },
        )


class RankProgress(L.Callback):
    """Under DDP: after every training batch, ``folder/progress_rank<R>.json`` with this rank's global step and the
    batches it trained in this process, for a test that checks all ranks stopped at the same batch."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self.batches_here = 0

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self.batches_here += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_json(
            self.folder / f"progress_rank{trainer.global_rank}.json",
            {"global_step": trainer.global_step, "batches_this_process": self.batches_here, "pid": os.getpid()},
        )


class Deadlock(L.Callback):
    """Under DDP: after training batch ``batch``, every rank waits for a message from another rank that never sends
    one, as ranks do that wait in different collectives. Each writes ``folder/stuck_rank<R>`` first. The wait is in
    C++ (gloo): no Python code, signal handlers included, runs in the main thread until it returns."""

    def __init__(self, folder: str, batch: int = 1) -> None:
        self.folder = Path(folder)
        self.batch = batch

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if args[-1] != self.batch:
            return
        import torch.distributed as dist

        rank = trainer.global_rank
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"stuck_rank{rank}").write_text(str(os.getpid()))
        dist.recv(torch.zeros(1), src=(rank + 1) % trainer.world_size)


def callback_overrides(name: str, target: type, **kwargs: Any) -> list[str]:
    """Hydra overrides that add ``target(**kwargs)`` to the run's callbacks as ``callbacks.<name>``."""
    out = [f"+callbacks.{name}._target_={target.__module__}.{target.__qualname__}"]
    for key, value in kwargs.items():
        out.append(f"+callbacks.{name}.{key}={json.dumps(value)}")
    return out


# ------------------------------------------------------------------------------------------- around it
def start_training(overrides: Iterable[str], cwd: Path, log_file: Path, **popen: Any) -> subprocess.Popen:
    """``python -m colorgan.train *overrides`` in the background, stdout and stderr into ``log_file``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), *filter(None, [env.get("PYTHONPATH")])])
    out = open(log_file, "w")  # noqa: SIM115 - the child writes to it after this function returns
    return subprocess.Popen(
        [sys.executable, "-m", "colorgan.train", *overrides],
        cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, **popen,
    )


def wait_for(condition: Callable[[], Any], timeout: float, what: str, proc: subprocess.Popen | None = None,
             log_file: Path | None = None, poll: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something truthy (which is returned). Fails the test with ``what`` and
    the end of the run's log when ``timeout`` seconds pass or ``proc`` ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(poll)
    log = log_file.read_text()[-4000:] if log_file is not None and log_file.exists() else ""
    status = "" if proc is None else f" (process exit code {proc.poll()})"
    raise AssertionError(f"timed out waiting for {what}{status}\n--- log ---\n{log}")


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
