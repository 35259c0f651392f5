"""colorgan.metrics: the ab colour-distribution distance, the selection metric (L1 + that distance on ab) and the
metric directions."""

from __future__ import annotations

import math

import pytest
import torch
from torchmetrics.utilities.data import dim_zero_sum

from colorgan.metrics import (
    AB_BINS,
    AB_DIRECTIONS,
    SELECTION_METRIC,
    ABDistributionDistance,
    ColorizationMetrics,
    ab_histogram,
    metric_direction,
    sliced_wasserstein_ab,
)


def _random_ab(seed: int, shift: float = 0.0, spread: float = 0.3, n: int = 3, size: int = 24) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 2, size, size, generator=g) * spread + shift).clamp(-1, 1)


def _nodes_and_weights(ab: torch.Tensor, bins: int = AB_BINS) -> tuple[torch.Tensor, torch.Tensor]:
    """Each pixel's ab as the four histogram nodes around it ``(2, 4N)`` float64 and their bilinear weights
    ``(4N,)``, computed independently of :func:`ab_histogram` (pixel by pixel, in float64)."""
    u = ((ab.double() + 1) * bins / 2 - 0.5).clamp(0, bins - 1)
    low = u.floor().clamp(max=bins - 2)
    frac = u - low
    points, weights = [], []
    for da in (0, 1):
        for db in (0, 1):
            node = low + torch.tensor([[da], [db]], dtype=torch.float64)
            wa = frac[0] if da else 1 - frac[0]
            wb = frac[1] if db else 1 - frac[1]
            points.append((node + 0.5) * (2 / bins) - 1)
            weights.append(wa * wb)
    return torch.cat(points, dim=1), torch.cat(weights)


def test_histogram_shares_each_pixel_among_the_nodes_around_it() -> None:
    # nodes at -0.75, -0.25, 0.25, 0.75 on each axis
    ab = torch.tensor([[-1.0, 0.0, 0.25, 0.999], [1.0, 0.25, -0.5, -1.0]]).view(1, 2, 1, 4)
    h = ab_histogram(ab, bins=4).view(4, 4)
    assert h.sum() == pytest.approx(1.0)
    assert h[0, 3] == 0.25  # beyond the border nodes: on the corner node
    assert h[1, 2] == h[2, 2] == 0.125  # a = 0 is half-way between nodes 1 and 2; b = 0.25 on node 2
    assert h[2, 0] == h[2, 1] == 0.125  # b = -0.5 is half-way between nodes 0 and 1
    assert h[3, 0] == 0.25


def test_distance_matches_scipy_on_every_projection() -> None:
    """Per image: the mean of scipy's 1-D Wasserstein distances of the histogram's weighted nodes along the same
    directions."""
    scipy_stats = pytest.importorskip("scipy.stats")
    pred, true = _random_ab(0), _random_ab(1, shift=0.1, spread=0.2)
    ours = sliced_wasserstein_ab(ab_histogram(pred), ab_histogram(true))
    for i in range(pred.shape[0]):
        (p, wp), (q, wq) = _nodes_and_weights(pred[i].flatten(1)), _nodes_and_weights(true[i].flatten(1))
        per_direction = []
        for k in range(AB_DIRECTIONS):
            u = torch.tensor([math.cos(math.pi * k / AB_DIRECTIONS), math.sin(math.pi * k / AB_DIRECTIONS)]).double()
            per_direction.append(
                scipy_stats.wasserstein_distance((u @ p).numpy(), (u @ q).numpy(), wp.numpy(), wq.numpy())
            )
        assert float(ours[i]) == pytest.approx(sum(per_direction) / AB_DIRECTIONS * math.pi / 2, rel=1e-4)


@pytest.mark.parametrize("truth_seed", [5, 6])
def test_float_noise_on_a_gray_picture_barely_moves_the_distance(truth_seed: int) -> None:
    """Gray (ab = 0) lies half-way between two nodes: noise of a few 1e-5 (float rounding through the colour
    conversion) must move the score by about as little, not jump it between neighbouring cells."""
    true = _random_ab(truth_seed, spread=0.25, n=2, size=32)
    gray = torch.zeros_like(true)
    base = float(sliced_wasserstein_ab(ab_histogram(gray), ab_histogram(true)).mean())
    g = torch.Generator().manual_seed(0)
    for scale in (4e-5, 1e-4):
        for _ in range(3):
            noisy = gray + (torch.rand(gray.shape, generator=g) * 2 - 1) * scale
            moved = float(sliced_wasserstein_ab(ab_histogram(noisy), ab_histogram(true)).mean())
            assert abs(moved - base) <= 2 * scale, (scale, base, moved)


def test_a_small_colour_change_makes_a_small_change_in_distance() -> None:
    """Lipschitz in the colours: moving every pixel by at most e changes the distance by at most about e."""
    pred, true = _random_ab(7, spread=0.2), _random_ab(8, spread=0.3)
    base = sliced_wasserstein_ab(ab_histogram(pred), ab_histogram(true))
    for e in (1e-3, 1e-2):
        g = torch.Generator().manual_seed(1)
        moved = sliced_wasserstein_ab(ab_histogram(pred + (torch.rand(pred.shape, generator=g) * 2 - 1) * e),
                                      ab_histogram(true))
        assert ((moved - base).abs() <= 1.5 * e * math.sqrt(2)).all(), (e, base, moved)


@pytest.mark.parametrize("v", [(0.3, 0.0), (0.2, -0.4), (-0.5, 0.5)])
def test_moving_every_colour_by_v_costs_the_length_of_v(v: tuple[float, float]) -> None:
    true = _random_ab(2, spread=0.1)
    pred = true + torch.tensor(v).view(1, 2, 1, 1)
    d = sliced_wasserstein_ab(ab_histogram(pred), ab_histogram(true))
    assert d.tolist() == pytest.approx([math.hypot(*v)] * 3, rel=0.02)


def test_identical_colours_score_zero_and_duller_ones_more() -> None:
    true = _random_ab(3)
    metric = ABDistributionDistance()
    metric.update(true, true)
    assert float(metric.compute()) == 0.0
    scores = []
    for factor in (0.75, 0.5, 0.0):
        metric = ABDistributionDistance()
        metric.update(true * factor, true)
        scores.append(float(metric.compute()))
    assert 0 < scores[0] < scores[1] < scores[2]


def test_per_image_distance_sees_colours_painted_on_the_wrong_photo() -> None:
    """Each photo given another photo's colours: the set's colours are unchanged, every photo's are wrong."""
    true = torch.cat([_random_ab(4, shift=s, spread=0.05, n=1) for s in (-0.4, 0.0, 0.4)])
    swapped = true.roll(1, dims=0)
    per_image, pooled = ABDistributionDistance(per_image=True), ABDistributionDistance(per_image=False)
    for metric in (per_image, pooled):
        metric.update(swapped, true)
    assert float(pooled.compute()) == pytest.approx(0.0, abs=1e-6)
    assert float(per_image.compute()) > 0.3


@pytest.mark.parametrize("per_image", [True, False])
def test_states_add_up_across_processes(per_image: bool) -> None:
    """What DDP does with dist_reduce_fx='sum': two ranks' states merged give the value of all the photos on one."""
    pred, true = _random_ab(5, n=5), _random_ab(6, shift=0.2, n=5)
    whole = ABDistributionDistance(per_image=per_image)
    whole.update(pred, true)
    rank0, rank1 = ABDistributionDistance(per_image=per_image), ABDistributionDistance(per_image=per_image)
    rank0.update(pred[:2], true[:2])
    rank1.update(pred[2:], true[2:])
    rank0.merge_state(rank1)
    assert float(rank0.compute()) == pytest.approx(float(whole.compute()), rel=1e-6)
    assert all(fx is dim_zero_sum for fx in whole._reductions.values())


def test_colorization_metrics_report_the_selection_metric_on_the_delivered_colours() -> None:
    from colorgan.color import model_lab_to_rgb, rgb_to_model_lab

    g = torch.Generator().manual_seed(7)
    true_rgb = torch.rand(2, 3, 32, 32, generator=g)
    L, ab = rgb_to_model_lab(true_rgb)
    pred_rgb = model_lab_to_rgb(L, ab * 0.5, keep_lightness=True)
    metrics = ColorizationMetrics()
    metrics.update(pred_rgb, true_rgb)
    values = metrics.compute()
    reference = ABDistributionDistance()
    reference.update(rgb_to_model_lab(pred_rgb)[1], ab)
    assert float(values["swd_ab"]) == pytest.approx(float(reference.compute()), rel=1e-5)
    l1 = (rgb_to_model_lab(pred_rgb)[1] - ab).abs().mean()
    assert float(values["l1_ab"]) == pytest.approx(float(l1), rel=1e-5)
    assert SELECTION_METRIC == "l1_swd_ab"
    assert float(values[SELECTION_METRIC]) == pytest.approx(float(l1) + float(reference.compute()), rel=1e-5)


def test_metric_directions() -> None:
    assert metric_direction(f"val/{SELECTION_METRIC}") == "minimize" and metric_direction("val/swd_ab") == "minimize"
    assert metric_direction("test/fid") == "minimize" and metric_direction("val/l1_ab") == "minimize"
    assert metric_direction("val/psnr") == "maximize" and metric_direction("val/colorfulness") == "maximize"
