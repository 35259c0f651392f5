"""The colour space: normalised LAB against an independent reference, round trips, dtypes and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.color import lab2rgb, rgb2lab

from colorgan.color import AB_SCALE, L_SCALE, gray_rgb, model_lab_to_rgb, rgb_to_model_lab


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 3, 16, 16), (2, 2, 3, 4, 9)])
def test_matches_scikit_image(shape):
    rgb = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    L, ab = rgb_to_model_lab(rgb)
    assert L.shape == (*shape[:-3], 1, *shape[-2:]) and ab.shape == (*shape[:-3], 2, *shape[-2:])
    assert L.dtype == ab.dtype == torch.float32
    ref = rgb2lab(np.moveaxis(rgb.double().numpy(), -3, -1))  # float64, channels last
    ref = torch.from_numpy(np.moveaxis(ref, -1, -3)).float()
    torch.testing.assert_close((L + 1) * L_SCALE, ref[..., :1, :, :], atol=2e-3, rtol=0)
    torch.testing.assert_close(ab * AB_SCALE, ref[..., 1:, :, :], atol=2e-3, rtol=0)


def test_known_colours():
    # white, black, pure red, pure blue: LAB values from the CIE definition (D65), as scikit-image gives them
    rgb = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]).T.reshape(1, 3, 1, 4)
    L, ab = rgb_to_model_lab(rgb)
    lab = torch.cat([(L + 1) * 50, ab * 110], 1)[0, :, 0].T
    expected = torch.tensor([[100.0, 0.0, 0.0], [0.0, 0.0, 0.0], [53.24, 80.09, 67.20], [32.30, 79.19, -107.86]])
    torch.testing.assert_close(lab, expected, atol=0.05, rtol=0)
    assert L.min() >= -1.0 and L.max() <= 1.0


def test_uint8_and_float_inputs_agree():
    img = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    L8, ab8 = rgb_to_model_lab(img)
    Lf, abf = rgb_to_model_lab(img.float() / 255)
    torch.testing.assert_close(L8, Lf)
    torch.testing.assert_close(ab8, abf)


def test_the_callers_tensor_is_left_alone():
    """Out-of-range floats are clamped for the conversion, not in the caller's tensor."""
    rgb = torch.linspace(-0.5, 1.5, 3 * 4 * 5).reshape(1, 3, 4, 5)
    before = rgb.clone()
    L, ab = rgb_to_model_lab(rgb)
    torch.testing.assert_close(rgb, before, rtol=0, atol=0)
    L_ref, ab_ref = rgb_to_model_lab(before.clamp(0.0, 1.0))
    torch.testing.assert_close(L, L_ref, rtol=0, atol=0)
    torch.testing.assert_close(ab, ab_ref, rtol=0, atol=0)


def test_round_trip():
    rgb = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    back = model_lab_to_rgb(*rgb_to_model_lab(rgb))
    torch.testing.assert_close(back, rgb, atol=1e-4, rtol=0)


def test_inverse_matches_scikit_image():
    L = torch.rand(1, 1, 6, 6) * 1.4 - 0.6  # L in [20, 90]: every ab below stays inside the sRGB gamut's XYZ
    ab = (torch.rand(1, 2, 6, 6) * 2 - 1) * 0.2
    rgb = model_lab_to_rgb(L, ab)
    lab = torch.cat([(L + 1) * L_SCALE, ab * AB_SCALE], 1)[0].permute(1, 2, 0).double().numpy()
    ref = torch.from_numpy(np.clip(lab2rgb(lab), 0, 1)).permute(2, 0, 1)[None].float()
    torch.testing.assert_close(rgb, ref, atol=2e-3, rtol=0)


def test_ab_is_clamped_before_conversion():
    L = torch.zeros(1, 1, 4, 4)
    wild = torch.full((1, 2, 4, 4), 7.0)
    torch.testing.assert_close(model_lab_to_rgb(L, wild), model_lab_to_rgb(L, torch.ones_like(wild)))
    out = model_lab_to_rgb(L, wild)
    assert out.min() >= 0 and out.max() <= 1 and torch.isfinite(out).all()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_inputs_and_autocast_stay_float32(dtype):
    rgb = torch.rand(2, 3, 16, 16)
    L_ref, ab_ref = rgb_to_model_lab(rgb)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        L, ab = rgb_to_model_lab(rgb)
        back = model_lab_to_rgb(L, ab.to(dtype))
    assert L.dtype == ab.dtype == back.dtype == torch.float32
    torch.testing.assert_close(L, L_ref)
    # ab went through a half type (bf16 keeps 8 bits of mantissa), L did not
    torch.testing.assert_close(back, rgb, atol=3e-2 if dtype == torch.bfloat16 else 5e-3, rtol=0)


def test_gray_rgb_has_equal_channels():
    L, _ = rgb_to_model_lab(torch.rand(2, 3, 8, 8))
    g = gray_rgb(L)
    assert g.shape == (2, 3, 8, 8)
    torch.testing.assert_close(g[:, 0], g[:, 1], atol=1e-3, rtol=0)
    torch.testing.assert_close(g[:, 1], g[:, 2], atol=1e-3, rtol=0)
    torch.testing.assert_close(rgb_to_model_lab(g)[0], L, atol=1e-3, rtol=0)


def test_bad_input_errors():
    with pytest.raises(TypeError, match="torch.Tensor"):
        rgb_to_model_lab(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match=r"\(\*, 3, H, W\)"):
        rgb_to_model_lab(torch.zeros(1, 4, 8, 8))
    with pytest.raises(ValueError, match="same size"):
        model_lab_to_rgb(torch.zeros(1, 1, 4, 4), torch.zeros(1, 2, 4, 5))


def test_gradients_flow_through_inverse():
    ab = (torch.rand(1, 2, 4, 4, dtype=torch.float32) * 0.5 - 0.25).requires_grad_()
    L = torch.zeros(1, 1, 4, 4)
    model_lab_to_rgb(L, ab).sum().backward()
    assert ab.grad is not None and torch.isfinite(ab.grad).all() and ab.grad.abs().sum() > 0


def test_fused_uint8_path_equals_kornia_path():
    from colorgan.color import srgb_to_linear_table, uint8_to_model_lab

    images = torch.randint(0, 256, (3, 3, 17, 9), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    everything = torch.arange(256**3, dtype=torch.int64)  # every 8-bit colour once
    every_colour = torch.stack([everything // 65536, everything // 256 % 256, everything % 256]).to(torch.uint8)
    for batch in (images, every_colour.reshape(1, 3, 4096, 4096)):
        L, ab = uint8_to_model_lab(batch, srgb_to_linear_table())
        L_ref, ab_ref = rgb_to_model_lab(batch)
        torch.testing.assert_close(L, L_ref, atol=2e-6, rtol=0)
        torch.testing.assert_close(ab, ab_ref, atol=2e-6, rtol=0)


def test_cube_root_is_exact_to_float32_rounding_over_the_normal_range():
    from colorgan.color import _cube_root

    x = torch.logspace(-37, 38, 200_001, dtype=torch.float64)
    x = torch.cat([x, torch.linspace(0.008856, 1.1, 200_001, dtype=torch.float64)])  # where LAB uses it
    exact = x.pow(1 / 3)
    rel = ((_cube_root(x.float()).double() - exact) / exact).abs().max().item()
    assert rel < 2e-7


def test_cube_root_coefficients_are_the_chebyshev_fit_they_claim():
    from numpy.polynomial import chebyshev

    from colorgan.color import _CBRT_MANTISSA

    m = np.linspace(1.0, 2.0, 200_001)
    refit = chebyshev.cheb2poly(chebyshev.chebfit(2 * m - 3, np.cbrt(m), len(_CBRT_MANTISSA) - 1))
    np.testing.assert_allclose(_CBRT_MANTISSA, refit, rtol=1e-6, atol=1e-12)


@pytest.mark.slow
def test_compiled_fused_path_equals_kornia_for_every_8bit_colour():
    from colorgan.color import srgb_to_linear_table, uint8_to_model_lab

    everything = torch.arange(256**3, dtype=torch.int64)
    batch = torch.stack([everything // 65536, everything // 256 % 256, everything % 256]).to(torch.uint8)
    batch = batch.reshape(1, 3, 4096, 4096)
    L, ab = torch.compile(uint8_to_model_lab)(batch, srgb_to_linear_table())
    L_ref, ab_ref = rgb_to_model_lab(batch)
    torch.testing.assert_close(L, L_ref, atol=2e-6, rtol=0)
    torch.testing.assert_close(ab, ab_ref, atol=2e-6, rtol=0)
