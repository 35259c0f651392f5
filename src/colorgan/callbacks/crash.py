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
    """

    def __init__(self, dirpath: str | Path, filename: str = "last") -> None:
        self.path = Path(dirpath) / f"{filename}.ckpt"

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if trainer.state.fn != "fit" or trainer.sanity_checking:
            return
        try:
            trainer.save_checkpoint(self.path)
        except Exception as err:  # noqa: BLE001 - never mask the original exception
            log.error("Could not save a checkpoint after %s: %s", type(exception).__name__, err)
            return
        log.warning(
            "Training stopped by %s; saved %s (epoch %d, global step %d). Resume with ckpt_path=last.",
            type(exception).__name__, self.path, trainer.current_epoch, trainer.global_step,
        )
