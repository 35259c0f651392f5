"""Reading one photo file into a uint8 RGB tensor, whatever its format and mode.

torchvision.io decodes JPEG, PNG, WebP and GIF (8- and 16-bit, EXIF orientation applied). Anything it cannot
decode (TIFF, BMP, CMYK and other exotic modes) goes through Pillow. Large JPEGs that will be shrunk a lot anyway
are decoded at a reduced DCT scale by Pillow's ``draft`` mode, which skips most of the decoding work.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms.v2 import functional as TF

# Pillow's own default guard is ~89 megapixels (warning) and twice that (error). colorgan uses one explicit limit.
DEFAULT_MAX_PIXELS = 180_000_000

_TORCHVISION_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


class ImageDecodeError(ValueError):
    """A file that is not a readable photo. The message names the file and the reason."""


def _sixteen_bit_to_uint8(img: Image.Image) -> Image.Image:
    arr = np.asarray(img)
    if arr.dtype.kind == "f":
        arr = np.clip(arr, 0.0, 1.0) * 255.0
    else:
        arr = arr.astype(np.uint32) >> 8 if arr.max(initial=0) > 255 else arr
    return Image.fromarray(arr.astype(np.uint8), mode="L")


def _pil_to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB (alpha dropped; 16-bit and float gray scaled to 8 bits)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        img = _sixteen_bit_to_uint8(img)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    return img.convert("RGB") if img.mode != "RGB" else img


def open_checked(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open ``path`` lazily with Pillow (header only) and apply the size guard."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise ImageDecodeError(f"{path}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as err:
        raise ImageDecodeError(f"{path}: too large to decode safely ({err})") from err
    except Exception as err:  # noqa: BLE001 - Pillow raises many types for junk input
        raise ImageDecodeError(f"{path}: not a readable image ({type(err).__name__}: {err})") from err
    w, h = img.size
    if max_pixels is not None and w * h > max_pixels:
        img.close()
        raise ImageDecodeError(
            f"{path}: {w}x{h} = {w * h / 1e6:.0f} megapixels is over the limit of {max_pixels / 1e6:.0f} "
            "megapixels (a guard against decompression bombs; raise it if the photo is genuine)"
        )
    return img


def load_pil(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS, draft_size: int | None = None) -> Image.Image:
    """Decode a file with Pillow: EXIF orientation applied, mode left as it is in the file.

    ``draft_size``: for JPEGs, let the decoder pick the smallest DCT scale whose shorter side is still at least
    this many pixels (a 4x faster decode of a 12 MP photo that is bound for 256 px).
    """
    img = open_checked(path, max_pixels)
    try:
        if draft_size is not None and img.format == "JPEG":
            w, h = img.size
            scale = draft_size / min(w, h)
            if scale < 0.5:
                img.draft(img.mode, (max(1, int(w * scale + 0.999)), max(1, int(h * scale + 0.999))))
        img.load()
        return ImageOps.exif_transpose(img)
    except ImageDecodeError:
        raise
    except Exception as err:  # noqa: BLE001
        raise ImageDecodeError(f"{path}: could not decode ({type(err).__name__}: {err})") from err


def load_rgb(
    path: str | Path,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    draft_size: int | None = None,
) -> Tensor:
    """Decode ``path`` to a uint8 RGB tensor ``(3, H, W)``.

    Gray, palette, RGBA/LA (alpha dropped), CMYK, 16-bit and float images all come out as 8-bit RGB, with the
    EXIF orientation applied.

    Raises:
        ImageDecodeError: the file is empty, truncated, not an image, or over ``max_pixels``.
    """
    path = Path(path)
    img = open_checked(path, max_pixels)
    fmt, mode, size = img.format, img.mode, img.size
    img.close()
    shrink = draft_size is not None and fmt == "JPEG" and draft_size / min(size) < 0.5
    if fmt in _TORCHVISION_FORMATS and mode in ("L", "RGB", "RGBA", "LA", "P", "I;16", "I;16B") and not shrink:
        try:
            data = torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8)
            out = decode_image(data, mode=ImageReadMode.RGB, apply_exif_orientation=True)
            if out.dtype != torch.uint8:
                out = TF.to_dtype(out, torch.uint8, scale=True)
            return out
        except RuntimeError:
            pass  # an unusual variant torchvision does not handle: Pillow below gives the verdict
    rgb = _pil_to_rgb(load_pil(path, max_pixels, draft_size if shrink else None))
    return torch.from_numpy(np.array(rgb, dtype=np.uint8, copy=True)).permute(2, 0, 1).contiguous()


def resize_square(img: Tensor, size: int) -> Tensor:
    """Center-crop ``img`` ``(C, H, W)`` to a square and resize it to ``(C, size, size)`` (antialiased).

    Photos smaller than ``size`` are upscaled.
    """
    h, w = img.shape[-2:]
    side = min(h, w)
    if h != w:
        img = TF.center_crop(img, [side, side])
    if side != size:
        img = TF.resize(img, [size, size], antialias=True)
    return img

