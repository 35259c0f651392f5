"""Colour points on a photo: where they land in the generator's square, their colour, and the errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from kornia.color import lab_to_rgb
from PIL import Image
from torch import nn

from colorgan.color import AB_SCALE, rgb_to_model_lab
from colorgan.inference.colorizer import Colorizer
from colorgan.inference.hints import HintError, HintPoint, hint_map, snap_ab
from colorgan.inference.letterbox import Box


class HintEcho(nn.Module):
    """A hinted generator that paints exactly its hints (ab where the mask is 1, gray elsewhere): what comes out at
    a pixel is what the Colorizer put into the hint map there."""

    divisor = 32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 1:3] * x[:, 3:4]


def _photo(tmp_path, w=100, h=60):
    rng = np.random.default_rng(0)
    pixels = np.clip(rng.normal(128, 10, (h, w)), 0, 255).astype(np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(pixels, mode="L").save(path)
    return path


def _ab_at(image: Image.Image, x: int, y: int) -> torch.Tensor:
    rgb = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None].float() / 255
    return rgb_to_model_lab(rgb)[1][0, :, y, x]


@pytest.mark.parametrize("size", [64, 128])
def test_a_point_lands_on_its_pixel_with_its_colour_at_the_photos_lightness(tmp_path, size):
    photo = _photo(tmp_path)
    colorizer = Colorizer(HintEcho(), 64, size=size, device="cpu", in_channels=4)
    point = HintPoint(x=70, y=20, color="#2a5caa", size=5)
    out = colorizer(photo, hints=[point])
    assert out.size == (100, 60)
    got = _ab_at(out, 70, 20)
    L = rgb_to_model_lab(torch.full((1, 3, 1, 1), 128 / 255))[0]
    want = snap_ab((0x2A, 0x5C, 0xAA), L)
    assert (got - want).abs().max() * 110 < 3.0  # CIE units; 8-bit output and the photo's own lightness per pixel
    assert got[1] < -0.1  # blue: b* well below 0
    assert _ab_at(out, 10, 50).abs().max() * 110 < 1.0  # far from the point: no colour
    # the same point in a file
    path = tmp_path / "hints.json"
    path.write_text(json.dumps({"points": [{"x": 70, "y": 20, "color": "#2a5caa", "size": 5}]}))
    assert np.array_equal(np.asarray(colorizer(photo, hints=path)), np.asarray(out))


def test_points_follow_the_letterbox_of_a_tall_photo(tmp_path):
    photo = _photo(tmp_path, w=40, h=120)
    colorizer = Colorizer(HintEcho(), 64, device="cpu", in_channels=4)
    out = colorizer(photo, hints=[{"x": 5, "y": 110, "color": "#ff0000", "size": 6}])
    assert _ab_at(out, 5, 110)[0] > 0.2 and _ab_at(out, 35, 10).abs().max() * 110 < 1.0


def test_bad_points_are_named(tmp_path):
    photo = _photo(tmp_path)
    colorizer = Colorizer(HintEcho(), 64, device="cpu", in_channels=4)
    with pytest.raises(HintError, match=r"point 2 \(x=100, y=5\) is outside the photo, which is 100x60"):
        colorizer(photo, hints=[{"x": 1, "y": 1, "color": "#fff"}, {"x": 100, "y": 5, "color": "#fff"}])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"points": [{"x": 1, "y": 1, "color": "#12345"}]}))
    with pytest.raises(HintError, match=r"hints file '.*bad.json': point 1: color '#12345' is not a colour"):
        colorizer(photo, hints=path)
    path.write_text("{not json")
    with pytest.raises(HintError, match="bad.json' is not JSON"):
        colorizer(photo, hints=path)
    with pytest.raises(HintError, match="point 1 .*missing color"):
        colorizer(photo, hints=[{"x": 1, "y": 1}])


def test_a_model_without_hints_refuses_them(tmp_path):
    path = tmp_path / "hints.json"
    path.write_text(json.dumps({"points": [{"x": 1, "y": 1, "color": "#2a5caa"}]}))
    colorizer = Colorizer(HintEcho(), 64, device="cpu", source="auto.ckpt")
    with pytest.raises(HintError, match=r"hints file '.*hints.json': the model auto.ckpt was trained without colour"):
        colorizer(_photo(tmp_path), hints=path)


# Where a point lands and what it asks for, read off the hint map itself: a 64x64 photo in a 64-pixel square sits at
# Box(0, 0, 64, 64), so the map's pixels are the photo's.
_WHOLE = Box(0, 0, 64, 64)


def _L_of_gray(value: int) -> torch.Tensor:
    """The normalised L of an 8-bit gray."""
    return rgb_to_model_lab(torch.full((1, 3, 1, 1), value / 255))[0].reshape(())


def _covered(hints: torch.Tensor) -> set[tuple[int, int]]:
    """The (row, column) pixels a hint map's mask covers."""
    return {(int(r), int(c)) for r, c in torch.nonzero(hints[2] > 0)}


def _square(rows: range, cols: range) -> set[tuple[int, int]]:
    return {(r, c) for r in rows for c in cols}


def test_an_out_of_gamut_colour_is_brought_into_the_gamut_at_the_photos_lightness():
    # pure blue is dark (L* 32): at L* 90 its own ab (b* -108) is far outside what sRGB can show there
    L = torch.full((1, 64, 64), 0.8)  # normalised: L* 90
    hints = hint_map([HintPoint(x=30, y=30, color="#0000ff", size=3)], 64, 64, _WHOLE, L, "photo")
    ab = hints[:2, 30, 30]
    lab = torch.cat([torch.tensor([90.0]), ab * AB_SCALE]).view(1, 3, 1, 1)
    rgb = lab_to_rgb(lab, clip=False).flatten()
    assert rgb.min() > -0.01 and rgb.max() < 1.01, f"ab {ab * AB_SCALE} is not in the sRGB gamut at L* 90: {rgb}"
    raw = rgb_to_model_lab(torch.tensor([0.0, 0.0, 1.0]).view(1, 3, 1, 1))[1].flatten()
    unsnapped = lab_to_rgb(torch.cat([torch.tensor([90.0]), raw * AB_SCALE]).view(1, 3, 1, 1), clip=False)
    assert raw[1] * AB_SCALE < -100 and unsnapped.max() > 1.5  # the test means something: far out of the gamut
    assert -60 < ab[1] * AB_SCALE < -10  # still blue, a light one


def test_a_points_colour_takes_the_lightness_of_its_own_place_not_of_the_whole_photo():
    # dark on the left (gray 40), light on the right (gray 230): blue at each place is a different ab
    L = torch.cat([_L_of_gray(40).expand(1, 64, 32), _L_of_gray(230).expand(1, 64, 32)], dim=2)
    colour = (0x10, 0x40, 0xE0)
    hints = hint_map([HintPoint(x=10, y=30, color="#1040e0", size=5)], 64, 64, _WHOLE, L, "photo")
    want, whole = snap_ab(colour, _L_of_gray(40)), snap_ab(colour, L.mean())
    assert (whole - want).abs().max() * AB_SCALE > 10  # the two lightnesses ask for different blues
    assert torch.allclose(hints[:2, 30, 10], want, atol=1e-4)
    light = hint_map([HintPoint(x=50, y=30, color="#1040e0", size=5)], 64, 64, _WHOLE, L, "photo")
    assert torch.allclose(light[:2, 30, 50], snap_ab(colour, _L_of_gray(230)), atol=1e-4)


def test_x_and_y_are_the_centre_of_the_points_square():
    L = torch.zeros(1, 64, 64)
    hints = hint_map([HintPoint(x=20, y=30, color="#1040e0", size=5)], 64, 64, _WHOLE, L, "photo")
    assert _covered(hints) == _square(range(28, 33), range(18, 23))
    one = hint_map([HintPoint(x=20, y=30, color="#1040e0")], 64, 64, _WHOLE, L, "photo")
    assert _covered(one) == {(30, 20)}


@pytest.mark.parametrize(
    ("x", "y", "rows", "cols"),
    [
        (0, 30, range(28, 33), range(0, 3)),  # left edge
        (30, 0, range(0, 3), range(28, 33)),  # top edge
        (0, 0, range(0, 3), range(0, 3)),  # top-left corner
        (63, 30, range(28, 33), range(61, 64)),  # right edge
        (30, 63, range(61, 64), range(28, 33)),  # bottom edge
        (1, 1, range(0, 4), range(0, 4)),  # one pixel in: 4 of its 5 rows and columns are on the photo
    ],
)
def test_a_point_at_an_edge_covers_only_the_part_of_its_square_on_the_photo(x, y, rows, cols):
    L = torch.zeros(1, 64, 64)
    hints = hint_map([HintPoint(x=x, y=y, color="#1040e0", size=5)], 64, 64, _WHOLE, L, "photo")
    assert _covered(hints) == _square(rows, cols)


def test_a_point_in_the_photos_corner_colours_its_corner_only(tmp_path):
    # the same through the Colorizer: a 5-pixel point centred on the top-left pixel colours 3x3 pixels
    path = tmp_path / "square.png"
    Image.new("L", (64, 64), 128).save(path)
    colorizer = Colorizer(HintEcho(), 64, size=64, device="cpu", in_channels=4)
    out = colorizer(path, hints=[{"x": 0, "y": 0, "color": "#1040e0", "size": 5}])
    rgb = torch.from_numpy(np.array(out.convert("RGB"))).permute(2, 0, 1)[None].float() / 255
    blue = rgb_to_model_lab(rgb)[1][0, 1] * AB_SCALE < -10
    assert {(int(r), int(c)) for r, c in torch.nonzero(blue)} == _square(range(3), range(3))
