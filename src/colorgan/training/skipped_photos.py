"""An end-of-epoch summary of the photos that could not be read."""

from __future__ import annotations

import logging

import lightning as L
import torch

from colorgan.data.files import NoImagesError

log = logging.getLogger(__name__)


class SkippedPhotosReport(L.Callback):
    """Once an epoch: how many photos were skipped and which (the first ``max_names``), logged as a count too.

    If an entire training epoch read no photo at all (every file unreadable) the run stops with a clear error.
    """

    def __init__(self, max_names: int = 10) -> None:
        self.max_names = max_names

    def _report(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        dm = trainer.datamodule
        if dm is None or not hasattr(dm, "pop_epoch_report"):
            return
        seen, skipped = dm.pop_epoch_report(split)
        counts = torch.tensor([seen, len(skipped)], dtype=torch.float64, device=pl_module.device)
        counts = trainer.strategy.reduce(counts, reduce_op="sum")
        total_seen, total_skipped = int(counts[0]), int(counts[1])
        if not trainer.sanity_checking:
            pl_module.log(f"{split}/skipped_photos", float(total_skipped), sync_dist=False)
        if skipped:
            names = "; ".join(skipped[: self.max_names])
            more = f" (+{len(skipped) - self.max_names} more)" if len(skipped) > self.max_names else ""
            log.warning(
                "Epoch %d (%s): skipped %d unreadable photo(s): %s%s",
                trainer.current_epoch, split, len(skipped), names, more,
            )
        if split == "train" and total_seen == 0 and total_skipped > 0:
            root = getattr(dm, "hparams", {}).get("root", "data.root")
            raise NoImagesError(
                f"Every photo of the training epoch was unreadable ({total_skipped} files under {root}, e.g. "
                f"{skipped[0] if skipped else '?'}). Check the files or point data.root at another folder."
            )

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._report(trainer, pl_module, "train")

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._report(trainer, pl_module, "val")
