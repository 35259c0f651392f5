"""Reading one photo file into a uint8 RGB tensor, whatever its format and mode.

torchvision.io decodes JPEG, PNG, WebP and GIF (8- and 16-bit, EXIF orientation applied). Anything it cannot
decode (TIFF, BMP, CMYK and other exotic modes) goes through Pillow, and HEIC/HEIF (iPhone photos) through Pillow
with pillow-heif's plugin when that is installed (``pip install "colorgan[app]"``). Large JPEGs that will be shrunk
a lot anyway are decoded at a reduced DCT scale by Pillow's ``draft`` mode, which skips most of the decoding work.

Colorization needs a little more than training: the photo at full resolution as gray or RGB, and its alpha
channel if it has one (:func:`photo_channels`, :func:`array_channels`, :func:`load_photo`).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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


# Pillow's modes of 16-bit gray files; "I" (32-bit) is the container Pillow also uses for 16-bit samples
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def _to_uint8(arr: np.ndarray, bits: int | None = None) -> np.ndarray:
    """Any numeric array -> uint8, scaled by its bit depth ``bits`` (whatever its largest value).

    16-bit samples keep their high byte (``v >> 8``), as torchvision decodes a 16-bit PNG, so a photo reads the
    same for training and for colorize. Without ``bits`` the dtype says it: uint16 and int16 are 16-bit; other
    integer dtypes (an array typed by hand, which has no bit depth) are taken as 8-bit unless a value is over 255.
    Float is taken as [0, 1]; bool as 0/255.
    """
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * np.uint8(255)
    if arr.dtype.kind == "f":
        return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"cannot read pixels of dtype {arr.dtype} as a photo")
    if bits is None:
        bits = 16 if arr.dtype.itemsize == 2 or arr.max(initial=0) > 255 else 8
    arr = np.clip(arr, 0, 2**bits - 1).astype(np.uint32)
    return (arr >> (bits - 8)).astype(np.uint8)


def _gray_to_uint8(img: Image.Image) -> np.ndarray:
    """A gray Pillow image of any depth (1, L, 16-bit, 32-bit integer, float) -> uint8 ``(H, W)``."""
    return _to_uint8(np.asarray(img), bits=16 if img.mode in _SIXTEEN_BIT_MODES else None)


def _pil_to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB (alpha dropped; 16-bit and float gray scaled to 8 bits)."""
    if img.mode in (*_SIXTEEN_BIT_MODES, "F"):
        img = Image.fromarray(_gray_to_uint8(img), mode="L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    return img.convert("RGB") if img.mode != "RGB" else img


# ISO-BMFF brands of HEIC/HEIF stills (iPhones write "heic"): Pillow reads them only through pillow-heif's plugin
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
HEIF_HINT = 'pip install "colorgan[app]" (or pip install pillow-heif)'


def _is_heif(path: Path) -> bool:
    with path.open("rb") as f:
        header = f.read(12)
    return header[4:8] == b"ftyp" and header[8:12] in _HEIF_BRANDS


@functools.cache
def _heif_plugin() -> bool:
    """Register pillow-heif's opener with Pillow, once; whether it is installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


_PILLOW_GUARD = threading.Lock()


@contextmanager
def _without_pillow_pixel_guard() -> Iterator[None]:
    """Lift Pillow's own decompression-bomb guard (``Image.MAX_IMAGE_PIXELS``, an error past 178,956,970 pixels)
    for a moment: colorgan applies its ``max_pixels`` to the header itself, so ``0`` ("no limit") means no limit and
    a refusal says the photo's size and the setting in colorgan's words. The lock keeps two threads from restoring
    each other's value."""
    with _PILLOW_GUARD:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.4g}"


def open_checked(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open ``path`` lazily with Pillow (header only) and apply the size guard (``None``: no limit at all)."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise ImageDecodeError(f"{path}: empty file (0 bytes)")
    if _is_heif(path) and not _heif_plugin():
        raise ImageDecodeError(
            f"{path}: a HEIC/HEIF photo (as iPhones take them); reading it needs pillow-heif: {HEIF_HINT}"
        )
    try:
        with _without_pillow_pixel_guard():
            img = Image.open(path)
    except Exception as err:  # noqa: BLE001 - Pillow raises many types for junk input
        raise ImageDecodeError(f"{path}: not a readable image ({type(err).__name__}: {err})") from err
    w, h = img.size
    if max_pixels is not None and w * h > max_pixels:
        img.close()
        raise ImageDecodeError(
            f"{path}: {w}x{h} = {_megapixels(w * h)} megapixels is over the limit of {_megapixels(max_pixels)} "
            f"megapixels (--max-pixels {max_pixels}, a guard against decompression bombs: raise it, or 0 for no "
            "limit, if the photo is genuine)"
        )
    return img


def load_pil(
    path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS, draft_size: int | None = None
) -> Image.Image:
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
        if img.size[0] * img.size[1] > (Image.MAX_IMAGE_PIXELS or 0) > 0:
            with _without_pillow_pixel_guard():  # some formats check again while decoding (GIF frames, ICNS)
                img.load()
        else:
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
            if out.dtype != torch.uint8:  # 16-bit: the high byte (v >> 8), the rule of _to_uint8 too
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



_GRAY_MODES = ("1", "L", *_SIXTEEN_BIT_MODES, "F")


def _channels_first(arr: np.ndarray) -> Tensor:
    """uint8 ``(H, W)`` or ``(H, W, C)`` -> a contiguous ``(C, H, W)`` tensor that owns its memory."""
    arr = np.ascontiguousarray(arr)
    if not arr.flags.writeable:
        arr = arr.copy()
    t = torch.from_numpy(arr)
    return t.unsqueeze(0) if t.dim() == 2 else t.permute(2, 0, 1).contiguous()


def has_alpha(img: Image.Image) -> bool:
    """Whether colorization keeps an alpha channel for ``img`` (and so writes a PNG). Needs only the header."""
    return "A" in img.getbands() or img.mode in ("RGBa", "La") or (img.mode == "P" and "transparency" in img.info)


def file_has_alpha(path: str | Path) -> bool:
    """:func:`has_alpha` of a file, from its header alone; ``False`` for a file that cannot be opened."""
    try:
        with Image.open(path) as img:
            return has_alpha(img)
    except Exception:  # noqa: BLE001 - such a file fails later, when it is decoded, with a message that names it
        return False


def photo_channels(img: Image.Image) -> tuple[Tensor, Tensor | None]:
    """Split a Pillow image of any mode into the pixels colorization needs and its alpha channel.

    Returns:
        ``(pixels, alpha)``. ``pixels`` is uint8 ``(1, H, W)`` for gray modes (``1``, ``L``, ``LA``, 16-bit and
        32-bit integer gray scaled by their bit depth as :func:`load_rgb` does, float gray in [0, 1]) and uint8
        ``(3, H, W)`` RGB for every colour mode (``RGB``, palette, ``CMYK``, ``YCbCr``, ...). ``alpha`` is uint8
        ``(1, H, W)`` when the image has transparency (``RGBA``, ``LA``, ``PA``, a palette with a transparent
        entry), else ``None``. No EXIF handling here: see :func:`load_pil`.
    """
    transparent = has_alpha(img)
    if img.mode in ("RGBa", "La"):  # premultiplied alpha
        img = img.convert(img.mode[:-1] + "A")
    if img.mode == "PA" or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
    alpha = None
    if transparent:
        alpha = _channels_first(np.asarray(img.getchannel("A")))
        img = img.convert("L" if img.mode == "LA" else "RGB")
    if img.mode in _GRAY_MODES:
        pixels = _gray_to_uint8(img)
    else:
        pixels = np.asarray(img if img.mode == "RGB" else img.convert("RGB"))
    return _channels_first(pixels), alpha


def array_channels(arr: np.ndarray) -> tuple[Tensor, Tensor | None]:
    """:func:`photo_channels` for a NumPy array in the layout Pillow, matplotlib and scikit-image use.

    Args:
        arr: ``(H, W)`` or ``(H, W, 1)`` gray, ``(H, W, 2)`` gray + alpha, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA;
            uint8, bool, uint16 (16-bit) or float in [0, 1].

    Returns:
        ``(pixels, alpha)`` as in :func:`photo_channels`.
    """
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[-1] in (1, 2, 3, 4):
        channels = arr.shape[-1]
    elif arr.ndim == 2:
        channels, arr = 1, arr[..., None]
    else:
        raise ValueError(
            f"an image array must be (H, W) or (H, W, C) with C in 1..4 (channels last), got shape {arr.shape}"
        )
    if 0 in arr.shape:
        raise ValueError(f"an image array must not be empty, got shape {arr.shape}")
    arr = _to_uint8(arr)
    has_alpha = channels in (2, 4)
    alpha = _channels_first(arr[..., -1]) if has_alpha else None
    pixels = arr[..., : channels - 1] if has_alpha else arr
    return _channels_first(pixels[..., 0] if pixels.shape[-1] == 1 else pixels), alpha


def load_photo(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> tuple[Tensor, Tensor | None]:
    """Decode ``path`` at full resolution for colorization, EXIF orientation applied.

    Returns ``(pixels, alpha)`` as in :func:`photo_channels`.

    Raises:
        ImageDecodeError: the file is empty, truncated, not an image, or over ``max_pixels``.
    """
    img = load_pil(path, max_pixels)
    try:
        return photo_channels(img)
    except Exception as err:  # noqa: BLE001 - an exotic mode Pillow cannot convert
        raise ImageDecodeError(
            f"{path}: could not convert its {img.mode} pixels ({type(err).__name__}: {err})"
        ) from err
