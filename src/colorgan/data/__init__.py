"""Photos on disk -> (L, ab) batches on the device."""

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
