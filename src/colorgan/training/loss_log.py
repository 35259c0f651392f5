"""The training losses in the logs: added up on the device every step, handed to Lightning only when it writes.

Lightning's ``self.log(name, value, on_step=True, on_epoch=True, sync_dist=True)`` costs a few hundred microseconds
of Python per value and step, and under DDP one all-reduce per value and step; with the six GAN losses that was most
of the training step's host time, which a GPU spends waiting. Here a step costs one device operation per network.
Lightning still gets the same names (``train/<loss>_step`` on the steps its loggers write, every
``trainer.log_every_n_steps`` batches; ``train/<loss>_epoch`` once per epoch), and under DDP the same values (means
over all ranks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import lightning as L
import torch
from torch import Tensor


def lightning_writes_logs(trainer: L.Trainer) -> bool:
    """Whether the loggers will get this training batch's step values: every ``trainer.log_every_n_steps`` batches
    (and every batch of a ``fast_dev_run``). Lightning's own rule, the one its LearningRateMonitor follows."""
    return bool(trainer._logger_connector.should_update_logs or trainer.fast_dev_run)


class LossLog:
    """Weighted means of named training values (one network's losses), summed on the device.

    >>> log = LossLog(("loss", "score"))
    >>> log.add(torch.tensor([2.0, 0.5]), weight=4)
    >>> log.add(torch.tensor([1.0, 0.0]), weight=2)
    >>> {k: round(v.item(), 4) for k, v in log.epoch_means(torch.device("cpu")).items()}
    {'loss': 1.6667, 'score': 0.3333}
    >>> log.epoch_means(torch.device("cpu"))  # read, and started afresh
    {}
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self._sums: Tensor | None = None  # (len(names),) float32 on the values' device
        self._weight = 0

    def add(self, values: Tensor, weight: int) -> None:
        """Add one step's ``values`` (a ``(len(names),)`` float32 tensor), weighted by its batch size ``weight``."""
        if self._sums is None:
            self._sums = values.detach() * weight
        else:
            self._sums.add_(values.detach(), alpha=weight)
        self._weight += weight

    def epoch_means(
        self, device: torch.device, reduce_sum: Callable[[Tensor], Tensor] | None = None
    ) -> dict[str, Tensor]:
        """The means since the last read, ``{}`` when nothing was added; then starts afresh.

        Under DDP pass ``reduce_sum`` (a sum over the ranks, e.g. ``strategy.reduce(t, reduce_op="sum")``), on
        every rank: the means are then over all ranks' batches, one all-reduce for all the values.
        """
        sums = self._sums if self._sums is not None else torch.zeros(len(self.names), device=device)
        totals = torch.cat([sums.to(device), torch.tensor([float(self._weight)], device=device)])
        self._sums, self._weight = None, 0
        if reduce_sum is not None:
            totals = reduce_sum(totals)
        weight = float(totals[-1])
        if weight == 0:
            return {}
        return dict(zip(self.names, (totals[:-1] / weight).unbind()))
