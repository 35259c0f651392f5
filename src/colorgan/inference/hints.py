"""A user's colour points -> the hint map a hinted generator takes, in the letterboxed square it works on.

The points come in the photo's own pixel coordinates with sRGB colours, as in a hints file::

    {"points": [{"x": 120, "y": 80, "color": "#2a5caa", "size": 5}]}

``x`` and ``y`` are the centre of the point (column and row, from the top-left pixel, 0-based); ``size`` is the side
of its square in the photo's pixels (default 1); it covers at least one pixel of the generator's square. The colour
becomes ab against the photo's own lightness there, as ideepcolor's ``snap_ab`` does: the colour is given the
photo's L (the mean over the point's square), brought into the sRGB gamut at that lightness (chroma goes, lightness
stays) and its ab taken. So a light blue put on a dark coat asks for a dark blue: the output keeps the photo's
lightness anyway.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import ImageColor
from torch import Tensor

from colorgan.color import model_lab_to_rgb, rgb_to_model_lab
from colorgan.inference.letterbox import Box
from colorgan.nn.hints import HINT_CHANNELS


class HintError(ValueError):
    """A hints file or point that cannot be used; the message names the file (or the photo) and the point."""


@dataclass(frozen=True)
class HintPoint:
    """One colour point: centre ``(x, y)`` in the photo's pixels, an sRGB ``color`` (``#rrggbb``, ``#rgb`` or a CSS
    colour name), and the ``size`` of its square in the photo's pixels."""

    x: float
    y: float
    color: str
    size: float = 1

    def rgb(self) -> tuple[int, int, int]:
        """The colour as 8-bit sRGB. Raises ValueError for a colour that is none."""
        value = ImageColor.getrgb(str(self.color))
        return value[0], value[1], value[2]


HintsInput = str | os.PathLike | Iterable[HintPoint | Mapping[str, Any]]


def parse_points(data: Any, source: str) -> list[HintPoint]:
    """``{"points": [...]}`` (or the list itself) -> points; errors name ``source`` and the point."""
    items = data.get("points") if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise HintError(f"{source}: expected {{\"points\": [{{\"x\": ..., \"y\": ..., \"color\": \"#rrggbb\"}}, ...]}}")
    points = []
    for i, item in enumerate(items, start=1):
        if isinstance(item, HintPoint):
            point = item
        elif isinstance(item, Mapping):
            unknown = sorted(set(item) - {"x", "y", "color", "size"})
            missing = [k for k in ("x", "y", "color") if k not in item]
            if unknown or missing:
                what = "; ".join(s for s in (f"missing {', '.join(missing)}" if missing else "",
                                             f"unknown {', '.join(unknown)}" if unknown else "") if s)
                raise HintError(f"{source}: point {i} {dict(item)}: {what} (a point has x, y, color and size)")
            point = HintPoint(item["x"], item["y"], item["color"], item.get("size", 1))
        else:
            raise HintError(f"{source}: point {i} is {item!r}, not an object with x, y, color and size")
        for name in ("x", "y", "size"):
            value = getattr(point, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise HintError(f"{source}: point {i}: {name}={value!r} is not a number")
        if point.size < 1:
            raise HintError(f"{source}: point {i}: size={point.size} must be at least 1 (pixels of the photo)")
        try:
            point.rgb()
        except (ValueError, TypeError):
            raise HintError(
                f"{source}: point {i}: color {point.color!r} is not a colour; write it as #rrggbb (e.g. #2a5caa)"
            ) from None
        points.append(point)
    return points


def read_hints(hints: HintsInput, name: str = "hints") -> list[HintPoint]:
    """Points from a hints file (JSON) or from points and dicts already at hand.

    Raises:
        HintError: an unreadable file, bad JSON, or a point without a number or a colour (the message names the file
            and the point).
    """
    if isinstance(hints, (str, os.PathLike)):
        path = Path(hints).expanduser()
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))  # Windows Notepad's UTF-8 starts with a BOM
        except OSError as err:
            raise HintError(f"hints file '{path}' cannot be read: {err.strerror or err}") from None
        except json.JSONDecodeError as err:
            raise HintError(f"hints file '{path}' is not JSON: {err}") from None
        return parse_points(data, f"hints file '{path}'")
    return parse_points(list(hints), name)


def _span(start: float, length: float, scale: float, offset: int, limit: int) -> tuple[int, int]:
    """The generator-square pixels ``[a, b)`` that photo pixels ``[start, start + length)`` fall on (at least one)."""
    a = offset + math.floor(start * scale)
    b = max(offset + math.ceil((start + length) * scale), a + 1)
    return max(a, offset), min(b, offset + limit)


def snap_ab(rgb: tuple[int, int, int], L: Tensor) -> Tensor:
    """The ab ``(2,)`` of the sRGB colour ``rgb`` at the lightness ``L`` (normalised, 0-dim), brought into the sRGB
    gamut there keeping the lightness (ideepcolor's ``snap_ab``)."""
    colour = torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1) / 255.0
    ab = rgb_to_model_lab(colour)[1]
    L = L.reshape(1, 1, 1, 1).float()
    for _ in range(2):  # the second pass takes off what rounding into the gamut left
        ab = rgb_to_model_lab(model_lab_to_rgb(L, ab, keep_lightness=True))[1]
    return ab.view(2)


def check_inside(points: Sequence[HintPoint], height: int, width: int, name: str) -> None:
    """Raises HintError naming ``name`` and the point for a point whose centre is not on the photo."""
    for i, p in enumerate(points, start=1):
        if not (0 <= p.x < width and 0 <= p.y < height):
            raise HintError(
                f"{name}: point {i} (x={p.x}, y={p.y}) is outside the photo, which is {width}x{height} pixels "
                f"(x from 0 to {width - 1}, y from 0 to {height - 1})"
            )


def hint_map(
    points: Sequence[HintPoint], height: int, width: int, box: Box, L_square: Tensor, name: str
) -> Tensor:
    """The hint map ``(3, S, S)`` (normalised ab, mask) for ``points`` on a ``height x width`` photo fitted at
    ``box`` into the generator's square, whose normalised L is ``L_square`` ``(1, S, S)``.

    Raises:
        HintError: a point outside the photo (the message names ``name``, the point and the photo's size).
    """
    size = L_square.shape[-1]
    hints = torch.zeros(HINT_CHANNELS, size, size)
    sy, sx = box.height / height, box.width / width
    check_inside(points, height, width, name)
    for p in points:
        x0, y0 = p.x - (p.size - 1) / 2, p.y - (p.size - 1) / 2
        # the part of the square on the photo: cut at both ends (a point at an edge keeps only its inner part)
        r0, r1 = _span(max(y0, 0), min(y0 + p.size, height) - max(y0, 0), sy, box.top, box.height)
        c0, c1 = _span(max(x0, 0), min(x0 + p.size, width) - max(x0, 0), sx, box.left, box.width)
        L = L_square[0, r0:r1, c0:c1].mean()
        ab = snap_ab(p.rgb(), L.cpu())
        hints[:2, r0:r1, c0:c1] = ab.view(2, 1, 1)
        hints[2, r0:r1, c0:c1] = 1.0
    return hints
