"""Photos on disk -> (L, ab) batches on the device.

``ColorizationDataModule`` and ``random_hflip`` are imported on first use, so that reading photos (colorize,
evaluate's helpers) does not pay for importing Lightning.
"""

from typing import Any

from colorgan.data.dataset import BadImageWarning, PhotoFolderDataset, collate_photos
from colorgan.data.decode import (
    ImageDecodeError,
    array_channels,
    load_photo,
    load_rgb,
    photo_channels,
    resize_square,
)
from colorgan.data.files import IMAGE_EXTENSIONS, NoImagesError, find_images, split_files

__all__ = [
    "IMAGE_EXTENSIONS",
    "BadImageWarning",
    "ColorizationDataModule",
    "ImageDecodeError",
    "NoImagesError",
    "PhotoFolderDataset",
    "array_channels",
    "collate_photos",
    "find_images",
    "load_photo",
    "load_rgb",
    "photo_channels",
    "random_hflip",
    "resize_square",
    "split_files",
]


def __getattr__(name: str) -> Any:
    if name in ("ColorizationDataModule", "random_hflip"):
        from colorgan.data import datamodule

        return getattr(datamodule, name)
    raise AttributeError(f"module 'colorgan.data' has no attribute {name!r}")
