"""Simulated colour hints: points revealed from the true colours, per batch, on the batch's device.

As in colorization-pytorch (Zhang et al. 2017), ``util/util.py::add_color_patches_rand_gt`` and
``options/base_options.py``:

* the number of points per photo is geometric: keep adding one while a uniform draw is below ``1 - p``
  (``p = 1/8``: mean 7, and 1/8 of the photos get none); a fixed ``count`` replaces the draw (evaluation);
* each point is a ``P x P`` square, ``P`` drawn uniformly from ``patch_sizes`` (1-9 px);
* its top-left corner is placed by a Gaussian around the centre, ``N((H - P + 1) / 2, (H - P + 1) / 4)`` clipped
  to ``[0, H - P]`` (the same for the width), or uniformly (``placement="uniform"``);
* its value is the mean ab of the truth over the square, and the mask is 1 on the square (a later point painted
  over an earlier one wins, as in the loop of the original);
* ``no_hints_share`` of the photos get no points at all on top of that; near-gray photos (their a* range plus
  their b* range below ``gray_threshold`` CIE units, colorization-pytorch's ``ab_thresh``) get none, since their
  colours say nothing.

The geometry (counts, sizes, corners) is drawn on the host with a ``torch.Generator`` (seeded: the same points on
every device and for every model), a few small tensors per batch; the patch means and the maps are computed on the
batch's device, without a host sync.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from colorgan.color import AB_SCALE
from colorgan.nn.hints import HINT_CHANNELS

PLACEMENTS = ("gaussian", "uniform")


@dataclass(frozen=True)
class HintSettings:
    """``model.hints``: how hints are simulated (and whether the model takes them). See the module docstring."""

    enabled: bool = False
    p: float = 0.125
    patch_sizes: Sequence[int] = field(default_factory=lambda: tuple(range(1, 10)))
    placement: str = "gaussian"
    no_hints_share: float = 0.0
    gray_threshold: float = 5.0
    discriminator: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "patch_sizes", tuple(int(s) for s in self.patch_sizes))
        if not 0.0 < self.p <= 1.0:
            raise ValueError(f"model.hints.p must be in (0, 1] (the chance to stop adding points), got {self.p}")
        if not self.patch_sizes or min(self.patch_sizes) < 1:
            raise ValueError(f"model.hints.patch_sizes must be positive sides in pixels, got {list(self.patch_sizes)}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"model.hints.placement must be one of {', '.join(PLACEMENTS)}, got {self.placement!r}")
        if not 0.0 <= self.no_hints_share <= 1.0:
            raise ValueError(f"model.hints.no_hints_share must be in [0, 1], got {self.no_hints_share}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> HintSettings:
        """From ``model.hints`` (a dict; unknown keys are an error naming them)."""
        config = dict(config or {})
        unknown = sorted(set(config) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(
                f"{', '.join('model.hints.' + k for k in unknown)}: unknown setting(s); model.hints has "
                f"{', '.join(cls.__dataclass_fields__)}"
            )
        return cls(**config)


@dataclass(frozen=True)
class Points:
    """The points drawn for a batch, on the host: ``(B, K)`` tensors, ``K`` the largest count in the batch.

    Attributes:
        active: bool, which of the ``K`` slots of each photo hold a point.
        top, left: the square's top-left corner (rows, columns).
        size: its side ``P``.
    """

    active: Tensor
    top: Tensor
    left: Tensor
    size: Tensor

    @property
    def counts(self) -> Tensor:
        """Points per photo, ``(B,)``."""
        return self.active.sum(dim=1)


def draw_counts(n: int, p: float, generator: torch.Generator | None = None) -> Tensor:
    """``n`` geometric counts: how many times in a row a uniform draw lands below ``1 - p`` (``(n,)`` int64).

    Inverse-CDF sampling of ``add_color_patches_rand_gt``'s loop: ``P(count >= k) = (1 - p)**k``.
    """
    if p >= 1.0:
        return torch.zeros(n, dtype=torch.long)
    u = 1.0 - torch.rand(n, generator=generator, dtype=torch.float64)  # in (0, 1]: log is finite
    return torch.floor(torch.log(u) / math.log(1.0 - p)).long()


def draw_points(
    height: int,
    width: int,
    counts: Tensor,
    settings: HintSettings,
    generator: torch.Generator | None = None,
) -> Points:
    """Sizes and corners of ``counts[i]`` points for each photo ``i`` of a ``height x width`` batch."""
    n = counts.shape[0]
    k = max(int(counts.max()) if n else 0, 1)
    active = torch.arange(k)[None, :] < counts[:, None]
    choices = torch.tensor(settings.patch_sizes, dtype=torch.long)
    size = choices[torch.randint(len(choices), (n, k), generator=generator)]
    size = torch.minimum(size, torch.tensor(min(height, width)))
    corners = []
    for extent in (height, width):
        room = (extent - size + 1).double()  # positions a square of this size can take
        if settings.placement == "gaussian":
            z = torch.randn(n, k, generator=generator, dtype=torch.float64)
            pos = (room / 2 + z * room / 4).clamp(min=0).floor().long()  # int() of the original: towards 0
        else:
            pos = (torch.rand(n, k, generator=generator, dtype=torch.float64) * room).floor().long()
        corners.append(torch.minimum(pos, extent - size))
    return Points(active, corners[0], corners[1], size)


def colourful(ab: Tensor, threshold: float) -> Tensor:
    """Which photos of a batch of normalised ab ``(B, 2, H, W)`` are not near-gray: their a* range plus their b*
    range (max - min over the photo, CIE units) is at least ``threshold``. ``(B,)`` bool, on ab's device."""
    spread = ab.amax(dim=(2, 3)) - ab.amin(dim=(2, 3))
    return spread.sum(dim=1) * AB_SCALE >= threshold


def patch_means(ab: Tensor, points: Points) -> Tensor:
    """The mean ab of the truth over each point's square: ``(B, K, 2)`` on ab's device (0 for empty slots).

    Each square is read with one gather of its at most ``max(P) x max(P)`` pixels, summed in float32 (at most 81
    values): exact to float32 rounding, unlike an integral image over the whole photo.
    """
    b, _, h, w = ab.shape
    index, within = _square_pixels(points, h, w, ab.device)
    size = points.size.to(ab.device, non_blocking=True)
    index = index.flatten(1)
    values = ab.flatten(2).gather(2, index[:, None, :].expand(b, 2, -1))  # (B, 2, K*S*S)
    values = values.view(b, 2, *within.shape[1:]) * within[:, None]
    return (values.sum(dim=(-1, -2)) / (size * size)[:, None].to(ab.dtype)).transpose(1, 2)


def _square_pixels(points: Points, height: int, width: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """Each point's square as flat pixel indices ``(B, K, S, S)`` (``S`` the largest side; clamped to the photo) and
    which of them belong to the square ``(B, K, S, S)`` bool."""
    top, left, size = (t.to(device, non_blocking=True) for t in (points.top, points.left, points.size))
    side = int(points.size.max())
    offsets = torch.arange(side, device=device)
    rows = (top[..., None] + offsets).clamp(max=height - 1)  # (B, K, S)
    cols = (left[..., None] + offsets).clamp(max=width - 1)
    inside = offsets < size[..., None]
    return rows[..., :, None] * width + cols[..., None, :], inside[..., :, None] & inside[..., None, :]


def paint(shape: tuple[int, int, int, int], points: Points, values: Tensor, device: torch.device) -> Tensor:
    """The hint map ``(B, 3, H, W)`` (ab, mask) with each active point's square set to its ``values`` ``(B, K, 2)``,
    later points over earlier ones.

    Each pixel takes the value of the last point whose square covers it: the largest point number over the squares'
    pixels (a scatter with ``amax``, which does not depend on the order it runs in), then one gather. The work is
    that of the squares' pixels and one pass over the map, whatever the number of points.
    """
    b, _, h, w = shape
    k = points.active.shape[1]
    index, within = _square_pixels(points, h, w, device)
    active = points.active.to(device, non_blocking=True)
    number = torch.arange(k, device=device).view(1, k, 1, 1).expand_as(index)
    number = torch.where(within & active[:, :, None, None], number, -1)  # -1: covers nothing
    last = torch.full((b, h * w), -1, dtype=torch.long, device=device)
    last.scatter_reduce_(1, index.flatten(1), number.flatten(1), reduce="amax")
    covered = last >= 0
    ab = values.gather(1, last.clamp(min=0)[..., None].expand(b, h * w, 2))  # (B, H*W, 2)
    ab = ab * covered[..., None].to(values.dtype)
    return torch.cat([ab.transpose(1, 2), covered[:, None].to(values.dtype)], dim=1).view(b, HINT_CHANNELS, h, w)


@dataclass
class SimulatedHints:
    """Hints drawn for one batch: ``maps`` ``(B, 3, H, W)`` (normalised ab, mask) and the ``points`` behind it."""

    maps: Tensor
    points: Points


def simulate_hints(
    ab: Tensor,
    settings: HintSettings,
    *,
    count: int | None = None,
    generator: torch.Generator | None = None,
) -> SimulatedHints:
    """Hints revealed from the true normalised ab ``(B, 2, H, W)``, on its device.

    Args:
        ab: the truth.
        settings: ``model.hints``.
        count: points per photo; ``None`` draws them (geometric, ``settings.p``) and applies
            ``settings.no_hints_share``. Near-gray photos get none either way.
        generator: a CPU ``torch.Generator`` for the geometry; ``None``: torch's global one (seeded by ``seed``).

    Returns:
        The hint map and the points (the points of near-gray photos are dropped from ``points.active`` too).
    """
    b, _, h, w = ab.shape
    if count is None:
        counts = draw_counts(b, settings.p, generator)
        if settings.no_hints_share > 0:
            none = torch.rand(b, generator=generator) < settings.no_hints_share
            counts = torch.where(none, torch.zeros_like(counts), counts)
    else:
        counts = torch.full((b,), int(count), dtype=torch.long)
    points = draw_points(h, w, counts, settings, generator)
    if settings.gray_threshold > 0:
        # decided on the device: the flag joins the points there, with no host sync
        keep = colourful(ab.detach(), settings.gray_threshold)
        active_dev = points.active.to(ab.device, non_blocking=True) & keep[:, None]
    else:
        active_dev = points.active.to(ab.device, non_blocking=True)
    values = patch_means(ab.detach().float(), points)
    on_device = Points(active_dev, points.top, points.left, points.size)
    maps = paint(tuple(ab.shape), on_device, values, ab.device)
    return SimulatedHints(maps.to(ab.dtype), on_device)


def gan_warning(settings: HintSettings, l1_warmup_epochs: int, max_epochs: int | None) -> str | None:
    """What to tell a person who trains a hinted model with the GAN loss on (``None``: hints off, or L1 alone).

    Trained that way a hinted model learns to ignore its points: the GAN loss asks for a plausible photo whatever the
    points say, and the few hinted pixels weigh little in the L1 term. The generator alone on L1 (the paper's
    regression) follows them: ``+recipe=hints``.
    """
    if not settings.enabled or (max_epochs is not None and 0 < max_epochs <= l1_warmup_epochs):
        return None
    return (
        "model.hints.enabled=true with the GAN loss on (model.l1_warmup_epochs="
        f"{l1_warmup_epochs} < trainer.max_epochs={max_epochs}): a hinted model trained with the GAN loss learns to "
        "ignore its colour points. To train one that follows them, use +recipe=hints (the generator alone on L1 at "
        "a learning rate of 1e-3; conf/recipe/hints.yaml)"
    )


def photo_generator(seed: int, count: int, index: int) -> torch.Generator:
    """A CPU generator for the points of photo ``index`` when ``count`` points are revealed: the same points for
    every model scored on the same photos, whatever the batch size."""
    return torch.Generator().manual_seed(hash((int(seed), int(count), int(index))) & 0x7FFF_FFFF_FFFF)
