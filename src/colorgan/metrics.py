"""Colorization metrics on RGB images: PSNR, SSIM (torchmetrics), L1 on ab, and colourfulness."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from colorgan.color import rgb_to_model_lab


def colorfulness(rgb: Tensor) -> Tensor:
    """Hasler & Süsstrunk (2003) colourfulness of each image.

    Args:
        rgb: ``(B, 3, H, W)`` in [0, 1].

    Returns:
        ``(B,)``, on the paper's 0-255 scale: about 0 for gray, ~15 "slightly", ~33 "moderately", ~59 "quite",
        ~82 "highly", ~109+ "extremely colourful".
    """
    if rgb.dim() != 4 or rgb.shape[1] != 3:
        raise ValueError(f"rgb must have shape (B, 3, H, W), got {tuple(rgb.shape)}")
    x = rgb.float() * 255.0
    r, g, b = x.unbind(1)
    rg = (r - g).flatten(1)
    yb = (0.5 * (r + g) - b).flatten(1)
    std = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False))
    mean = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2)
    return std + 0.3 * mean


HIGHER_IS_BETTER = ("psnr", "ssim", "colorfulness")


def metric_direction(name: str) -> str:
    """``maximize`` for a metric where more is better (``val/psnr``, ``test/ssim``, ``val/colorfulness``),
    ``minimize`` for the rest (``val/l1_ab``, losses, ``colorfulness_gap``). Sweepers use it for
    ``optimized_metric``."""
    return "maximize" if str(name).rsplit("/", 1)[-1] in HIGHER_IS_BETTER else "minimize"


class ColorizationMetrics(nn.Module):
    """Validation/test metrics, reduced correctly across DDP ranks (torchmetrics state, ``dist_reduce_fx``).

    ``update(pred_rgb, true_rgb, true_ab=...)``; ``compute()`` returns a dict:
    ``psnr``, ``ssim`` (RGB, data_range 1), ``l1_ab`` (normalised ab), ``colorfulness`` (outputs),
    ``colorfulness_true`` and ``colorfulness_gap`` (true minus output; positive = outputs too dull).

    Everything is scored on the pictures people get: ``pred_rgb`` is the colorized photo as ``colorize`` makes it
    (``model_lab_to_rgb(L, ab, keep_lightness=True)``), and the ab metrics use the colours of that picture, after
    out-of-gamut colours have been toned down, not the generator's raw output.
    """

    def __init__(self) -> None:
        super().__init__()
        self.image = MetricCollection(
            {
                "psnr": PeakSignalNoiseRatio(data_range=1.0),
                "ssim": StructuralSimilarityIndexMeasure(data_range=1.0),
            }
        )
        self.l1_ab = MeanMetric()
        self.colorfulness = MeanMetric()
        self.colorfulness_true = MeanMetric()

    @torch.no_grad()
    def update(self, pred_rgb: Tensor, true_rgb: Tensor, *, true_ab: Tensor | None = None) -> None:
        """``pred_rgb``, ``true_rgb``: ``(B, 3, H, W)`` in [0, 1]; ``true_ab``: the truth's normalised ab
        ``(B, 2, H, W)`` when at hand (else it is computed from ``true_rgb``)."""
        pred_rgb, true_rgb = pred_rgb.float(), true_rgb.float()
        pred_ab = rgb_to_model_lab(pred_rgb)[1]
        true_ab = rgb_to_model_lab(true_rgb)[1] if true_ab is None else true_ab.float()
        self.image.update(pred_rgb, true_rgb)
        self.l1_ab.update((pred_ab - true_ab).abs().mean(dim=(1, 2, 3)))
        self.colorfulness.update(colorfulness(pred_rgb))
        self.colorfulness_true.update(colorfulness(true_rgb))

    @property
    def updated(self) -> bool:
        """Whether any photo was scored since the last reset (on this rank)."""
        return self.l1_ab.update_count > 0

    def compute(self) -> dict[str, Tensor]:
        out = dict(self.image.compute())
        out["l1_ab"] = self.l1_ab.compute()
        out["colorfulness"] = self.colorfulness.compute()
        out["colorfulness_true"] = self.colorfulness_true.compute()
        out["colorfulness_gap"] = out["colorfulness_true"] - out["colorfulness"]
        return out

    def reset(self) -> None:
        self.image.reset()
        self.l1_ab.reset()
        self.colorfulness.reset()
        self.colorfulness_true.reset()
