"""A fixed set of validation photos, colorized after every validation: PNG on disk and an image in W&B."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from PIL import Image
from torch import Tensor

from colorgan.color import gray_rgb, model_lab_to_rgb, rgb_to_model_lab, uint8_to_float
from colorgan.training.grid import labelled_grid

log = logging.getLogger(__name__)


@torch.no_grad()
def colorized_rows(pl_module: L.LightningModule, images: Tensor) -> list[tuple[str, Tensor]]:
    """uint8 RGB ``(N, 3, S, S)`` -> ``[("gray", ...), ("colorized", ...), ("truth", ...)]``, each ``(N, 3, S, S)``
    float in [0, 1] on the module's device; colorized as colorize delivers it (the photo's lightness kept)."""
    rgb = uint8_to_float(images.to(pl_module.device))
    L_, _ = rgb_to_model_lab(rgb)
    was_training = pl_module.training
    pl_module.eval()
    try:
        fake = pl_module(L_)
    finally:
        pl_module.train(was_training)
    return [("gray", gray_rgb(L_)), ("colorized", model_lab_to_rgb(L_, fake, keep_lightness=True)), ("truth", rgb)]


class SampleGrid(L.Callback):
    """After each validation (sanity check excluded), colorize the same ``num_images`` validation photos.

    Writes ``<dirpath>/epoch<EEE>_step<SSSSSSS>.png`` and ``<dirpath>/latest.png`` with three labelled rows —
    gray input, colorized, ground truth — and logs the grid to every W&B logger as ``samples``. At the end of the
    generator pretraining (the module's ``pretrain_epochs``, ``model.l1_warmup_epochs``) it also writes
    ``<dirpath>/pretrain_end.png``, logged as ``pretrain/samples``: what the GAN starts from. Rank 0 only.
    """

    def __init__(self, dirpath: str | Path, num_images: int = 8, log_to_wandb: bool = True) -> None:
        self.dirpath = Path(dirpath)
        self.num_images = int(num_images)
        self.log_to_wandb = log_to_wandb
        self._images: Tensor | None = None
        self._written = False

    def _fixed_images(self, trainer: L.Trainer) -> Tensor:
        if self._images is None:
            dm = trainer.datamodule
            if dm is None or not hasattr(dm, "sample_images"):
                self._images = torch.empty(0)
            else:
                self._images = dm.sample_images(self.num_images)
        return self._images

    def render(self, pl_module: L.LightningModule, images: Tensor) -> Image.Image:
        """uint8 RGB ``(N, 3, S, S)`` -> the labelled grid (gray | colorized | truth) as a PIL image."""
        return labelled_grid(colorized_rows(pl_module, images))

    def _write(self, trainer: L.Trainer, pl_module: L.LightningModule, *names: str) -> Image.Image | None:
        """Render the grid of the fixed photos and save it under each of ``names`` in ``dirpath`` (None: no photos)."""
        images = self._fixed_images(trainer)
        if images.numel() == 0:
            return None
        grid = self.render(pl_module, images)
        self.dirpath.mkdir(parents=True, exist_ok=True)
        for name in names:
            grid.save(self.dirpath / name)
        return grid

    @rank_zero_only
    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        name = f"epoch{trainer.current_epoch:03d}_step{trainer.global_step:07d}.png"
        grid = self._write(trainer, pl_module, name, "latest.png")
        if grid is None:
            return
        path = self.dirpath / name
        first = not self._written
        self._written = True
        (log.info if first else log.debug)(
            "Sample grid written to %s%s", path, " (and one more after every validation)" if first else ""
        )
        self._to_wandb(trainer, "samples", grid, f"epoch {trainer.current_epoch}: gray | colorized | truth")

    @rank_zero_only
    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pretrain_epochs = getattr(pl_module, "pretrain_epochs", 0)
        if not pretrain_epochs or trainer.current_epoch != pretrain_epochs - 1:
            return
        grid = self._write(trainer, pl_module, "pretrain_end.png")
        if grid is None:
            return
        log.info("Sample grid at the end of the generator pretraining written to %s", self.dirpath / "pretrain_end.png")
        self._to_wandb(
            trainer, "pretrain/samples", grid,
            f"end of the generator pretraining (epoch {trainer.current_epoch}): gray | colorized | truth",
        )

    def _to_wandb(self, trainer: L.Trainer, key: str, grid: Image.Image, caption: str) -> None:
        if not self.log_to_wandb:
            return
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                # no step: W&B attaches the step of the latest logged metrics (Lightning's own step axis)
                logger.log_image(key=key, images=[grid], caption=[caption])
