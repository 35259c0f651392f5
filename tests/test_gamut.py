"""model_lab_to_rgb(keep_lightness=True): out-of-gamut colours lose chroma, never lightness."""

from __future__ import annotations

import torch
from kornia.color import lab_to_rgb

from colorgan.color import model_lab_to_rgb, rgb_to_model_lab


def _random_lab(shape: tuple[int, ...], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    L = torch.rand(*shape[:-3], 1, *shape[-2:], generator=g) * 2 - 1
    ab = torch.rand(*shape[:-3], 2, *shape[-2:], generator=g) * 2 - 1  # mostly far outside sRGB
    return L, ab


def test_lightness_is_kept_exactly() -> None:
    L, ab = _random_lab((2, 3, 40, 50))
    rgb = model_lab_to_rgb(L, ab, keep_lightness=True)
    assert rgb.shape == (2, 3, 40, 50) and rgb.min() >= 0 and rgb.max() <= 1
    L_back, _ = rgb_to_model_lab(rgb)
    assert (L_back - L).abs().max() * 50 < 1e-3  # in L* units
    clipped, _ = rgb_to_model_lab(model_lab_to_rgb(L, ab))
    assert (clipped - L).abs().max() * 50 > 5  # what plain clipping does to the same colours


def test_in_gamut_colours_are_untouched_and_chroma_only_shrinks() -> None:
    L, ab = _random_lab((3, 64, 64), seed=1)
    ab = ab * 0.4
    raw = lab_to_rgb(torch.cat([(L + 1) * 50, ab * 110], dim=0), clip=False)
    inside = ((raw >= 0) & (raw <= 1)).all(dim=0)
    assert 0.05 < inside.float().mean() < 0.95  # both kinds are present
    kept = model_lab_to_rgb(L, ab, keep_lightness=True)
    torch.testing.assert_close(kept[:, inside], model_lab_to_rgb(L, ab)[:, inside])
    _, ab_kept = rgb_to_model_lab(kept)
    assert (ab_kept.norm(dim=0) <= ab.norm(dim=0) + 1e-3).all()


def test_gray_stays_gray() -> None:
    L = torch.linspace(-1, 1, 101).view(1, 1, 101)
    rgb = model_lab_to_rgb(L, torch.zeros(2, 1, 101), keep_lightness=True)
    assert (rgb.amax(dim=0) - rgb.amin(dim=0)).max() < 1e-4
