"""A test-only callback that records a training run's state, for tests that train in a subprocess or under DDP.

Add it to a run with ``+callbacks.probe._target_=helpers.probes.StateProbe +callbacks.probe.dirpath=DIR`` (``tests/`` on
``PYTHONPATH``). It writes ``DIR/{start,end}_rank{R}.pt`` holding, on CPU: the LightningModule's ``state_dict``,
the optimizers' ``state_dict``s, ``global_step``, ``current_epoch``, ``world_size``, the device of the weights and
of the optimizer state, the logged metrics (``trainer.callback_metrics``) and the progress bar's class name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch


def _to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def _optimizer_devices(optimizers: list[torch.optim.Optimizer]) -> list[str]:
    return sorted(
        {str(t.device) for opt in optimizers for state in opt.state.values() for k, t in state.items()
         if isinstance(t, torch.Tensor) and k != "step"}
    )


class StateProbe(L.Callback):
    def __init__(self, dirpath: str) -> None:
        self.dirpath = Path(dirpath)

    def _dump(self, trainer: L.Trainer, pl_module: L.LightningModule, when: str) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        record = {
            "state_dict": _to_cpu(pl_module.state_dict()),
            "optimizer_states": [_to_cpu(opt.state_dict()) for opt in trainer.optimizers],
            "global_step": trainer.global_step,
            "current_epoch": trainer.current_epoch,
            "world_size": trainer.world_size,
            "weights_device": str(next(pl_module.generator.parameters()).device),
            "optimizer_devices": _optimizer_devices(trainer.optimizers),
            "metrics": {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1},
            "progress_bar": type(trainer.progress_bar_callback).__name__,
        }
        torch.save(record, self.dirpath / f"{when}_rank{trainer.global_rank}.pt")

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._dump(trainer, pl_module, "start")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._dump(trainer, pl_module, "end")
