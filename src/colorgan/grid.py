"""Labelled picture grids: rows of images with a name at the left of each row."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor
from torchvision.utils import make_grid


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def labelled_grid(rows: Sequence[tuple[str, Tensor]], padding: int = 2) -> Image.Image:
    """Lay out ``rows`` (name, images ``(N, 3, H, W)`` float in [0, 1]) one above the other, names on the left.

    Every row must hold the same number of images of the same size. Returns an RGB PIL image.
    """
    if not rows:
        raise ValueError("labelled_grid needs at least one row")
    n = rows[0][1].shape[0]
    for name, images in rows:
        if images.dim() != 4 or images.shape[1] != 3 or images.shape[0] != n:
            raise ValueError(f"row {name!r}: expected ({n}, 3, H, W) images, got {tuple(images.shape)}")
    stacked = torch.cat([images.detach().float().cpu().clamp(0, 1) for _, images in rows])
    grid = make_grid(stacked, nrow=n, padding=padding, pad_value=1.0)
    body = Image.fromarray((grid.permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8))

    cell_h = rows[0][1].shape[-2] + padding
    font = _font(max(10, min(24, cell_h // 6)))
    draw = ImageDraw.Draw(body)
    label_w = max(int(draw.textlength(name, font=font)) for name, _ in rows) + 2 * padding + 8
    canvas = Image.new("RGB", (label_w + body.width, body.height), "white")
    canvas.paste(body, (label_w, 0))
    draw = ImageDraw.Draw(canvas)
    for i, (name, _) in enumerate(rows):
        y = padding + i * cell_h + (cell_h - padding) // 2
        draw.text((label_w - 6, y), name, fill="black", font=font, anchor="rm")
    return canvas
