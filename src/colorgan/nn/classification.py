"""ab as classes (Zhang, Isola & Efros, "Colorful Image Colorization", 2016): a distribution over quantised
colours instead of one ab value per pixel, decoded by an annealed mean whose temperature trades safe for vivid.

Regression to ab pulls every uncertain pixel towards the mean of its plausible colours, a grayish brown. A
classifier keeps the alternatives apart, and the decoding decides how boldly to pick among them:

- **The bins** (:func:`ab_bins`): the ab plane on a grid of ``GRID`` = 10 CIE units, bin centres at multiples of 10.
  A bin is *in gamut* when some 8-bit sRGB colour (every one of the 256³, converted with kornia, D65) has its ab
  nearest to that centre: 261 bins. (The paper's 313 come from its own gamut computation over ImageNet's colour
  space; the bins used by a model are kept in its weights, so a checkpoint never depends on how they were found.)
- **The head** (:class:`ClassificationHead`): any colorgan generator, built with ``features`` output channels
  instead of 2, then average-pooled by 4 and mapped by two 1x1 convs to logits over the bins. The logits live at a
  quarter of the output's side, as in the paper: at full resolution the final layer alone would cost more than
  the whole Pix2Pix U-Net (a 128 -> 261 channel 4x4 transposed conv at every output pixel), and the colour of
  a 4x4 patch is what the distribution is about; the lightness, which carries the detail, is the photo's own.
- **Decoding** (:func:`annealed_mean`): ``softmax(logits / T)`` weighted mean of the bin centres; ``T = 1`` is the
  plain mean, ``T -> 0`` the most likely bin (``T = 0``: exactly that), the paper's ``T = 0.38`` in between.
  The quarter-size ab is upsampled bilinearly to the output's size.
- **Soft targets** (:func:`soft_encode`): each true ab spread over its ``SOFT_NEIGHBOURS`` = 5 nearest bins with
  Gaussian weights (sigma ``SOFT_SIGMA`` = 5), as in the paper.
- **Class rebalancing** (:func:`rebalancing_weights`): ``w ∝ ((1 - λ) p̃ + λ / Q)^-1`` with ``p̃`` the training
  photos' bin frequencies smoothed by a Gaussian (sigma 5), λ = 0.5, scaled so that the expected weight under
  ``p̃`` is 1: rare saturated colours count more.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from kornia.color import rgb_to_lab
from torch import Tensor, nn

from colorgan.color import AB_SCALE

__all__ = [
    "DEFAULT_TEMPERATURE",
    "ClassificationHead",
    "ab_bins",
    "annealed_mean",
    "nearest_bins",
    "rebalancing_weights",
    "set_temperature",
    "soft_encode",
    "soft_targets",
]

GRID = 10.0
SOFT_NEIGHBOURS = 5
SOFT_SIGMA = 5.0
PRIOR_SIGMA = 5.0
REBALANCE_LAMBDA = 0.5
DEFAULT_TEMPERATURE = 0.38
POOL = 4  # the logits' side is the output's / POOL


@lru_cache(maxsize=1)
def _in_gamut_bins() -> tuple[tuple[float, float], ...]:
    levels = torch.arange(256, dtype=torch.float32) / 255
    g, b = torch.meshgrid(levels, levels, indexing="ij")
    half = int(round(AB_SCALE / GRID))  # centres from -110 to 110
    side = 2 * half + 1
    hit = torch.zeros(side * side, dtype=torch.bool)
    for r in levels:  # one red level at a time: 65,536 colours, a few MB
        lab = rgb_to_lab(torch.stack([torch.full_like(g, float(r)), g, b])[None])[0]
        q = torch.round(lab[1:] / GRID).long().clamp_(-half, half) + half
        hit[(q[0] * side + q[1]).flatten()] = True
    index = hit.nonzero().flatten()
    return tuple(((float(i // side) - half) * GRID, (float(i % side) - half) * GRID) for i in index.tolist())


def ab_bins() -> Tensor:
    """The in-gamut bin centres ``(Q, 2)`` in CIE ab units (see the module docstring), a-major order.

    >>> bins = ab_bins()
    >>> bins.shape, bool((bins[:, 0] == 0).logical_and(bins[:, 1] == 0).any())
    (torch.Size([261, 2]), True)
    """
    return torch.tensor(_in_gamut_bins(), dtype=torch.float32)


def _flat_ab(ab: Tensor) -> Tensor:
    """``(B, 2, H, W)`` normalised ab -> ``(B*H*W, 2)`` CIE ab, float32."""
    return (ab.float() * AB_SCALE).permute(0, 2, 3, 1).reshape(-1, 2)


def nearest_bins(ab: Tensor, bins: Tensor, k: int = 1) -> tuple[Tensor, Tensor]:
    """The ``k`` nearest bins of every pixel of ``ab`` ``(B, 2, H, W)`` (normalised): squared distances and
    indices, each ``(B*H*W, k)``, nearest first."""
    d2 = torch.cdist(_flat_ab(ab), bins.to(ab.device, torch.float32)).square()
    d2, index = d2.topk(k, dim=1, largest=False) if k > 1 else d2.min(dim=1, keepdim=True)
    return d2, index


def soft_targets(ab: Tensor, bins: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`soft_encode`'s targets, and each pixel's nearest bin ``(B*H*W,)`` (found on the way)."""
    b, _, h, w = ab.shape
    d2, index = nearest_bins(ab, bins, SOFT_NEIGHBOURS)
    weights = torch.softmax(-d2 / (2 * SOFT_SIGMA**2), dim=1)
    target = torch.zeros(b * h * w, bins.shape[0], device=ab.device, dtype=torch.float32)
    target.scatter_(1, index, weights)
    return target.reshape(b, h, w, -1).permute(0, 3, 1, 2), index[:, 0]


def soft_encode(ab: Tensor, bins: Tensor) -> Tensor:
    """Soft targets ``(B, Q, H, W)``: each pixel's true ab spread over its 5 nearest bins with Gaussian weights
    (sigma 5 CIE units), summing to 1."""
    return soft_targets(ab, bins)[0]


def rebalancing_weights(counts: Tensor, bins: Tensor, lam: float = REBALANCE_LAMBDA) -> Tensor:
    """Per-bin loss weights ``(Q,)`` from the training photos' bin counts ``(Q,)``: the frequencies smoothed with
    a Gaussian over ab (sigma 5), mixed with the uniform distribution, inverted, and scaled so that
    ``sum(p̃ * w) = 1``."""
    counts = counts.double()
    if counts.sum() <= 0:
        raise ValueError("no pixels were counted: the class weights need the training photos' colours")
    p = counts / counts.sum()
    centres = bins.double().to(counts.device)
    kernel = torch.exp(-torch.cdist(centres, centres).square() / (2 * PRIOR_SIGMA**2))
    smoothed = kernel @ p
    smoothed = smoothed / smoothed.sum()
    w = 1.0 / ((1 - lam) * smoothed + lam / len(p))
    w = w / (smoothed * w).sum()
    return w.float()


def annealed_mean(logits: Tensor, bins: Tensor, temperature: float) -> Tensor:
    """Normalised ab ``(B, 2, h, w)`` from logits ``(B, Q, h, w)``: the mean of the bin centres under
    ``softmax(logits / T)``; ``T = 0`` takes the most likely bin."""
    logits = logits.float()
    if temperature < 0:
        raise ValueError(f"the temperature must be >= 0 (0: the most likely colour, 1: the mean), got {temperature}")
    if temperature == 0:
        probs = F.one_hot(logits.argmax(dim=1), logits.shape[1]).permute(0, 3, 1, 2).float()
    else:
        probs = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("bqhw,qc->bchw", probs, bins.to(logits.device) / AB_SCALE)


class ClassificationHead(nn.Module):
    """A generator whose ab comes from a distribution over the in-gamut bins (see the module docstring).

    Args:
        body: the generator, built with ``features`` output channels.
        features: the body's output channels, pooled to a quarter of the side.
        hidden: width of the 1x1 conv between the pooled features and the logits.
        temperature: the annealed mean's default temperature (:attr:`temperature`, which colorize can change).

    ``forward(x)`` returns normalised ab ``(B, 2, H, W)`` in [-1, 1] like any colorgan generator, so every
    consumer (validation, the sample grids, colorize, films, the exports) decodes the same way;
    :meth:`logits` is what training scores. The bins and the class weights (from the training photos' colours,
    :meth:`set_class_weights`) are buffers: they travel with the checkpoint.
    """

    FEATURES = 32  # the body's output channels unless model.generator.out_channels says otherwise
    bins: Tensor
    class_weights: Tensor
    class_weights_set: Tensor

    def __init__(
        self, body: nn.Module, features: int = FEATURES, hidden: int = 128, temperature: float = DEFAULT_TEMPERATURE
    ) -> None:
        super().__init__()
        self.body = body
        bins = ab_bins()
        self.classify = nn.Sequential(
            nn.Conv2d(features, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, bins.shape[0], 1)
        )
        self.register_buffer("bins", bins)
        self.register_buffer("class_weights", torch.ones(bins.shape[0]))
        self.register_buffer("class_weights_set", torch.zeros((), dtype=torch.bool))
        self.temperature = float(temperature)

    @property
    def divisor(self) -> int:
        """Input height and width must be multiples of this (the body's, at least :data:`POOL`)."""
        return math.lcm(int(getattr(self.body, "divisor", 1)), POOL)

    def load_encoder_weights(self, weights: str) -> None:
        self.body.load_encoder_weights(weights)  # type: ignore[operator]

    def set_class_weights(self, weights: Tensor) -> None:
        self.class_weights.copy_(weights.to(self.class_weights))
        self.class_weights_set.fill_(True)

    def logits(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` input -> logits ``(B, Q, H/4, W/4)``."""
        return self.classify(F.avg_pool2d(self.body(x), POOL))

    def decode(self, logits: Tensor, size: tuple[int, int], temperature: float | None = None) -> Tensor:
        """Logits -> normalised ab ``(B, 2, *size)`` by the annealed mean (at :attr:`temperature` by default)."""
        t = self.temperature if temperature is None else temperature
        ab = annealed_mean(logits, self.bins, t)
        return F.interpolate(ab, size=size, mode="bilinear", align_corners=False).clamp(-1, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.logits(x), (x.shape[-2], x.shape[-1]))


def set_temperature(generator: nn.Module, temperature: float) -> None:
    """Decode ``generator``'s colours at ``temperature`` from now on (0: the most likely colour, the most vivid;
    1: the mean, the safest).

    Raises:
        ValueError: a regression generator (it predicts ab directly: there is nothing to anneal), or a temperature
            outside [0, 1] (above 1 the mean only grows grayer; the message says so).
    """
    if not isinstance(generator, ClassificationHead):
        raise ValueError(
            "this model predicts ab directly (model.head=regression): a temperature (vividness) applies only to a "
            "model trained with model.head=classification"
        )
    t = float(temperature)
    if not 0.0 <= t <= 1.0:
        raise ValueError(
            f"the temperature must be between 0 (the most likely colour: vivid) and 1 (the mean colour: safe), got "
            f"{temperature}"
        )
    generator.temperature = t
