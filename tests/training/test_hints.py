"""Simulated hints (colorization-pytorch's add_color_patches_rand_gt): counts, squares, values, seeds, gray."""

from __future__ import annotations

import pytest
import torch

from colorgan.training.hints import HintSettings, draw_counts, gan_warning, simulate_hints

PAPER = HintSettings(enabled=True)


def _colourful(b: int = 4, h: int = 32, w: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, 2, h, w, generator=torch.Generator().manual_seed(seed)) * 1.6 - 0.8


def test_counts_are_geometric_with_mean_seven():
    counts = draw_counts(40_000, 0.125, torch.Generator().manual_seed(0)).double()
    # geometric with p = 1/8: mean (1 - p) / p = 7, std sqrt(1 - p) / p = 7.48 -> standard error 0.04 here
    assert abs(counts.mean().item() - 7.0) < 0.2
    assert abs((counts == 0).double().mean().item() - 0.125) < 0.01
    assert abs((counts >= 10).double().mean().item() - 0.875**10) < 0.01


def test_the_maps_hold_each_squares_mean_ab_and_a_mask_of_ones():
    ab = _colourful()
    hints = simulate_hints(ab, PAPER, count=1, generator=torch.Generator().manual_seed(3))
    pts = hints.points
    for i in range(ab.shape[0]):
        t, c, s = int(pts.top[i, 0]), int(pts.left[i, 0]), int(pts.size[i, 0])
        assert 1 <= s <= 9
        mask = torch.zeros(32, 32)
        mask[t : t + s, c : c + s] = 1
        assert torch.equal(hints.maps[i, 2], mask)
        mean = ab[i, :, t : t + s, c : c + s].mean(dim=(1, 2))
        square = hints.maps[i, :2, t : t + s, c : c + s]
        torch.testing.assert_close(square, mean[:, None, None].expand_as(square), rtol=0, atol=1e-6)
        assert not hints.maps[i, :2][:, mask == 0].any()


def test_a_later_point_paints_over_an_earlier_one():
    ab = _colourful(b=64, h=16, w=16)
    hints = simulate_hints(ab, PAPER, count=20, generator=torch.Generator().manual_seed(1))
    p = hints.points
    for i in range(4):
        t, c, s = int(p.top[i, -1]), int(p.left[i, -1]), int(p.size[i, -1])
        mean = ab[i, :, t : t + s, c : c + s].mean(dim=(1, 2))
        torch.testing.assert_close(hints.maps[i, :2, t, c], mean, rtol=0, atol=1e-6)


def test_the_same_seed_gives_the_same_hints_and_another_seed_others():
    ab = _colourful()
    a = simulate_hints(ab, PAPER, generator=torch.Generator().manual_seed(5)).maps
    b = simulate_hints(ab, PAPER, generator=torch.Generator().manual_seed(5)).maps
    c = simulate_hints(ab, PAPER, generator=torch.Generator().manual_seed(6)).maps
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(7)  # training draws from torch's global generator, which `seed` sets
    d = simulate_hints(ab, PAPER).maps
    torch.manual_seed(7)
    assert torch.equal(d, simulate_hints(ab, PAPER).maps)


def test_near_gray_photos_get_no_hints():
    ab = _colourful(b=2)
    ab[1] = (torch.rand(2, 32, 32) - 0.5) * (2.0 / 110)  # a* and b* within +-1 CIE unit: ranges sum < 5
    hints = simulate_hints(ab, PAPER, count=10, generator=torch.Generator().manual_seed(0))
    assert hints.maps[0, 2].any() and not hints.maps[1].any()
    assert hints.points.counts.tolist() == [10, 0]


def test_a_share_of_photos_gets_no_hints():
    ab = _colourful(b=2000, h=16, w=16)
    settings = HintSettings(enabled=True, no_hints_share=0.5)
    counts = simulate_hints(ab, settings, generator=torch.Generator().manual_seed(0)).points.counts.double()
    # none for half of them, plus the geometric draw's 1/8 of the rest
    assert abs((counts == 0).double().mean().item() - (0.5 + 0.5 / 8)) < 0.04


@pytest.mark.parametrize("placement", ["gaussian", "uniform"])
def test_placement_around_the_centre_or_anywhere(placement):
    ab = _colourful(b=500, h=64, w=64)
    pts = simulate_hints(ab, HintSettings(enabled=True, placement=placement), count=4,
                         generator=torch.Generator().manual_seed(0)).points
    centre = (pts.top + pts.size / 2).double()
    inner = ((centre - 32).abs() < 16).double().mean().item()  # the middle half of the rows
    # gaussian with std (H - P + 1) / 4: about 68 % within one std (16 px) of the centre; uniform: about half
    assert (inner > 0.62) if placement == "gaussian" else (0.44 < inner < 0.56)
    assert (pts.top >= 0).all() and (pts.top + pts.size <= 64).all()
    assert (pts.left >= 0).all() and (pts.left + pts.size <= 64).all()


def test_settings_errors_name_the_setting():
    with pytest.raises(ValueError, match="model.hints.p"):
        HintSettings(p=0)
    with pytest.raises(ValueError, match="model.hints.colour"):
        HintSettings.from_config({"colour": 1})


def test_a_hinted_model_trained_with_the_gan_on_is_told_of_the_recipe_that_follows_points():
    warning = gan_warning(PAPER, l1_warmup_epochs=0, max_epochs=40)
    assert warning and "+recipe=hints" in warning and "ignore its colour points" in warning
    assert gan_warning(PAPER, l1_warmup_epochs=5, max_epochs=40)  # the GAN joins in after 5 epochs
    assert gan_warning(PAPER, l1_warmup_epochs=1_000_000, max_epochs=20) is None  # L1 alone
    assert gan_warning(HintSettings(), l1_warmup_epochs=0, max_epochs=40) is None  # no hints
