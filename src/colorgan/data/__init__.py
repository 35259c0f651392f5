"""Photos on disk -> (L, ab) batches on the device.

Every name is imported on first use, so that what needs little pays little: reading photos (colorize, evaluate's
helpers) does not import Lightning (``ColorizationDataModule``, ``random_hflip``), and
:mod:`colorgan.data.host_memory`, which every command calls first, imports neither PyTorch nor Pillow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from colorgan.data.datamodule import ColorizationDataModule, random_hflip
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

# name -> the module of colorgan.data that defines it
_WHERE = {
    "BadImageWarning": "dataset",
    "PhotoFolderDataset": "dataset",
    "collate_photos": "dataset",
    "ImageDecodeError": "decode",
    "array_channels": "decode",
    "load_photo": "decode",
    "load_rgb": "decode",
    "photo_channels": "decode",
    "resize_square": "decode",
    "IMAGE_EXTENSIONS": "files",
    "NoImagesError": "files",
    "find_images": "files",
    "split_files": "files",
    "ColorizationDataModule": "datamodule",
    "random_hflip": "datamodule",
}

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
    if name in _WHERE:
        return getattr(importlib.import_module(f"colorgan.data.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'colorgan.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
