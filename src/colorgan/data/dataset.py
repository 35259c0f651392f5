"""A map-style dataset over photo files: decode and resize on CPU workers, nothing else."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from colorgan.data.decode import DEFAULT_MAX_PIXELS, ImageDecodeError, load_rgb, resize_square


class BadImageWarning(UserWarning):
    """A photo was skipped because it could not be read."""


class PhotoFolderDataset(Dataset):
    """Photos as uint8 RGB ``(3, size, size)`` tensors.

    Every item is a dict ``{"image": Tensor | None, "skipped": [reason, ...], "index": int}`` (``index``: the file
    the image came from, in ``files``). A file that cannot be decoded never
    kills an epoch: it is reported (a warning naming it, and its reason in ``skipped``) and

    * with ``replace_bad=True`` (training) the next readable photo stands in for it, so every batch keeps its
      full, fixed shape (good for cuDNN autotuning, ``torch.compile`` and DDP);
    * with ``replace_bad=False`` (validation, test) the item is ``None`` and :func:`collate_photos` drops it, so
      no photo is counted twice.
    """

    def __init__(
        self,
        files: Sequence[str | Path],
        image_size: int,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        replace_bad: bool = False,
        max_attempts: int = 16,
    ):
        if image_size < 1:
            raise ValueError(f"data.image_size must be positive, got {image_size}")
        self.files = [Path(f) for f in files]
        self.image_size = int(image_size)
        self.max_pixels = max_pixels
        self.replace_bad = replace_bad
        self.max_attempts = max_attempts

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> Tensor:
        """Decode and resize photo ``index``; raises :class:`ImageDecodeError`/``OSError`` for a bad file."""
        img = load_rgb(self.files[index], max_pixels=self.max_pixels, draft_size=self.image_size)
        return resize_square(img, self.image_size)

    def __getitem__(self, index: int) -> dict[str, Any]:
        skipped: list[str] = []
        attempts = min(self.max_attempts, len(self.files)) if self.replace_bad else 1
        for attempt in range(attempts):
            i = (index + attempt) % len(self.files)
            try:
                return {"image": self.load(i), "skipped": skipped, "index": i}
            except (ImageDecodeError, OSError) as err:
                path = str(self.files[i])
                reason = str(err) if path in str(err) else f"{path}: {err}"
                warnings.warn(f"Skipping unreadable photo {reason}", BadImageWarning, stacklevel=2)
                skipped.append(reason)
        return {"image": None, "skipped": skipped, "index": index}


def collate_photos(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the readable photos of a batch; name the skipped ones.

    Returns ``{"image": uint8 (B, 3, S, S), "skipped": [reason, ...], "index": int64 (B,)}`` (``index``: each
    photo's place in its dataset). ``B`` is smaller than the batch size (even 0) only when photos were dropped
    rather than replaced.
    """
    good = [it for it in items if it["image"] is not None]
    skipped = [reason for it in items for reason in it["skipped"]]
    images = torch.stack([it["image"] for it in good]) if good else torch.empty((0, 3, 0, 0), dtype=torch.uint8)
    index = torch.tensor([int(it.get("index", -1)) for it in good], dtype=torch.int64)
    return {"image": images, "skipped": skipped, "index": index}
