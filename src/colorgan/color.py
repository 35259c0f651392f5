"""The colour space the models see: CIE LAB, normalised to [-1, 1].

This module is the single source of truth for the conversion. The DataModule, the sample grids,
``colorize``, ``evaluate`` and the benchmark all go through these functions.

Normalisation (the Pix2Pix colorization convention):

* ``L``  in [0, 100]      ->  ``L / 50 - 1``  in [-1, 1]
* ``ab`` in about ±110    ->  ``ab / 110``    in about [-1, 1]

LAB maths always runs in float32, also inside a bf16/fp16 autocast region: kornia's conversion
uses ``pow`` and a cube root, which lose far too much precision in half types.
"""

from __future__ import annotations

import torch
from kornia.color import lab_to_rgb, linear_rgb_to_rgb, rgb_to_lab, rgb_to_linear_rgb
from torch import Tensor

__all__ = [
    "AB_SCALE",
    "L_SCALE",
    "gray_rgb",
    "model_lab_to_rgb",
    "rgb_to_model_lab",
    "uint8_to_float",
    "uint8_to_model_lab",
]

L_SCALE = 50.0
AB_SCALE = 110.0


def _check_image(x: Tensor, channels: int, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 3 or x.shape[-3] != channels:
        raise ValueError(f"{name} must have shape (*, {channels}, H, W), got {tuple(x.shape)}")


def uint8_to_float(rgb: Tensor) -> Tensor:
    """uint8 ``(*, 3, H, W)`` in [0, 255] -> float32 in [0, 1]. Float input is returned as float32."""
    if rgb.dtype == torch.uint8:
        return rgb.float().div_(255.0)
    return rgb.float()


def rgb_to_model_lab(rgb: Tensor) -> tuple[Tensor, Tensor]:
    """Convert sRGB to the model's normalised LAB.

    Args:
        rgb: ``(*, 3, H, W)`` sRGB, uint8 in [0, 255] or float in [0, 1] (values outside are clamped for the
            conversion; ``rgb`` itself is not changed).

    Returns:
        ``(L, ab)``: ``L`` is ``(*, 1, H, W)`` in [-1, 1]; ``ab`` is ``(*, 2, H, W)`` in about [-1, 1].
        Both float32.

    Example:
        >>> L, ab = rgb_to_model_lab(torch.ones(1, 3, 4, 4))
        >>> round(L.mean().item(), 4), round(ab.abs().max().item(), 4)
        (1.0, 0.0)
    """
    _check_image(rgb, 3, "rgb")
    # uint8 / 255 is in range already; a float input is the caller's tensor, so it is clamped out of place
    x = uint8_to_float(rgb) if rgb.dtype == torch.uint8 else rgb.float().clamp(0.0, 1.0)
    with torch.autocast(device_type=rgb.device.type, enabled=False):
        lab = rgb_to_lab(x)
    L = lab[..., :1, :, :] / L_SCALE - 1.0
    ab = lab[..., 1:, :, :] / AB_SCALE
    return L, ab


def model_lab_to_rgb(L: Tensor, ab: Tensor, keep_lightness: bool = False) -> Tensor:
    """Convert the model's normalised LAB back to sRGB.

    ``ab`` is clamped to [-1, 1] before the conversion, so a generator output (tanh) or any other
    estimate always maps into the gamut kornia can handle; the RGB result is clipped to [0, 1].

    A colour outside the sRGB gamut (a saturated colour in a very bright or dark spot) cannot keep both its
    lightness and its chroma. By default each RGB channel is clipped, which changes the lightness there. With
    ``keep_lightness`` such a pixel instead keeps its ``L`` and loses just enough chroma to fit (it is mixed with
    the gray of the same luminance, in linear RGB): what a colorized photo needs, whose lightness is the original
    photo's.

    Args:
        L: ``(*, 1, H, W)`` in [-1, 1].
        ab: ``(*, 2, H, W)`` in [-1, 1]; any float dtype (converted to float32).
        keep_lightness: reduce chroma instead of clipping channels for out-of-gamut colours.

    Returns:
        ``(*, 3, H, W)`` float32 sRGB in [0, 1].
    """
    _check_image(L, 1, "L")
    _check_image(ab, 2, "ab")
    if L.shape[-2:] != ab.shape[-2:]:
        raise ValueError(f"L and ab must have the same size, got {tuple(L.shape)} and {tuple(ab.shape)}")
    with torch.autocast(device_type=L.device.type, enabled=False):
        lab = torch.cat(
            [(L.float() + 1.0) * L_SCALE, ab.float().clamp(-1.0, 1.0) * AB_SCALE],
            dim=-3,
        )
        if not keep_lightness:
            return lab_to_rgb(lab, clip=True)
        return _lab_to_rgb_keeping_lightness(lab)


def _lab_to_rgb_keeping_lightness(lab: Tensor) -> Tensor:
    """``lab`` ``(*, 3, H, W)`` (L in [0, 100]) -> sRGB; out-of-gamut pixels are mixed with the gray of the same
    luminance in linear RGB, just enough to fit. Luminance, hence L, is unchanged by such a mix."""
    rgb = lab_to_rgb(lab, clip=False)
    outside = ((rgb < 0.0) | (rgb > 1.0)).any(dim=-3)
    if bool(outside.any()):
        srgb = rgb.movedim(-3, -1)[outside]  # (n, 3): only the pixels that need it
        linear = rgb_to_linear_rgb(srgb.T[:, None, :])[:, 0, :].T  # undo the sRGB curve (it extends past [0, 1])
        # luminance Y: the Y row of the RGB -> XYZ matrix, whose weights sum to 1 (gray r = g = b has Y = r)
        weights = torch.tensor(_XYZ_FROM_LINEAR_RGB[1], dtype=linear.dtype, device=linear.device)
        Y = (linear @ weights).clamp_(0.0, 1.0)[:, None]
        over = (1.0 - Y) / (linear - Y).clamp(min=1e-12)  # the mix that brings a channel down to 1
        under = Y / (Y - linear).clamp(min=1e-12)  # the mix that brings a channel up to 0
        bound = torch.where(linear > 1.0, over, torch.where(linear < 0.0, under, torch.ones_like(linear)))
        s = bound.amin(dim=1, keepdim=True).clamp_(0.0, 1.0)
        mixed = (Y + s * (linear - Y)).clamp_(0.0, 1.0)
        rgb.movedim(-3, -1)[outside] = linear_rgb_to_rgb(mixed.T[:, None, :])[:, 0, :].T
    return rgb.clamp_(0.0, 1.0)


def gray_rgb(L: Tensor) -> Tensor:
    """The gray picture a model starts from: normalised ``L`` ``(*, 1, H, W)`` -> sRGB ``(*, 3, H, W)``."""
    return model_lab_to_rgb(L, torch.zeros_like(L).expand(*L.shape[:-3], 2, *L.shape[-2:]))


# kornia's rgb_to_lab constants (sRGB, D65 white, 2-degree observer), for the fused 8-bit path below.
_XYZ_FROM_LINEAR_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
_D65_WHITE = (0.95047, 1.0, 1.08883)
_LAB_EPSILON = 0.008856


def srgb_to_linear_table(device: torch.device | str = "cpu") -> Tensor:
    """kornia's sRGB -> linear-RGB curve evaluated at the 256 levels of an 8-bit channel, ``(256,)`` float32."""
    levels = torch.arange(256, dtype=torch.float32, device=device).div_(255.0)
    return rgb_to_linear_rgb(levels.view(1, 1, 256).expand(3, 1, 256))[0, 0]


# cbrt(m) for m in [1, 2): a degree-8 Chebyshev fit in u = 2m - 3, as power-basis coefficients (lowest first).
# numpy.polynomial.chebyshev.cheb2poly(chebfit(2 * m - 3, cbrt(m), 8)) over a fine grid of [1, 2] gives them;
# evaluated in float32 the cube root below is within 1.5e-7 relative of the exact one (tests/test_color.py).
_CBRT_MANTISSA = (
    1.1447142421616112, 0.1271904464604251, -0.014132253256646278, 0.0026174489987867457, -0.0005817574796155631,
    0.00014078365489005092, -3.632241385928183e-05, 1.1835164538163685e-05, -3.3823941495059796e-06,
)
_CBRT_2_C2 = (2.0 ** (2 / 3) - 2 * 2.0 ** (1 / 3) + 1.0) / 2  # 1 + c1 r + c2 r**2 is 2 ** (r / 3) at r = 0, 1, 2
_CBRT_2_C1 = 2.0 ** (1 / 3) - 1.0 - _CBRT_2_C2


def _cube_root(t: Tensor) -> Tensor:
    """Cube root of positive normal float32 ``t``, in plain arithmetic a compiler vectorises.

    ``t = 2**e * m`` with ``m`` in [1, 2) (read from the float's bits): ``cbrt(t) = 2**q * 2**(r/3) * cbrt(m)``
    for ``e = 3q + r``, and ``cbrt(m)`` is a polynomial. Compiled for a 2-core CPU it took half the time of
    ``exp(log(t) / 3)`` and a fifth of ``pow(t, 1/3)``; it is within 1.6e-7 relative of the exact cube root over
    the whole normal float32 range (tested).
    """
    bits = t.view(torch.int32)
    e = ((bits >> 23) - 127).to(torch.float32)
    u = ((bits & 0x7FFFFF) | 0x3F800000).view(torch.float32) * 2.0 - 3.0
    q = torch.floor(e * (1 / 3.0))
    r = e - 3.0 * q  # 0, 1 or 2
    two_q = ((q.to(torch.int32) + 127) << 23).view(torch.float32)
    two_r3 = 1.0 + r * (_CBRT_2_C1 + r * _CBRT_2_C2)  # 2 ** (r / 3) through its values at r = 0, 1, 2
    y = _CBRT_MANTISSA[-1] * u + _CBRT_MANTISSA[-2]  # Horner
    for c in _CBRT_MANTISSA[-3::-1]:
        y = y * u + c
    return y * two_q * two_r3


def uint8_to_model_lab(images: Tensor, table: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`rgb_to_model_lab` for 8-bit photos, written as one elementwise expression.

    The same conversion as ``rgb_to_model_lab(images)`` (kornia's constants; equal to within float32 rounding for
    every 8-bit colour, tested), shaped so that ``torch.compile`` turns it into a single vectorised pass over
    the pixels: the sRGB curve is a 256-entry lookup (``table`` from :func:`srgb_to_linear_table`), the 3x3 matrix
    is spelled out instead of an einsum, and the cube root is a polynomial on the float's mantissa
    (:func:`_cube_root`), which vectorises better than ``pow``. Eager it is slower than kornia; compiled, about
    ten times faster on a CPU.

    Args:
        images: uint8 ``(B, 3, H, W)``.
        table: :func:`srgb_to_linear_table` on the images' device.

    Returns:
        ``(L, ab)`` as :func:`rgb_to_model_lab` gives them.
    """
    lin = table[images.to(torch.int32)]
    r, g, b = lin[:, 0], lin[:, 1], lin[:, 2]
    m = _XYZ_FROM_LINEAR_RGB

    def f(t: Tensor) -> Tensor:
        return torch.where(t > _LAB_EPSILON, _cube_root(t.clamp(min=_LAB_EPSILON)), 7.787 * t + 4.0 / 29.0)

    # divisions by constants folded into multiplications (a float32 rounding apart from kornia's order)
    w = [[m[i][j] / _D65_WHITE[i] for j in range(3)] for i in range(3)]
    fx = f(w[0][0] * r + w[0][1] * g + w[0][2] * b)
    fy = f(w[1][0] * r + w[1][1] * g + w[1][2] * b)
    fz = f(w[2][0] * r + w[2][1] * g + w[2][2] * b)
    L = fy * (116.0 / L_SCALE) - (16.0 / L_SCALE + 1.0)
    ab = torch.stack([(fx - fy) * (500.0 / AB_SCALE), (fy - fz) * (200.0 / AB_SCALE)], dim=1)
    return L.unsqueeze(1), ab
