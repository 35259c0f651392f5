"""Small synthetic photos for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def synthetic_photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A colourful structured picture: a smooth colour gradient with a few coloured rectangles, uint8 HxWx3."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    base = rng.uniform(0, 1, size=(3, 3))
    img = np.stack([base[c, 0] + base[c, 1] * xx + base[c, 2] * yy for c in range(3)], axis=-1)
    for _ in range(3):
        y0, x0 = rng.integers(0, height // 2), rng.integers(0, width // 2)
        img[y0 : y0 + height // 3, x0 : x0 + width // 3] = rng.uniform(0, 1, size=3)
    img = img + rng.normal(0, 0.02, size=img.shape)
    return (np.clip(img / img.max(), 0, 1) * 255).astype(np.uint8)


def write_photos(folder: Path, n: int, size: tuple[int, int] = (72, 88), ext: str = "png", seed: int = 0) -> list[Path]:
    """Write ``n`` synthetic photos into ``folder`` and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"photo_{i:03d}.{ext}"
        Image.fromarray(synthetic_photo(rng, *size)).save(path)
        paths.append(path)
    return paths
