"""A map-style dataset over photo files: decode and resize on CPU workers, nothing else."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from colorgan.data.decode import DEFAULT_MAX_PIXELS, ImageDecodeError, load_rgb, resize_square


class BadImageWarning(UserWarning):
    """A photo was skipped because it could not be read."""


class PhotoFolderDataset(Dataset):
    """Photos as uint8 RGB ``(3, size, size)`` tensors.

    Every item is a dict: ``{"image": Tensor | None, "path": str, "error": str | None}``. A file that cannot be
    decoded gives ``image=None`` and the reason in ``error`` (and a warning naming it) instead of raising, so one bad
    photo never kills an epoch; :func:`collate_photos` drops such items and keeps their names.
    """

    def __init__(self, files: Sequence[str | Path], image_size: int, max_pixels: int | None = DEFAULT_MAX_PIXELS):
        if image_size < 1:
            raise ValueError(f"data.image_size must be positive, got {image_size}")
        self.files = [Path(f) for f in files]
        self.image_size = int(image_size)
        self.max_pixels = max_pixels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = self.files[index]
        try:
            img = load_rgb(path, max_pixels=self.max_pixels, draft_size=self.image_size)
            return {"image": resize_square(img, self.image_size), "path": str(path), "error": None}
        except (ImageDecodeError, OSError) as err:
            reason = str(err) if str(path) in str(err) else f"{path}: {err}"
            warnings.warn(f"Skipping unreadable photo {reason}", BadImageWarning, stacklevel=2)
            return {"image": None, "path": str(path), "error": reason}


def collate_photos(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the readable photos of a batch; name the skipped ones.

    Returns ``{"image": uint8 (B, 3, S, S), "skipped": [reason, ...]}``. ``B`` may be smaller than the batch size
    (even 0) when files were skipped.
    """
    good = [it["image"] for it in items if it["image"] is not None]
    skipped = [it["error"] for it in items if it["image"] is None]
    images = torch.stack(good) if good else torch.empty((0, 3, 0, 0), dtype=torch.uint8)
    return {"image": images, "skipped": skipped}
