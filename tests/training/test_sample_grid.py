"""The sample grid: the pictures it shows are the ones colorize delivers."""

from __future__ import annotations

import numpy as np
import torch

from colorgan.color import gray_rgb, model_lab_to_rgb, rgb_to_model_lab, uint8_to_float
from colorgan.training.grid import labelled_grid
from colorgan.training.module import ColorGAN
from colorgan.training.sample_grid import SampleGrid

from helpers.photos import synthetic_photo


def test_grid_shows_the_colours_with_the_photos_lightness() -> None:
    torch.manual_seed(0)
    model = ColorGAN(generator={"ngf": 8, "num_downs": 6}, discriminator={"ndf": 8, "n_layers": 2}, image_size=64)
    # the untrained generator paints almost nothing; amplified, many of its colours leave the sRGB gamut
    model.generator.register_forward_hook(lambda module, inputs, output: torch.tanh(output * 1000.0))
    rng = np.random.default_rng(0)
    images = torch.stack([torch.from_numpy(synthetic_photo(rng, 64, 64)).permute(2, 0, 1) for _ in range(3)])

    grid = np.asarray(SampleGrid("unused").render(model, images))

    rgb = uint8_to_float(images)
    L, _ = rgb_to_model_lab(rgb)
    model.eval()
    with torch.no_grad():
        ab = model(L)

    def expected(keep_lightness: bool) -> np.ndarray:
        colorized = model_lab_to_rgb(L, ab, keep_lightness=keep_lightness)
        return np.asarray(labelled_grid([("gray", gray_rgb(L)), ("colorized", colorized), ("truth", rgb)]))

    assert not np.array_equal(expected(True), expected(False)), "the amplified colours must leave the gamut"
    np.testing.assert_array_equal(grid, expected(True))
