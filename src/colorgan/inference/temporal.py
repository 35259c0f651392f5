"""Temporal stability of a colorized video: smoothing the predicted colour over time, and measuring its flicker.

A generator run frame by frame answers film grain, compression noise and small exposure changes with slightly
different colours each frame, and the result flickers. :class:`TemporalSmoother` blends each frame's predicted
``ab`` with the previous frame's (already smoothed) ``ab``, pixel by pixel, by how little the lightness changed
there:

* where ``L`` is the same as in the previous frame (a still background, a face that does not move), the colour is
  an exponential moving average over the last few frames, so the flicker averages out;
* where ``L`` changed by ``tolerance`` or more (anything that moves, an edge passing by), the frame's own
  prediction is used as it is, so motion is never smeared. The change is counted after taking away the change of
  the whole frame's brightness (an offset or a gain, fitted by medians), so old film's exposure flicker or a fade
  do not count as motion;
* while the whole picture darkens (a fade to black), still pixels keep the colour they had in more light: a
  generator sees less in the dark, and its colour drifts (an orange suit turns purple-blue);
* at a scene cut (the histogram of ``L`` changes by more than ``cut_threshold`` and more than a quarter of the
  pixels changed beyond a change of the whole frame's brightness), the average starts afresh, so no colour of the
  previous shot leaks into the next one, even in the pixels whose lightness happens to match. The last frames of
  a fade, whose histograms squeeze towards black, are not cuts.

The gate and the cut detector look at the lightness the generator sees (the frame scaled to the generator's size,
antialiased), where grain has mostly averaged out; the blending happens there too, before the colour is upsampled
and joined with each frame's own full-resolution L. The smoother is causal (it needs no frames from the future),
so a film streams through it in one pass. Motion-compensated smoothing (optical flow) would also steady moving
things, but costs far more than the generator itself on a CPU; the gate above gets the still parts, which is
where flicker shows most.

:class:`FlickerMeter` gives the figure the README reports: the mean distance in the ``ab`` plane (CIE units)
between consecutive frames, over the pixels whose ``L`` did not change.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from colorgan.color import AB_SCALE, L_SCALE, rgb_to_model_lab

# A frame this much darker than the previous one (as a gain of L* + 16) keeps the previous colour of its still
# pixels in full; half as much darker, halfway between the usual blend and that.
FADE_HOLD_STEP = 0.01


@dataclass(frozen=True)
class Smoothing:
    """Settings of :class:`TemporalSmoother`.

    Attributes:
        strength: weight of the previous frame's colour where the lightness did not change, in [0, 1). 0 turns
            smoothing off (frame by frame); 0.8 averages still parts over about the last 9 frames (the weights
            ``0.2 * 0.8**k`` sum to 0.87 over k < 9).
        tolerance: change of lightness, in L* units (0-100), at which a pixel counts as moving; the blend fades
            out linearly from ``strength`` at no change to 0 at ``tolerance``.
        cut_threshold: total-variation distance between consecutive frames' lightness histograms (0: the same,
            1: nothing in common) above which a frame starts a new shot.
        bins: bins of those histograms.
    """

    strength: float = 0.8
    tolerance: float = 4.0
    cut_threshold: float = 0.3
    bins: int = 32

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength < 1.0:
            raise ValueError(f"smoothing strength must be in [0, 1) (0 turns it off), got {self.strength}")
        if self.tolerance <= 0.0:
            raise ValueError(f"smoothing tolerance must be a positive change of L* (0-100), got {self.tolerance}")
        if not 0.0 < self.cut_threshold <= 1.0:
            raise ValueError(f"cut threshold must be in (0, 1] (a histogram distance), got {self.cut_threshold}")
        if self.bins < 2:
            raise ValueError(f"histogram bins must be at least 2, got {self.bins}")

    @property
    def enabled(self) -> bool:
        return self.strength > 0.0


def lightness_histogram(L: Tensor, bins: int) -> Tensor:
    """Normalised histogram ``(bins,)`` (sums to 1) of normalised ``L`` in [-1, 1], any shape."""
    hist = torch.histc(L.float(), bins=bins, min=-1.0, max=1.0)
    return hist / hist.sum().clamp(min=1.0)


def histogram_distance(a: Tensor, b: Tensor) -> float:
    """Total-variation distance of two normalised histograms: 0 the same, 1 disjoint.

    >>> histogram_distance(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))
    1.0
    """
    return 0.5 * float((a - b).abs().sum())


class TemporalSmoother:
    """Smooths a video's predicted ``ab`` over time, frame by frame, in order (see the module docstring).

    Call it on every frame of a film in order; :meth:`reset` before another film. ``cuts`` counts the cuts found.

    Example:
        >>> smoother = TemporalSmoother(Smoothing(strength=0.5))
        >>> L = torch.zeros(1, 4, 4)
        >>> first = smoother(L, torch.full((2, 4, 4), 0.2))
        >>> round(smoother(L, torch.full((2, 4, 4), 0.4))[0, 0, 0].item(), 4)  # still: halfway to the last colour
        0.3
        >>> shot_b = L.clone(); shot_b[..., 2:] = 1.0  # half the picture changes: a cut
        >>> round(smoother(shot_b, torch.full((2, 4, 4), -0.4))[0, 0, 0].item(), 4)  # its own colour
        -0.4
        >>> smoother.cuts
        1
    """

    def __init__(self, settings: Smoothing | None = None) -> None:
        self.settings = settings or Smoothing()
        self.cuts = 0
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame (before another film)."""
        self._L: Tensor | None = None
        self._ab: Tensor | None = None
        self._hist: Tensor | None = None

    def __call__(self, L: Tensor, ab: Tensor) -> Tensor:
        """The smoothed colour of the next frame.

        Args:
            L: ``(1, h, w)`` normalised lightness in [-1, 1] the generator saw.
            ab: ``(2, h, w)`` the generator's normalised ab for it.

        Returns:
            ``(2, h, w)`` smoothed ab (a new tensor; ``ab`` is left alone).
        """
        s = self.settings
        L = L.float()
        hist = lightness_histogram(L, s.bins)
        out = ab.float().clone()
        prev = self._L if self._L is not None and self._ab is not None and self._L.shape == L.shape else None
        if prev is not None:
            change, gain = brightness_compensated_change(prev, L)
            moving = float((change >= s.tolerance).float().mean())
            # a cut changes the histogram and cannot be told as one change of brightness of the whole frame (a
            # fade, exposure flicker): a fade's histogram slides and squeezes towards black frame by frame, so the
            # histogram alone counted its last frames as cuts
            if self._hist is not None and histogram_distance(self._hist, hist) > s.cut_threshold and moving > 0.25:
                self.cuts += 1
            elif s.enabled:
                # while the picture darkens (a fade to black, a cloud), the generator sees less and its colour
                # drifts (an orange suit turns blue): still pixels keep the colour they had in more light
                hold = min(max((1.0 - gain) / FADE_HOLD_STEP, 0.0), 1.0)
                weight = (1.0 - change / s.tolerance).clamp_(0.0, 1.0).mul_(s.strength)
                if hold > 0.0:
                    weight = torch.lerp(weight, (change < s.tolerance).float(), hold)
                out = torch.lerp(out, self._ab, weight.expand_as(out))
        self._L, self._ab, self._hist = L.clone(), out, hist
        return out.clone()


def brightness_compensated_change(prev: Tensor, L: Tensor) -> tuple[Tensor, float]:
    """How much each pixel's lightness changed beyond a change of the whole frame's brightness, and that change.

    Two models of a whole-frame change are fitted robustly (medians): an offset (old film's exposure flicker) and
    a gain of ``L* + 16`` (a fade: scaling a pixel's level scales ``L* + 16`` by about the same factor, since L*
    is a cube root of luminance). A pixel's change is what the better of the two leaves.

    Args:
        prev, L: ``(1, h, w)`` normalised lightness in [-1, 1] of the previous and this frame.

    Returns:
        ``(1, h, w)`` the change in L* units (0-100), and the gain of ``L* + 16`` (below 1: darker).
    """
    prev_star, star = (prev + 1.0) * L_SCALE + 16.0, (L + 1.0) * L_SCALE + 16.0  # L* + 16: 16 ... 116
    diff = star - prev_star
    offset = (diff - diff.median()).abs_()
    gain = float((star / prev_star).median())
    scaled = star - gain * prev_star
    return torch.minimum(offset, (scaled - scaled.median()).abs_()), gain


class FlickerMeter:
    """Flicker of a colour video: the mean ``|Δab|`` between consecutive frames over pixels whose L did not change.

    ``|Δab|`` is the distance in the a*b* plane, in CIE units (a*, b* about ±110; a just-noticeable difference is
    about 2), between a pixel's colour in one frame and in the next. Only pixels whose L* changed by less than
    ``still`` count: there the colour should not change either, so what is left is flicker. Feed frames in order
    with :meth:`update`; :meth:`compute` gives the figure.

    Example:
        >>> meter = FlickerMeter()
        >>> gray = torch.full((3, 2, 2), 128, dtype=torch.uint8)
        >>> pink = torch.tensor([150, 110, 128], dtype=torch.uint8).view(3, 1, 1).expand(3, 2, 2)
        >>> meter.update(gray); meter.update(gray); meter.compute()
        0.0
        >>> meter.update(pink); meter.pixels  # 4 still pixels of the first pair; pink is lighter than gray: none
        4
    """

    def __init__(self, still: float = 1.0) -> None:
        self.still = still
        self.total = 0.0
        self.pixels = 0
        self.pairs = 0
        self._prev: tuple[Tensor, Tensor] | None = None

    def update(self, rgb: Tensor) -> None:
        """The next frame: uint8 sRGB ``(3, H, W)`` (or float in [0, 1])."""
        L, ab = rgb_to_model_lab(rgb)
        L, ab = (L + 1.0) * L_SCALE, ab * AB_SCALE
        if self._prev is not None and self._prev[0].shape == L.shape:
            prev_L, prev_ab = self._prev
            still = ((L - prev_L).abs() < self.still)[0]
            distance = (ab - prev_ab).square().sum(dim=0).sqrt()
            self.total += float(distance[still].sum())
            self.pixels += int(still.sum())
            self.pairs += 1
        self._prev = (L, ab)

    def compute(self) -> float:
        """Mean ``|Δab|`` in CIE units over the still pixels seen so far (``nan`` before any)."""
        return self.total / self.pixels if self.pixels else float("nan")
