"""Adversarial losses on discriminator logits: vanilla (BCE), LSGAN and hinge."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

GAN_MODES = ("vanilla", "lsgan", "hinge")


class GANLoss:
    """The adversarial loss of one ``gan_mode``.

    * ``vanilla``: binary cross-entropy with logits (Pix2Pix), targets 1 for real, 0 for fake.
    * ``lsgan``: mean squared error against the same targets.
    * ``hinge``: D minimises ``relu(1 - real) + relu(1 + fake)``, G minimises ``-fake``.

    Both methods return a scalar (the mean over patches and batch).
    """

    def __init__(self, mode: str = "vanilla") -> None:
        if mode not in GAN_MODES:
            raise ValueError(f"model.gan_mode must be one of {GAN_MODES}, got {mode!r}")
        self.mode = mode

    def _against(self, logits: Tensor, target: float) -> Tensor:
        t = torch.full_like(logits, target)
        if self.mode == "vanilla":
            return F.binary_cross_entropy_with_logits(logits, t)
        return F.mse_loss(logits, t)

    def discriminator_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """D's loss; like Pix2Pix, the mean of the real and fake terms (halves D's learning rate in effect)."""
        if self.mode == "hinge":
            return 0.5 * (F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean())
        return 0.5 * (self._against(real_logits, 1.0) + self._against(fake_logits, 0.0))

    def generator_loss(self, fake_logits: Tensor) -> Tensor:
        """G's adversarial loss: make D call the fake real."""
        if self.mode == "hinge":
            return -fake_logits.mean()
        return self._against(fake_logits, 1.0)
