"""The classification head's pieces against references computed here by other means: the in-gamut bins, the soft
targets, the rebalancing weights, the annealed mean and the loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.color import rgb2lab

from colorgan.color import AB_SCALE
from colorgan.nn import UNetGenerator, build_generator
from colorgan.nn.classification import (
    ClassificationHead,
    ab_bins,
    annealed_mean,
    rebalancing_weights,
    set_temperature,
    soft_encode,
)
from colorgan.training.classes import class_loss


def test_bins_are_the_grid_cells_that_srgb_colours_reach():
    bins = ab_bins()
    assert bins.shape == (261, 2)
    assert torch.equal(bins, torch.round(bins / 10) * 10), "centres on the grid of 10"
    found = {tuple(map(int, c)) for c in bins.tolist()}
    # every sRGB colour's ab (scikit-image's conversion, not kornia's), on a coarser grid of colours, rounds to a bin
    levels = np.linspace(0, 1, 52)
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    ab = rgb2lab(rgb)[:, 0, 1:]
    reached = {(int(a), int(b)) for a, b in (np.round(ab / 10) * 10).tolist()}
    assert reached <= found
    assert len(reached) > 240, "the coarse grid of colours reaches nearly every bin"
    # corners no sRGB colour reaches
    assert (110, 110) not in found and (-110, -110) not in found and (-110, 110) not in found


def test_soft_targets_spread_over_the_five_nearest_bins_with_gaussian_weights():
    bins = ab_bins()
    ab = torch.tensor([[3.0, -4.0], [20.0, 10.0]]) / AB_SCALE  # CIE ab of two pixels
    z = soft_encode(ab.T.reshape(1, 2, 1, 2), bins)[0].reshape(len(bins), 2).T
    for pixel, target in zip(ab * AB_SCALE, z):
        d2 = ((bins - pixel) ** 2).sum(1)
        nearest = d2.argsort()[:5]
        expected = torch.zeros(len(bins))
        expected[nearest] = torch.exp(-d2[nearest] / (2 * 5.0**2))
        expected /= expected.sum()
        assert torch.allclose(target, expected, atol=1e-6)
        assert int((target > 0).sum()) == 5 and math.isclose(float(target.sum()), 1.0, rel_tol=1e-6)


def test_rebalancing_weights_follow_the_formula_and_have_expected_weight_one():
    bins = ab_bins()
    counts = torch.zeros(len(bins))
    gray = int(((bins**2).sum(1)).argmin())
    counts[gray] = 900  # mostly gray, a little of one saturated colour
    vivid = int(((bins - torch.tensor([60.0, 60.0])) ** 2).sum(1).argmin())
    counts[vivid] = 100
    w = rebalancing_weights(counts, bins).double()
    # by hand: smooth, mix with uniform, invert, normalise
    p = counts.double() / counts.sum()
    kernel = torch.exp(-(torch.cdist(bins.double(), bins.double()) ** 2) / 50)
    smooth = kernel @ p
    smooth /= smooth.sum()
    expected = 1 / (0.5 * smooth + 0.5 / len(bins))
    expected /= (smooth * expected).sum()
    assert torch.allclose(w, expected, rtol=1e-5)
    assert math.isclose(float((smooth * w).sum()), 1.0, rel_tol=1e-6)
    assert w[vivid] > w[gray], "the rare colour weighs more"
    assert w.max() <= 2 * len(bins), "mixing with the uniform distribution bounds the weights"
    with pytest.raises(ValueError, match="no pixels"):
        rebalancing_weights(torch.zeros(len(bins)), bins)


def test_annealed_mean_goes_from_the_mean_to_the_mode():
    bins = ab_bins()
    logits = torch.randn(1, len(bins), 2, 3, generator=torch.Generator().manual_seed(0)) * 2
    probs = torch.softmax(logits, 1)
    mean = torch.einsum("bqhw,qc->bchw", probs, bins) / AB_SCALE
    assert torch.allclose(annealed_mean(logits, bins, 1.0), mean, atol=1e-6)
    mode = bins[logits.argmax(1)].permute(0, 3, 1, 2) / AB_SCALE
    assert torch.equal(annealed_mean(logits, bins, 0.0), mode)
    assert torch.allclose(annealed_mean(logits, bins, 0.01), mode, atol=1e-3)
    # two equally likely saturated colours on either side of gray: the mean is gray, a low temperature picks one
    two = torch.full((1, len(bins), 1, 1), -10.0)
    left = int(((bins - torch.tensor([-50.0, 0.0])) ** 2).sum(1).argmin())
    right = int(((bins - torch.tensor([50.0, 0.0])) ** 2).sum(1).argmin())
    two[0, left], two[0, right] = 3.0, 2.5
    chroma = [float(annealed_mean(two, bins, t).norm()) * AB_SCALE for t in (1.0, 0.38, 0.1)]
    assert chroma[0] < 15 < 40 < chroma[2] and chroma[0] < chroma[1] < chroma[2]  # 12.2, 28.9, 49.7
    with pytest.raises(ValueError, match=">= 0"):
        annealed_mean(logits, bins, -0.1)


def test_the_loss_is_the_weighted_soft_cross_entropy_and_prefers_the_truth():
    bins = ab_bins()
    torch.manual_seed(0)
    ab = (torch.rand(2, 2, 8, 8) - 0.5) * 0.8
    weights = torch.rand(len(bins)) + 0.5
    logits = torch.randn(2, len(bins), 2, 2, requires_grad=True)
    loss = class_loss(logits, ab, bins, weights)
    # by hand, pixel by pixel, at the quarter size
    pooled = F.avg_pool2d(ab, 4)
    z = soft_encode(pooled, bins)
    total = 0.0
    for b in range(2):
        for y in range(2):
            for x in range(2):
                cie = pooled[b, :, y, x] * AB_SCALE
                q = int(((bins - cie) ** 2).sum(1).argmin())
                logp = torch.log_softmax(logits[b, :, y, x].detach(), 0)
                total += float(weights[q]) * float(-(z[b, :, y, x] * logp).sum())
    assert math.isclose(float(loss), total / 8, rel_tol=1e-5)
    loss.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    truthful = torch.log(z.clamp_min(1e-6)) * 10
    assert class_loss(truthful, ab, bins, weights) < loss


def test_head_on_every_generator_keeps_the_generator_interface():
    x = torch.rand(2, 1, 64, 64) * 2 - 1
    for config in (
        {"name": "unet", "ngf": 8, "num_downs": 5},
        {"name": "resnet_unet", "encoder": "resnet18", "ngf": 8},
        {"name": "encoder_unet", "encoder": "tf_efficientnet_lite0", "ngf": 8},
    ):
        g = build_generator({**config, "head": "classification", "temperature": 0.2})
        assert isinstance(g, ClassificationHead) and g.temperature == 0.2
        assert g.logits(x).shape == (2, 261, 16, 16)
        ab = g(x)
        assert ab.shape == (2, 2, 64, 64) and ab.abs().max() <= 1
        assert {"bins", "class_weights", "class_weights_set"} <= set(g.state_dict())
    hinted = build_generator({"name": "unet", "ngf": 8, "num_downs": 5, "in_channels": 4, "head": "classification"})
    assert hinted(torch.zeros(1, 4, 64, 64)).shape == (1, 2, 64, 64)
    with pytest.raises(ValueError, match="model.head must be one of"):
        build_generator({"name": "unet", "head": "softmax"})


def test_temperature_is_refused_by_a_regression_model_and_out_of_range():
    with pytest.raises(ValueError, match="model.head=regression"):
        set_temperature(UNetGenerator(ngf=8, num_downs=5), 0.1)
    head = build_generator({"name": "unet", "ngf": 8, "num_downs": 5, "head": "classification"})
    with pytest.raises(ValueError, match="between 0"):
        set_temperature(head, 1.5)
    set_temperature(head, 0.0)
    assert head.temperature == 0.0
