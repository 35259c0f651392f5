"""The colour space the models see: CIE LAB, normalised to [-1, 1].

This module is the single source of truth for the conversion. The DataModule, the sample grids,
``colorize``, ``evaluate`` and the benchmark all go through these functions.

Normalisation (the Pix2Pix colorization convention):

* ``L``  in [0, 100]      ->  ``L / 50 - 1``  in [-1, 1]
* ``ab`` in about ±110    ->  ``ab / 110``    in about [-1, 1]

LAB maths always runs in float32, also inside a bf16/fp16 autocast region: kornia's conversion
uses ``pow`` and a cube root, which lose far too much precision in half types.
"""

from __future__ import annotations

import torch
from kornia.color import lab_to_rgb, rgb_to_lab
from torch import Tensor

__all__ = [
    "AB_SCALE",
    "L_SCALE",
    "gray_rgb",
    "model_lab_to_rgb",
    "rgb_to_model_lab",
    "uint8_to_float",
]

L_SCALE = 50.0
AB_SCALE = 110.0


def _check_image(x: Tensor, channels: int, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 3 or x.shape[-3] != channels:
        raise ValueError(f"{name} must have shape (*, {channels}, H, W), got {tuple(x.shape)}")


def uint8_to_float(rgb: Tensor) -> Tensor:
    """uint8 ``(*, 3, H, W)`` in [0, 255] -> float32 in [0, 1]. Float input is returned as float32."""
    if rgb.dtype == torch.uint8:
        return rgb.float().div_(255.0)
    return rgb.float()


def rgb_to_model_lab(rgb: Tensor) -> tuple[Tensor, Tensor]:
    """Convert sRGB to the model's normalised LAB.

    Args:
        rgb: ``(*, 3, H, W)`` sRGB, uint8 in [0, 255] or float in [0, 1].

    Returns:
        ``(L, ab)``: ``L`` is ``(*, 1, H, W)`` in [-1, 1]; ``ab`` is ``(*, 2, H, W)`` in about [-1, 1].
        Both float32.

    Example:
        >>> L, ab = rgb_to_model_lab(torch.ones(1, 3, 4, 4))
        >>> round(L.mean().item(), 4), round(ab.abs().max().item(), 4)
        (1.0, 0.0)
    """
    _check_image(rgb, 3, "rgb")
    with torch.autocast(device_type=rgb.device.type, enabled=False):
        lab = rgb_to_lab(uint8_to_float(rgb).clamp_(0.0, 1.0))
    L = lab[..., :1, :, :] / L_SCALE - 1.0
    ab = lab[..., 1:, :, :] / AB_SCALE
    return L, ab


def model_lab_to_rgb(L: Tensor, ab: Tensor) -> Tensor:
    """Convert the model's normalised LAB back to sRGB.

    ``ab`` is clamped to [-1, 1] before the conversion, so a generator output (tanh) or any other
    estimate always maps into the gamut kornia can handle; the RGB result is clipped to [0, 1].

    Args:
        L: ``(*, 1, H, W)`` in [-1, 1].
        ab: ``(*, 2, H, W)`` in [-1, 1]; any float dtype (converted to float32).

    Returns:
        ``(*, 3, H, W)`` float32 sRGB in [0, 1].
    """
    _check_image(L, 1, "L")
    _check_image(ab, 2, "ab")
    if L.shape[-2:] != ab.shape[-2:]:
        raise ValueError(f"L and ab must have the same size, got {tuple(L.shape)} and {tuple(ab.shape)}")
    with torch.autocast(device_type=L.device.type, enabled=False):
        lab = torch.cat(
            [(L.float() + 1.0) * L_SCALE, ab.float().clamp(-1.0, 1.0) * AB_SCALE],
            dim=-3,
        )
        return lab_to_rgb(lab, clip=True)


def gray_rgb(L: Tensor) -> Tensor:
    """The gray picture a model starts from: normalised ``L`` ``(*, 1, H, W)`` -> sRGB ``(*, 3, H, W)``."""
    return model_lab_to_rgb(L, torch.zeros_like(L).expand(*L.shape[:-3], 2, *L.shape[-2:]))
