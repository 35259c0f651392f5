"""Colour points on a photo: where they land in the generator's square, their colour, and the errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from colorgan.color import rgb_to_model_lab
from colorgan.inference.colorizer import Colorizer
from colorgan.inference.hints import HintError, HintPoint, snap_ab


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
