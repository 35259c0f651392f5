"""Picture grids: rows of images with a name at the left of each row, and side-by-side comparisons."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor
from torchvision.utils import make_grid


def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's default font at ``size`` pixels (the fixed-size bitmap font where Pillow is older than 10.1): the
    labels of every grid and figure colorgan draws, with no font file to install."""
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
    label_font = font(max(10, min(24, cell_h // 6)))
    draw = ImageDraw.Draw(body)
    label_w = max(int(draw.textlength(name, font=label_font)) for name, _ in rows) + 2 * padding + 8
    canvas = Image.new("RGB", (label_w + body.width, body.height), "white")
    canvas.paste(body, (label_w, 0))
    draw = ImageDraw.Draw(canvas)
    for i, (name, _) in enumerate(rows):
        y = padding + i * cell_h + (cell_h - padding) // 2
        draw.text((label_w - 6, y), name, fill="black", font=label_font, anchor="rm")
    return canvas


def side_by_side(images: Sequence[Image.Image], gap: int = 8, max_side: int | None = 2048) -> Image.Image:
    """Put photos next to each other, left to right, on white, scaled to the height of the first.

    Args:
        images: PIL images of any mode (alpha is dropped).
        gap: white pixels between two photos.
        max_side: shrink the photos so that none is longer than this on its longer side (``None``: full size).

    Returns:
        An RGB image.
    """
    if not images:
        raise ValueError("side_by_side needs at least one image")
    height = images[0].height
    if max_side is not None:
        height = min(height, max(1, round(height * max_side / max(images[0].size))))
    panels = []
    for img in images:
        width = max(1, round(img.width * height / img.height))
        rgb = img.convert("RGB")
        panels.append(rgb if rgb.size == (width, height) else rgb.resize((width, height), Image.Resampling.LANCZOS))
    canvas = Image.new("RGB", (sum(p.width for p in panels) + gap * (len(panels) - 1), height), "white")
    x = 0
    for panel in panels:
        canvas.paste(panel, (x, 0))
        x += panel.width + gap
    return canvas
