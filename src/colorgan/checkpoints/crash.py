"""Save ``last.ckpt`` when training dies of an exception, so ``ckpt_path=last`` loses nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L

log = logging.getLogger(__name__)


class CrashCheckpoint(L.Callback):
    """On any exception during fit (Ctrl-C, SIGTERM from a scheduler, too many NaN steps, ...), write
    ``<dirpath>/<filename>.ckpt`` before the run ends.

    Unlike Lightning's ``OnExceptionCheckpoint`` it does not make ``fit(ckpt_path=None)`` resume on its own:
    resuming stays an explicit ``ckpt_path``.

    Nothing is written when the run dies before it trained a single step (a wrong ``data.root``, a crash in the
    first batch): such a file would hold an untrained model, and ``ckpt_path=last`` would then pick it over the
    previous run's real progress.
    """

    def __init__(self, dirpath: str | Path, filename: str = "last") -> None:
        self.path = Path(dirpath) / f"{filename}.ckpt"
        self._start_step: int | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start_step = trainer.global_step

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if trainer.state.fn != "fit" or trainer.sanity_checking:
            return
        if self._start_step is None or trainer.global_step == self._start_step:
            log.info("Stopped by %s before any optimizer step: no checkpoint written", type(exception).__name__)
            return
        try:
            trainer.save_checkpoint(self.path, weights_only=False)
        except Exception as err:  # noqa: BLE001 - never mask the original exception
            log.error("Could not save a checkpoint after %s: %s", type(exception).__name__, err)
            return
        log.warning(
            "Training stopped by %s; saved %s (epoch %d, global step %d). Resume with ckpt_path=last.",
            type(exception).__name__, self.path, trainer.current_epoch, trainer.global_step,
        )
