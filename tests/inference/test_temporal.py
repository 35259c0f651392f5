"""Temporal smoothing of a film's colour (still parts steadied, motion and cuts left alone) and the flicker figure."""

from __future__ import annotations

import pytest
import torch

from colorgan.color import model_lab_to_rgb
from colorgan.inference.temporal import FlickerMeter, Smoothing, TemporalSmoother, histogram_distance


def scene(moved: bool = False, shift: float = 0.0) -> torch.Tensor:
    """Normalised L ``(1, 16, 16)``: a gradient background with a bright square that moves when ``moved``."""
    L = torch.linspace(-0.6, 0.2, 16).view(1, 1, 16).expand(1, 16, 16).clone()
    col = 8 if moved else 2
    L[:, 4:8, col : col + 4] = 0.8
    return L + shift


def colour(a: float, b: float) -> torch.Tensor:
    return torch.tensor([a, b]).view(2, 1, 1).expand(2, 16, 16).clone()


def test_still_pixels_are_blended_and_moving_ones_keep_their_own_colour() -> None:
    smoother = TemporalSmoother(Smoothing(strength=0.75, tolerance=4.0))
    first = smoother(scene(), colour(0.4, 0.0))
    assert torch.equal(first, colour(0.4, 0.0))  # nothing to blend with yet
    second = smoother(scene(moved=True), colour(0.0, 0.4))
    still = torch.ones(16, 16, dtype=torch.bool)
    still[4:8, 2:6] = still[4:8, 8:12] = False  # where the square was, and where it is now
    # still: 3/4 of the previous colour; moved: the frame's own prediction, exactly
    torch.testing.assert_close(second[:, still], torch.tensor([[0.3], [0.1]]).expand(2, int(still.sum())))
    torch.testing.assert_close(second[:, ~still], torch.tensor([[0.0], [0.4]]).expand(2, int((~still).sum())))
    assert smoother.cuts == 0


def test_the_blend_fades_out_with_the_change_of_lightness() -> None:
    smoother = TemporalSmoother(Smoothing(strength=0.8, tolerance=4.0))
    smoother(scene(), colour(0.5, 0.5))
    # the top quarter of the picture gets 2 L* units (0.04 normalised) lighter: half the tolerance, half the strength
    L = scene()
    L[:, :4] += 0.04
    out = smoother(L, colour(0.0, 0.0))
    torch.testing.assert_close(out[:, :4], colour(0.2, 0.2)[:, :4], rtol=0, atol=1e-5)
    torch.testing.assert_close(out[:, 4:], colour(0.4, 0.4)[:, 4:], rtol=0, atol=1e-5)


def test_a_change_of_the_whole_frames_brightness_is_not_motion() -> None:
    """Old film's exposure flicker (or a fade) lightens every pixel alike: the colour stays steady."""
    smoother = TemporalSmoother(Smoothing(strength=0.8, tolerance=4.0))
    smoother(scene(), colour(0.5, 0.5))
    out = smoother(scene(shift=0.1), colour(0.0, 0.0))  # 5 L* units lighter everywhere
    torch.testing.assert_close(out, colour(0.4, 0.4), rtol=0, atol=1e-5)
    assert smoother.cuts == 0


def test_a_cut_starts_afresh_even_where_lightness_did_not_change() -> None:
    smoother = TemporalSmoother(Smoothing(strength=0.9, cut_threshold=0.3))
    shot_a = torch.full((1, 16, 16), -0.6)
    shot_b = shot_a.clone()
    shot_b[:, :, 8:] = 0.6  # half the picture changes: the left half has the same L in both shots
    smoother(shot_a, colour(0.5, 0.0))
    smoother(shot_a, colour(0.5, 0.0))
    after_cut = smoother(shot_b, colour(-0.5, 0.0))
    assert torch.equal(after_cut, colour(-0.5, 0.0))
    assert smoother.cuts == 1
    # within the new shot, smoothing goes on
    assert smoother(shot_b, colour(0.0, 0.0))[0, 0, 0].item() == pytest.approx(-0.45)


def test_strength_zero_is_frame_by_frame_and_still_counts_cuts() -> None:
    smoother = TemporalSmoother(Smoothing(strength=0.0))
    for i, L in enumerate([scene(), scene(), torch.full((1, 16, 16), 0.9)]):
        ab = colour(0.1 * i, -0.1 * i)
        assert torch.equal(smoother(L, ab), ab)
    assert smoother.cuts == 1


def test_reset_forgets_the_previous_film() -> None:
    smoother = TemporalSmoother()
    smoother(scene(), colour(0.5, 0.5))
    smoother.reset()
    assert torch.equal(smoother(scene(), colour(0.0, 0.0)), colour(0.0, 0.0))


@pytest.mark.parametrize(
    "kwargs, setting",
    [({"strength": 1.0}, "strength"), ({"tolerance": 0.0}, "tolerance"), ({"cut_threshold": 0.0}, "cut threshold")],
)
def test_bad_settings_are_refused_by_name(kwargs: dict, setting: str) -> None:
    with pytest.raises(ValueError, match=setting):
        Smoothing(**kwargs)


def test_histogram_distance() -> None:
    a = torch.tensor([0.5, 0.5, 0.0])
    assert histogram_distance(a, a) == 0.0
    assert histogram_distance(a, torch.tensor([0.0, 0.5, 0.5])) == pytest.approx(0.5)


def test_flicker_meter_measures_colour_change_where_lightness_is_still() -> None:
    L = torch.full((1, 8, 8), 0.1)
    L[:, :, 4:] = -0.5  # two lightness levels
    gray = model_lab_to_rgb(L, torch.zeros(2, 8, 8))
    tinted = model_lab_to_rgb(L, torch.stack([torch.full((8, 8), 20 / 110), torch.zeros(8, 8)]))  # a* + 20
    moved = model_lab_to_rgb(torch.roll(L, 2, dims=-1), torch.zeros(2, 8, 8))  # L moves: those pixels excluded
    meter = FlickerMeter(still=1.0)
    for frame in (gray, tinted, gray):
        meter.update(frame)
    assert meter.compute() == pytest.approx(20.0, abs=0.2)  # a* went +20 and back, every pixel still
    assert meter.pixels == 2 * 64 and meter.pairs == 2
    meter.update(moved)  # only the 32 pixels whose L did not change count, and their colour did not change
    assert meter.pixels == 2 * 64 + 32
    assert meter.compute() == pytest.approx(20.0 * 128 / 160, abs=0.2)
