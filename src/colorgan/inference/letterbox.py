"""Fitting a photo of any shape into the generator's square: where it sits, and the square itself.

The photo is resized to fit a ``size x size`` square with its aspect ratio kept and centred; the rest of the square
repeats the photo's edge pixels. Why letterbox rather than squash, and why repeat the edges rather than pad with a
flat gray: see :mod:`colorgan.inference.colorizer`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor


@dataclass(frozen=True)
class Box:
    """Where the photo sits in the letterboxed square: rows ``top:top+height``, columns ``left:left+width``."""

    top: int
    left: int
    height: int
    width: int


def letterbox_box(height: int, width: int, size: int) -> Box:
    """The photo's place when ``height x width`` is fitted into a ``size x size`` square, centred."""
    scale = size / max(height, width)
    h = min(size, max(1, round(height * scale)))
    w = min(size, max(1, round(width * scale)))
    return Box((size - h) // 2, (size - w) // 2, h, w)


def letterbox(L: Tensor, box: Box, size: int) -> Tensor:
    """``L`` ``([B,] C, box.height, box.width)`` placed in a ``([B,] C, size, size)`` square at ``box``, edge pixels
    repeated."""
    pad = (box.left, size - box.left - box.width, box.top, size - box.top - box.height)
    if L.dim() == 4:
        return F.pad(L, pad, mode="replicate")
    return F.pad(L[None], pad, mode="replicate")[0]


def crop(square: Tensor, box: Box) -> Tensor:
    """The photo's part ``([B,] C, box.height, box.width)`` of a ``([B,] C, size, size)`` square."""
    return square[..., box.top : box.top + box.height, box.left : box.left + box.width]
