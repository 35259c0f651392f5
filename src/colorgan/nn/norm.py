"""Normalisation layers by name, and the Pix2Pix weight initialisation."""

from __future__ import annotations

from functools import partial

from torch import nn

NORMS = ("batch", "instance", "none")


def norm_layer(kind: str) -> type[nn.Module] | partial:
    """``"batch"`` -> BatchNorm2d, ``"instance"`` -> InstanceNorm2d (affine, no running stats), ``"none"``."""
    if kind == "batch":
        return nn.BatchNorm2d
    if kind == "instance":
        return partial(nn.InstanceNorm2d, affine=True, track_running_stats=False)
    if kind == "none":
        return lambda channels: nn.Identity()  # type: ignore[return-value]
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


def conv_bias(kind: str) -> bool:
    """BatchNorm has its own shift, so the conv before it needs no bias (as in Pix2Pix)."""
    return kind != "batch"


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """Pix2Pix init: conv weights N(0, std), norm scales N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.SyncBatchNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
