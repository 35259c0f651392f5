"""The training stages of a ColorGAN (0: generator pretraining, 1: GAN), logged and announced."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("colorgan.training.module")


def announce_stage(module: Any) -> None:
    """Log ``train/stage`` (0: generator pretraining, 1: GAN) for the epoch, and say when the stage changes."""
    epoch, stage = module.current_epoch, module.stage(module.current_epoch)
    # a constant, the same on every rank: no sync_dist (see the warning filter of colorgan.training.module)
    module.log("train/stage", float(stage), on_step=False, on_epoch=True, batch_size=1, sync_dist=False)
    if not module.pretrain_epochs or not module.trainer.is_global_zero:
        return
    if stage == 0 and not module._pretraining_announced:
        module._pretraining_announced = True
        log.info(
            "Generator pretraining (model.l1_warmup_epochs=%d): epochs %d-%d train G on L1 alone, no "
            "discriminator; the GAN switches on at epoch %d",
            module.pretrain_epochs,
            epoch,
            module.pretrain_epochs - 1,
            module.pretrain_epochs,
        )
        max_epochs = module.trainer.max_epochs
        if max_epochs is not None and 0 < max_epochs <= module.pretrain_epochs:
            log.warning(
                "trainer.max_epochs=%d <= model.l1_warmup_epochs=%d: the GAN never switches on in this run",
                max_epochs,
                module.pretrain_epochs,
            )
    elif epoch == module.pretrain_epochs:
        log.info(
            "Epoch %d: generator pretraining is over after %d epoch(s); the GAN switches on (discriminator steps "
            "and the adversarial loss from now on)",
            epoch,
            module.pretrain_epochs,
        )
