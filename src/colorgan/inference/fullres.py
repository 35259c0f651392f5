"""Joining the generator's colour with the photo's own full-resolution lightness.

The predicted ``ab`` (small) is upsampled bilinearly to the photo's size and joined with the photo's own ``L``, then
converted back to sRGB keeping the lightness (a colour too saturated to show at its lightness loses chroma, not
lightness). The work runs in bands of rows, so a 12-megapixel photo never holds more than a few megabytes of
float32 maths at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from colorgan.color import model_lab_to_rgb, rgb_to_model_lab

# Pixels per band of the full-resolution LAB work: small enough to stay in the CPU caches (kornia makes several
# float32 copies of each band), large enough that the per-band overhead does not matter.
CPU_BAND_PIXELS = 1 << 18
CUDA_BAND_PIXELS = 1 << 23


def _gray_L_table() -> Tensor:
    """Normalised L of each 8-bit gray level, ``(256,)`` float32, straight from :func:`rgb_to_model_lab`."""
    levels = torch.arange(256, dtype=torch.uint8).view(1, 1, 256).expand(3, 1, 256)
    return rgb_to_model_lab(levels)[0].flatten()


_L_TABLE = _gray_L_table()


def luminance(pixels: Tensor) -> Tensor:
    """uint8 gray ``([B,] 1, h, w)`` or RGB ``([B,] 3, h, w)`` -> normalised L ``([B,] 1, h, w)`` float32, on
    pixels' device."""
    if pixels.shape[-3] == 1:
        table = _L_TABLE.to(pixels.device)
        return table.index_select(0, pixels.flatten().int()).view(pixels.shape)
    return rgb_to_model_lab(pixels)[0]


def join_full_resolution(pixels: Tensor, alpha: Tensor | None, ab: Tensor, device: torch.device) -> Image.Image:
    """Upsample ``ab`` ``(2, h, w)`` to the size of ``pixels`` (uint8 ``(1 | 3, H, W)``) and join it with their L.

    Returns the colour photo at ``H x W``: ``RGB``, or ``RGBA`` with ``alpha`` (uint8 ``(1, H, W)``).
    """
    out = join_full_resolution_array(pixels, ab, device, alpha)
    return Image.fromarray(out.numpy(), mode="RGB" if alpha is None else "RGBA")


def join_full_resolution_array(
    pixels: Tensor, ab: Tensor, device: torch.device, alpha: Tensor | None = None
) -> Tensor:
    """:func:`join_full_resolution` as a uint8 ``(H, W, 3 | 4)`` tensor on the CPU (the layout video frames use).

    Args:
        pixels: uint8 gray ``(1, H, W)`` or RGB ``(3, H, W)``, on the CPU; its L is kept.
        ab: ``(2, h, w)`` normalised ab in [-1, 1], any ``h x w`` (upsampled bilinearly to ``H x W``).
        device: where the LAB maths runs.
        alpha: uint8 ``(1, H, W)`` added as a fourth channel, or ``None``.
    """
    _, H, W = pixels.shape
    channels = 3 if alpha is None else 4
    out = torch.empty((H, W, channels), dtype=torch.uint8)
    if alpha is not None:
        out[..., 3] = alpha[0]
    # Bilinear upsampling is separable: widen every row of ab once (small), then blend two rows per output row.
    ab_rows = F.interpolate(ab[None].to(device), size=(ab.shape[-2], W), mode="bilinear", align_corners=False)[0]
    src = _source_rows(H, ab.shape[-2], device)
    band = max(1, (CUDA_BAND_PIXELS if device.type == "cuda" else CPU_BAND_PIXELS) // W)
    for y0 in range(0, H, band):
        y1 = min(H, y0 + band)
        i0, i1, w = src[0][y0:y1], src[1][y0:y1], src[2][y0:y1]
        ab_band = torch.lerp(ab_rows[:, i0, :], ab_rows[:, i1, :], w[None, :, None])
        L_band = luminance(pixels[:, y0:y1].to(device))
        rgb = model_lab_to_rgb(L_band, ab_band, keep_lightness=True)
        out[y0:y1, :, :3] = rgb.mul_(255.0).add_(0.5).to(torch.uint8).permute(1, 2, 0).cpu()
    return out


def _source_rows(out_size: int, in_size: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """For each output row of a bilinear resize from ``in_size`` to ``out_size`` rows (``align_corners=False``,
    as in :func:`torch.nn.functional.interpolate`): the two source rows and the weight of the second."""
    scale = in_size / out_size
    src = ((torch.arange(out_size, device=device, dtype=torch.float32) + 0.5) * scale - 0.5).clamp_(min=0.0)
    i0 = src.floor().long().clamp_(max=in_size - 1)
    i1 = (i0 + 1).clamp_(max=in_size - 1)
    return i0, i1, src - i0
