"""Colorization metrics on RGB images: PSNR, SSIM (torchmetrics), L1 on ab, the ab colour-distribution distance,
and colourfulness."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric, Metric, MetricCollection
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from colorgan.color import rgb_to_model_lab


def colorfulness(rgb: Tensor) -> Tensor:
    """Hasler & Süsstrunk (2003) colourfulness of each image.

    Args:
        rgb: ``(B, 3, H, W)`` in [0, 1].

    Returns:
        ``(B,)``, on the paper's 0-255 scale: about 0 for gray, ~15 "slightly", ~33 "moderately", ~59 "quite",
        ~82 "highly", ~109+ "extremely colourful".
    """
    if rgb.dim() != 4 or rgb.shape[1] != 3:
        raise ValueError(f"rgb must have shape (B, 3, H, W), got {tuple(rgb.shape)}")
    x = rgb.float() * 255.0
    r, g, b = x.unbind(1)
    rg = (r - g).flatten(1)
    yb = (0.5 * (r + g) - b).flatten(1)
    std = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False))
    mean = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2)
    return std + 0.3 * mean


AB_BINS = 64
AB_DIRECTIONS = 32


def ab_histogram(ab: Tensor, bins: int = AB_BINS) -> Tensor:
    """The share of each image's pixels at each node of a ``bins x bins`` grid over the ab plane.

    Each pixel's colour is shared among the four grid nodes (cell centres) around it, in proportion to how near it
    is (bilinear weights), rather than dropped whole into one cell: a colour that moves a little moves a little
    mass, so the histogram, and :func:`sliced_wasserstein_ab` built on it, change smoothly with the colours. With
    hard cells, gray (ab = 0, exactly on a cell edge) jumped between cells under float noise of 1e-5.

    Args:
        ab: ``(B, 2, H, W)`` normalised ab (``colorgan.color``: ab / 110), in [-1, 1]; values outside count as
            the nearest border node.
        bins: nodes per axis; 64 nodes 2/64 = 3.4 CIELAB units apart.

    Returns:
        ``(B, bins * bins)`` float32, each row sums to 1; node ``i * bins + j`` holds a at node ``i``, b at ``j``.

    Example:
        >>> h = ab_histogram(torch.full((1, 2, 4, 4), 0.25), bins=4)  # a = b = 0.25: on the node (2, 2)
        >>> h.shape, h[0, 2 * 4 + 2].item()
        (torch.Size([1, 16]), 1.0)
        >>> h = ab_histogram(torch.zeros(1, 2, 1, 1), bins=4)  # gray: half-way between nodes 1 and 2 on each axis
        >>> h.view(4, 4)[1:3, 1:3].flatten().tolist()
        [0.25, 0.25, 0.25, 0.25]
    """
    if ab.dim() != 4 or ab.shape[1] != 2:
        raise ValueError(f"ab must have shape (B, 2, H, W), got {tuple(ab.shape)}")
    B = ab.shape[0]
    # position in node units: node k sits at ab = (k + 0.5) * 2 / bins - 1
    u = ((ab.detach().float().flatten(2) + 1.0) * (bins / 2.0) - 0.5).clamp_(0, bins - 1)
    low = u.floor().clamp_(max=bins - 2).long() if bins > 1 else u.floor().long()
    frac = u - low  # in [0, 1]
    high = (low + 1).clamp_(max=bins - 1)
    offset = torch.arange(B, device=ab.device)[:, None] * bins * bins
    counts = torch.zeros(B * bins * bins, device=ab.device, dtype=torch.float32)
    for ia, wa in ((low[:, 0], 1.0 - frac[:, 0]), (high[:, 0], frac[:, 0])):
        for ib, wb in ((low[:, 1], 1.0 - frac[:, 1]), (high[:, 1], frac[:, 1])):
            counts.index_add_(0, (ia * bins + ib + offset).flatten(), (wa * wb).flatten())
    counts = counts.view(B, bins * bins)
    return counts / counts.sum(dim=1, keepdim=True).clamp_(min=1e-12)


@lru_cache(maxsize=8)
def _projection_plan(bins: int, directions: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """For each of ``directions`` evenly spaced directions: the order of the ab cell centres along it ``(K, M)``
    and the gaps between consecutive projected centres ``(K, M - 1)``."""
    centres = (torch.arange(bins, dtype=torch.float64) + 0.5) * (2.0 / bins) - 1.0
    a, b = torch.meshgrid(centres, centres, indexing="ij")
    points = torch.stack([a.flatten(), b.flatten()], dim=1)  # (M, 2), in ab_histogram's cell order
    angles = torch.arange(directions, dtype=torch.float64) * (math.pi / directions)
    projected = points @ torch.stack([angles.cos(), angles.sin()])  # (M, K)
    sorted_, order = projected.T.sort(dim=1)
    return order.to(device), sorted_.diff(dim=1).float().to(device)


def sliced_wasserstein_ab(
    p: Tensor, q: Tensor, bins: int = AB_BINS, directions: int = AB_DIRECTIONS
) -> Tensor:
    """Sliced Wasserstein-1 distance between ab histograms (:func:`ab_histogram`), row by row.

    Both distributions are projected on ``directions`` evenly spaced lines through the ab plane; on each line the
    1-D Wasserstein-1 distance (the earth mover's distance: the area between the two cumulative distributions) is
    exact for the colours as the histogram holds them (on its nodes); the result is their mean times pi/2, the
    scale on which moving every colour by a vector ``v`` costs ``|v|`` (so it reads in normalised ab units, like
    ``l1_ab``: x 110 gives CIELAB units).

    Args:
        p, q: ``(B, bins * bins)`` histograms (rows summing to 1).

    Returns:
        ``(B,)`` float32 distances, 0 for equal histograms.

    Example:
        >>> gray, tint = torch.zeros(1, 2, 8, 8), torch.full((1, 2, 8, 8), 0.25)
        >>> d = sliced_wasserstein_ab(ab_histogram(gray), ab_histogram(tint))
        >>> round(d.item(), 2)  # moved by (0.25, 0.25): length 0.354
        0.35
    """
    if p.shape != q.shape or p.dim() != 2 or p.shape[1] != bins * bins:
        raise ValueError(f"p and q must both be (B, {bins * bins}) histograms, got {tuple(p.shape)}, {tuple(q.shape)}")
    order, gaps = _projection_plan(bins, directions, p.device)
    diff = (p.float() - q.float())[:, order]  # (B, K, M): cell masses in the order of each direction
    cdf_gap = diff.cumsum(dim=2)[..., :-1].abs_()
    return (cdf_gap * gaps).sum(dim=2).mean(dim=1) * (math.pi / 2.0)


class ABDistributionDistance(Metric):
    """How far the predicted colours' distribution is from the true one: the sliced Wasserstein distance between
    ab histograms (:func:`sliced_wasserstein_ab`), in normalised ab units; lower is better, 0 for the truth.

    ``per_image=True`` (``swd_ab``, half of colorgan's selection metric ``l1_swd_ab``) averages the distance
    between each image's own predicted and true colours, so every photo must get its own palette right;
    ``per_image=False`` compares the colours of the whole set, pooled (blind to a photo painted in another's
    colours). A distribution distance gives a cast or washed-out colours little credit over no colour at all,
    where L1 gives them a lot; it does not see where a colour lands, which L1 does.

    States are sums (``dist_reduce_fx="sum"``), so the value is the same under DDP as on one device.
    """

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, per_image: bool = True, bins: int = AB_BINS, directions: int = AB_DIRECTIONS, **kwargs) -> None:
        super().__init__(**kwargs)
        self.per_image, self.bins, self.directions = bool(per_image), int(bins), int(directions)
        if self.per_image:
            self.add_state("total", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state("count", torch.zeros((), dtype=torch.float64), dist_reduce_fx="sum")
        else:
            self.add_state("pred_hist", torch.zeros(self.bins**2, dtype=torch.float64), dist_reduce_fx="sum")
            self.add_state("true_hist", torch.zeros(self.bins**2, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, pred_ab: Tensor, true_ab: Tensor) -> None:
        """``pred_ab``, ``true_ab``: ``(B, 2, H, W)`` normalised ab."""
        p, q = ab_histogram(pred_ab, self.bins), ab_histogram(true_ab, self.bins)
        if self.per_image:
            self.total += sliced_wasserstein_ab(p, q, self.bins, self.directions).sum().double()
            self.count += p.shape[0]
        else:
            self.pred_hist += p.sum(dim=0).double()
            self.true_hist += q.sum(dim=0).double()

    def compute(self) -> Tensor:
        if self.per_image:
            return (self.total / self.count).float()
        p = (self.pred_hist / self.pred_hist.sum())[None]
        q = (self.true_hist / self.true_hist.sum())[None]
        return sliced_wasserstein_ab(p, q, self.bins, self.directions)[0]


@torch.no_grad()
def per_photo_scores(pred_rgb: Tensor, true_rgb: Tensor, true_ab: Tensor | None = None) -> dict[str, Tensor]:
    """The scores of :class:`ColorizationMetrics`, photo by photo, for comparisons that resample photos.

    Args:
        pred_rgb, true_rgb: ``(B, 3, H, W)`` in [0, 1], as for :meth:`ColorizationMetrics.update`.
        true_ab: the truth's normalised ab ``(B, 2, H, W)`` when at hand.

    Returns:
        ``{"psnr", "ssim", "l1_ab", "swd_ab", "l1_swd_ab", "colorfulness", "colorfulness_true"}``, each ``(B,)``
        float32 on the inputs' device. The mean over photos of ``l1_ab``, ``swd_ab``, ``ssim`` and the
        colourfulness equals the collection's value; ``psnr`` is each photo's own (the collection's is that of
        the pooled squared error).

    Example:
        >>> truth = torch.rand(2, 3, 16, 16)
        >>> s = per_photo_scores(truth, truth)
        >>> s["l1_ab"].tolist(), s["swd_ab"].tolist()
        ([0.0, 0.0], [0.0, 0.0])
    """
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    pred_rgb, true_rgb = pred_rgb.float(), true_rgb.float()
    pred_ab = rgb_to_model_lab(pred_rgb)[1]
    true_ab = rgb_to_model_lab(true_rgb)[1] if true_ab is None else true_ab.float()
    l1 = (pred_ab - true_ab).abs().mean(dim=(1, 2, 3))
    swd = sliced_wasserstein_ab(ab_histogram(pred_ab), ab_histogram(true_ab))
    return {
        "psnr": peak_signal_noise_ratio(pred_rgb, true_rgb, data_range=1.0, reduction="none", dim=(1, 2, 3)),
        "ssim": structural_similarity_index_measure(pred_rgb, true_rgb, data_range=1.0, reduction="none"),
        "l1_ab": l1,
        "swd_ab": swd,
        "l1_swd_ab": l1 + swd,
        "colorfulness": colorfulness(pred_rgb),
        "colorfulness_true": colorfulness(true_rgb),
    }


# torch-fidelity's Inception weights, as torch.hub caches them after a download
FID_WEIGHTS_NAME = "weights-inception-2015-12-05-6726825d.pth"


def fid_unavailable(weights: str | Path | None = None) -> tuple[Path | None, str | None]:
    """``(weights file, None)`` when FID can be computed here, else ``(None, why not)``. Never downloads."""
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        return None, "FID skipped: torch-fidelity is not installed (pip install 'colorgan[fid]')"
    path = Path(weights).expanduser() if weights else Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_NAME
    if not path.is_file():
        return None, f"FID skipped: no Inception weights at {path} (set fid_weights=FILE; colorgan never downloads)"
    return path, None


def frechet_inception_distance(weights: str | Path) -> Metric:
    """torchmetrics' FID (2048 Inception features, images in [0, 1]) with the Inception weights read from
    ``weights`` (see :func:`fid_unavailable`); ``update(rgb, real=True|False)``, lower is better."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    return FrechetInceptionDistance(feature=2048, normalize=True, feature_extractor_weights_path=str(weights))


# The metric that picks best-*.ckpt and that sweeps optimise (as val/<name>): l1_ab + swd_ab. See the docs,
# docs/measure/choosing-checkpoint.md, for the measurements behind the choice.
SELECTION_METRIC = "l1_swd_ab"
HIGHER_IS_BETTER = ("psnr", "ssim", "colorfulness")
LOWER_IS_BETTER = ("l1_ab", "swd_ab", "l1_swd_ab", "fid")


def metric_direction(name: str) -> str:
    """``maximize`` for a metric where more is better (``val/psnr``, ``test/ssim``, ``val/colorfulness``),
    ``minimize`` for the rest (``val/l1_swd_ab``, ``val/swd_ab``, ``val/l1_ab``, ``fid``, losses,
    ``colorfulness_gap``). Sweepers use it for ``optimized_metric``.

    Example:
        >>> metric_direction("val/l1_swd_ab"), metric_direction("val/psnr")
        ('minimize', 'maximize')
    """
    return "maximize" if str(name).rsplit("/", 1)[-1] in HIGHER_IS_BETTER else "minimize"


class ColorizationMetrics(nn.Module):
    """Validation/test metrics, reduced correctly across DDP ranks (torchmetrics state, ``dist_reduce_fx``).

    ``update(pred_rgb, true_rgb, true_ab=...)``; ``compute()`` returns a dict:
    ``psnr``, ``ssim`` (RGB, data_range 1), ``l1_ab`` (normalised ab), ``swd_ab`` (the ab colour-distribution
    distance, :class:`ABDistributionDistance`), ``l1_swd_ab`` (their sum, the selection metric),
    ``colorfulness`` (outputs), ``colorfulness_true`` and ``colorfulness_gap`` (true minus output; positive =
    outputs too dull).

    Everything is scored on the pictures people get: ``pred_rgb`` is the colorized photo as ``colorize`` makes it
    (``model_lab_to_rgb(L, ab, keep_lightness=True)``), and the ab metrics use the colours of that picture, after
    out-of-gamut colours have been toned down, not the generator's raw output.
    """

    def __init__(self) -> None:
        super().__init__()
        self.image = MetricCollection(
            {
                "psnr": PeakSignalNoiseRatio(data_range=1.0),
                "ssim": StructuralSimilarityIndexMeasure(data_range=1.0),
            }
        )
        self.l1_ab = MeanMetric()
        self.swd_ab = ABDistributionDistance(per_image=True)
        self.colorfulness = MeanMetric()
        self.colorfulness_true = MeanMetric()

    @torch.no_grad()
    def update(self, pred_rgb: Tensor, true_rgb: Tensor, *, true_ab: Tensor | None = None) -> None:
        """``pred_rgb``, ``true_rgb``: ``(B, 3, H, W)`` in [0, 1]; ``true_ab``: the truth's normalised ab
        ``(B, 2, H, W)`` when at hand (else it is computed from ``true_rgb``)."""
        pred_rgb, true_rgb = pred_rgb.float(), true_rgb.float()
        pred_ab = rgb_to_model_lab(pred_rgb)[1]
        true_ab = rgb_to_model_lab(true_rgb)[1] if true_ab is None else true_ab.float()
        self.image.update(pred_rgb, true_rgb)
        self.l1_ab.update((pred_ab - true_ab).abs().mean(dim=(1, 2, 3)))
        self.swd_ab.update(pred_ab, true_ab)
        self.colorfulness.update(colorfulness(pred_rgb))
        self.colorfulness_true.update(colorfulness(true_rgb))

    @property
    def updated(self) -> bool:
        """Whether any photo was scored since the last reset (on this rank)."""
        return self.l1_ab.update_count > 0

    def compute(self) -> dict[str, Tensor]:
        out = dict(self.image.compute())
        out["l1_ab"] = self.l1_ab.compute()
        out["swd_ab"] = self.swd_ab.compute()
        # both are means over the photos: the sum is the mean of each photo's L1 + distribution distance
        out["l1_swd_ab"] = out["l1_ab"] + out["swd_ab"]
        out["colorfulness"] = self.colorfulness.compute()
        out["colorfulness_true"] = self.colorfulness_true.compute()
        out["colorfulness_gap"] = out["colorfulness_true"] - out["colorfulness"]
        return out

    def reset(self) -> None:
        self.image.reset()
        self.l1_ab.reset()
        self.swd_ab.reset()
        self.colorfulness.reset()
        self.colorfulness_true.reset()
