"""Photos on disk -> (L, ab) batches on the device."""

from colorgan.data.datamodule import ColorizationDataModule, random_hflip
from colorgan.data.dataset import BadImageWarning, PhotoFolderDataset, collate_photos
from colorgan.data.decode import ImageDecodeError, load_rgb, resize_square
from colorgan.data.files import IMAGE_EXTENSIONS, NoImagesError, find_images, split_files

__all__ = [
    "IMAGE_EXTENSIONS",
    "BadImageWarning",
    "ColorizationDataModule",
    "ImageDecodeError",
    "NoImagesError",
    "PhotoFolderDataset",
    "collate_photos",
    "find_images",
    "load_rgb",
    "random_hflip",
    "resize_square",
    "split_files",
]
