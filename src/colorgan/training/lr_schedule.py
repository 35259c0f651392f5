"""The Pix2Pix learning-rate schedule: constant, then a linear decay over the last epochs of the run."""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR

log = logging.getLogger(__name__)


class LinearDecay:
    """The factor on the learning rate for an epoch (0-based), as Pix2Pix computes it.

    ``1`` for the first ``total_epochs - decay_epochs`` epochs, then falling by ``1 / (decay_epochs + 1)`` every
    epoch: the last epoch trains at ``1 / (decay_epochs + 1)`` of the initial rate (Pix2Pix's 100 + 100 epochs:
    ``lr_l = 1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1)``).

    A plain object rather than a lambda, so ``LambdaLR.state_dict`` saves it and a resumed run goes on where it
    stopped.

    >>> f = LinearDecay(total_epochs=4, decay_epochs=2)
    >>> [round(f(e), 4) for e in range(4)]
    [1.0, 1.0, 0.6667, 0.3333]
    """

    def __init__(self, total_epochs: int, decay_epochs: int) -> None:
        if decay_epochs < 1 or total_epochs < decay_epochs:
            raise ValueError(
                f"model.lr_decay_epochs={decay_epochs} must be between 1 and trainer.max_epochs={total_epochs}"
            )
        self.total_epochs = int(total_epochs)
        self.decay_epochs = int(decay_epochs)

    def __call__(self, epoch: int) -> float:
        hold = self.total_epochs - self.decay_epochs
        return 1.0 - max(0, epoch + 1 - hold) / (self.decay_epochs + 1)


def linear_decay(optimizer: torch.optim.Optimizer, total_epochs: int | None, decay_epochs: int) -> LambdaLR:
    """A per-epoch :class:`LambdaLR` with :class:`LinearDecay` for ``optimizer``.

    ``total_epochs`` is ``trainer.max_epochs``: the decay is placed by epochs, so a run must have an epoch count.
    """
    if total_epochs is None or total_epochs < 1:
        raise ValueError(
            f"model.lr_decay_epochs={decay_epochs} decays the learning rate over the last epochs of the run, so it "
            f"needs trainer.max_epochs (got {total_epochs}); set trainer.max_epochs or model.lr_decay_epochs=0"
        )
    return LambdaLR(optimizer, LinearDecay(total_epochs, decay_epochs))


def fit_schedule_to_run(schedulers: Any, epoch: int, max_epochs: int, decay_epochs: int) -> None:
    """Make a resumed run follow the schedule of its own config: the position from the ``epoch`` the run is at, the
    length from ``max_epochs`` (``trainer.max_epochs``: resuming with a larger one stretches the decay to the new
    end). ``schedulers``: what ``LightningModule.lr_schedulers()`` returns; those without :class:`LinearDecay` are
    left alone.

    The position is the epoch counter rather than the scheduler's own ``last_epoch``: a checkpoint of a run that
    had no decay (``model.lr_decay_epochs`` switched on when resuming) holds no scheduler state, and its new
    scheduler would otherwise start the schedule again at epoch 0 and never reach the decay.
    """
    for sched in schedulers if isinstance(schedulers, list) else [schedulers]:
        if not any(isinstance(rule, LinearDecay) for rule in getattr(sched, "lr_lambdas", ())):
            continue
        if sched.last_epoch != epoch:
            log.info(
                "model.lr_decay_epochs=%d: the checkpoint's schedule was at epoch %d; it goes on from epoch %d, "
                "where the run is",
                decay_epochs,
                sched.last_epoch,
                epoch,
            )
            sched.last_epoch = epoch
        for group, base_lr, rule in zip(sched.optimizer.param_groups, sched.base_lrs, sched.lr_lambdas):
            if isinstance(rule, LinearDecay):
                fitted = LinearDecay(max_epochs, decay_epochs)
                rule.__dict__.update(fitted.__dict__)
                group["lr"] = base_lr * rule(sched.last_epoch)
