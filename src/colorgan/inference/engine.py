"""The generator at work, the steps photos and films share: a photo or frame letterboxed into the generator's
square (:meth:`ColorEngine.model_input`), the generator run with its out-of-memory fallbacks
(:meth:`ColorEngine.predict_squares`), and the predicted colour joined with the full-resolution lightness
(:meth:`ColorEngine.join`).

:class:`~colorgan.inference.colorizer.Colorizer` (photos) is a :class:`ColorEngine`;
:class:`~colorgan.inference.video.VideoColorizer` (films) runs one. Both import this module and neither imports the
other's.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Sequence
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.transforms.v2 import functional as TF

from colorgan.checkpoints.reading import load_generator
from colorgan.data.decode import DEFAULT_MAX_PIXELS
from colorgan.inference.fullres import join_full_resolution_array, luminance
from colorgan.inference.letterbox import Box, letterbox, letterbox_box
from colorgan.nn.classification import ClassificationHead, set_temperature
from colorgan.nn.hints import generator_input

log = logging.getLogger(__name__)

_Engine = TypeVar("_Engine", bound="ColorEngine")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; anything else is checked and returned."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device '{device}' was asked for, but PyTorch sees no CUDA GPU here; use --device cpu")
    return dev


def round_size(size: int, divisor: int) -> int:
    """The multiple of ``divisor`` nearest to ``size`` (at least ``divisor``)."""
    return max(divisor, int(round(size / divisor)) * divisor)


class ColorEngine:
    """A trained generator on its device, with the steps every colorization takes (see the module docstring).

    Args:
        generator: a colorgan generator (:func:`~colorgan.nn.build_generator`), or any module mapping
            ``L (B, 1, S, S)`` in [-1, 1] to ``ab (B, 2, S, S)`` in [-1, 1]; it is put in eval mode and moved to
            ``device``.
        image_size: the size it was trained at.
        size: the size it runs at (default ``image_size``); rounded to a multiple of the generator's ``divisor``
            (``2**num_downs`` for the U-Net, 32 for the ResNet U-Net).
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``.
        max_pixels: decompression-bomb guard for files read from disk (``None``: no limit).
        source: where the weights came from, for messages.
        in_channels: the generator's input channels: 1 (L), or 4 for a model trained with ``model.hints.enabled``.
        temperature: for a model trained with ``model.head=classification``, the annealed mean's temperature (0:
            the most likely colour, vivid; 1: the mean, safe; default: the one it was trained with,
            :attr:`temperature`). A regression model refuses it (``ValueError``).
    """

    def __init__(
        self,
        generator: nn.Module,
        image_size: int,
        *,
        size: int | None = None,
        device: str | torch.device = "auto",
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        source: str = "",
        in_channels: int = 1,
        temperature: float | None = None,
    ) -> None:
        self.in_channels = int(in_channels)
        self.device = resolve_device(device)
        self.generator = generator.eval().to(self.device)
        self.image_size = int(image_size)
        self.divisor = int(getattr(generator, "divisor", 1))
        wanted = self.image_size if size is None else int(size)
        if wanted < 1:
            raise ValueError(f"size must be positive, got {wanted}")
        self.size = round_size(wanted, self.divisor)
        if self.size != wanted:
            log.warning(
                "size %d is not a multiple of %d (the size multiple of this generator); using %d",
                wanted,
                self.divisor,
                self.size,
            )
        self.max_pixels = max_pixels
        self.source = source
        self._cpu_copy: nn.Module | None = None
        if temperature is not None:
            self.temperature = temperature

    @property
    def temperature(self) -> float | None:
        """The annealed mean's temperature of a classification model (settable); None for a regression model."""
        return float(self.generator.temperature) if isinstance(self.generator, ClassificationHead) else None

    @temperature.setter
    def temperature(self, value: float) -> None:
        set_temperature(self.generator, value)
        if self._cpu_copy is not None:
            set_temperature(self._cpu_copy, value)

    @classmethod
    def from_checkpoint(
        cls: type[_Engine],
        path: str | os.PathLike,
        *,
        size: int | None = None,
        device: str | torch.device = "auto",
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        temperature: float | None = None,
    ) -> _Engine:
        """Load the generator of a training checkpoint or of a ``weights`` export, with ``weights_only=True``.

        Raises:
            CheckpointError: the file is missing, unreadable, unsafe, or not a colorgan one (the message names it).
        """
        generator, weights = load_generator(os.fspath(path))
        return cls(
            generator,
            weights.image_size,
            size=size,
            device=device,
            max_pixels=max_pixels,
            source=str(path),
            in_channels=int(weights.generator.get("in_channels", 1)),
            temperature=temperature,
        )

    @property
    def takes_hints(self) -> bool:
        """True for a model trained with colour hints (``model.hints.enabled``)."""
        return self.in_channels > 1

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, device={self.device}, source={self.source!r})"

    def predict_ab(self, L: Tensor, hints: Tensor | None = None) -> Tensor:
        """The generator's ``ab`` for a batch of square lightness images, at their own size.

        Args:
            L: ``(B, 1, S, S)`` normalised L in [-1, 1], any ``S`` (resized to ``size`` for the generator).
            hints: for a hinted model, the hint map ``(B, 3, S, S)`` (normalised ab, mask); None: no hints.

        Returns:
            ``(B, 2, S, S)`` float32 normalised ab in [-1, 1], on ``L``'s device.
        """
        with torch.inference_mode():
            return self._forward(L, self.device, self.size, hints).to(L.device)

    def model_input(self, pixels: Tensor) -> tuple[Tensor, Box]:
        """A photo or frame letterboxed into ``(1, size, size)`` normalised L (edge pixels repeated), and its place.

        Args:
            pixels: uint8 gray ``(1, H, W)`` or RGB ``(3, H, W)``, at full resolution; or a batch ``(B, 1 | 3, H, W)``
                of frames of one size (then the result is ``(B, 1, size, size)``).

        Like the training photos, it is resized as uint8 (antialiased) before its L is computed.
        """
        box = letterbox_box(pixels.shape[-2], pixels.shape[-1], self.size)
        small = TF.resize(pixels, [box.height, box.width], antialias=True)
        return letterbox(luminance(small), box, self.size), box

    def _cpu_generator(self) -> nn.Module:
        if self._cpu_copy is None:
            self._cpu_copy = copy.deepcopy(self.generator).cpu().eval()
        return self._cpu_copy

    def _forward(self, L: Tensor, device: torch.device, size: int, hints: Tensor | None = None) -> Tensor:
        """Run the generator on ``device`` at ``size``: ``(B, 1, S, S)`` (and hints ``(B, 3, S, S)``) ->
        ``(B, 2, S, S)`` float32 on ``device``."""
        net = self.generator if device == self.device else self._cpu_generator()
        x = L.to(device, torch.float32)
        side = x.shape[-2:]
        if hints is not None:
            hints = hints.to(device, torch.float32)
        if side != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            if hints is not None:  # a point stays a point of its own colour: no blending with the empty pixels
                hints = F.interpolate(hints, size=(size, size), mode="nearest-exact")
        ab = net(generator_input(x, hints, self.in_channels)).float()
        if ab.shape[-2:] != side:
            ab = F.interpolate(ab, size=side, mode="bilinear", align_corners=False)
        return ab

    def _release_cuda(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def predict_squares(
        self, L_small: Tensor, names: Sequence[str], hints: Tensor | None = None
    ) -> list[tuple[Tensor | None, list[str]]]:
        """The generator's ab for letterboxed squares, with the out-of-memory fallbacks.

        Args:
            L_small: ``(B, 1, size, size)`` normalised L in [-1, 1] (from :meth:`model_input`).
            names: one name per square, for the notes (a file name, or a video's name and frame number).
            hints: the squares' hint maps ``(B, 3, size, size)`` for a hinted model; None: no hints.

        Returns:
            For each square, ``(ab, notes)``: ab ``(2, size, size)`` float32 in [-1, 1] on the CPU, or ``None``
            when it failed even alone, at smaller sizes and on the CPU (its last note then says why). Out of GPU
            memory, the squares are retried one by one, then smaller, then on the CPU; the notes say so.
        """
        try:
            ab = self._forward(L_small, self.device, self.size, hints).cpu()
            return [(ab[i], []) for i in range(len(names))]
        except torch.cuda.OutOfMemoryError:
            self._release_cuda()
        failed = f"{self.size} px" + (f" in a batch of {len(names)}" if len(names) > 1 else "")
        log.debug("Out of GPU memory at %s; retrying one photo at a time", failed)
        return [
            self._predict_one(L_small[i : i + 1], name, failed, None if hints is None else hints[i : i + 1])
            for i, name in enumerate(names)
        ]

    def _predict_one(
        self, L: Tensor, name: str, failed: str, hints: Tensor | None = None
    ) -> tuple[Tensor | None, list[str]]:
        """One photo, after running out of memory (``failed`` says how): alone, at smaller sizes, on the CPU."""
        attempts = [(self.device, self.size)]
        s = self.size // 2
        while s >= self.divisor:
            attempts.append((self.device, round_size(s, self.divisor)))
            s //= 2
        if self.device.type != "cpu":
            attempts.append((torch.device("cpu"), self.size))
        tried = [failed]
        for device, size in attempts:
            try:
                ab = self._forward(L, device, size, hints)[0].cpu()
            except torch.cuda.OutOfMemoryError:
                self._release_cuda()
                tried.append(f"{size} px alone")
                continue
            where = f"at {size} px" + (" on the CPU" if device.type == "cpu" and self.device.type != "cpu" else "")
            if size == self.size and device == self.device:
                where += " on its own"
            return ab, [f"{name}: out of GPU memory ({'; '.join(tried)}); colorized {where} instead"]
        return None, [f"{name}: out of memory at every size tried ({'; '.join(tried)})"]

    def join(self, pixels: Tensor, ab: Tensor, name: str, notes: list[str], alpha: Tensor | None = None) -> Tensor:
        """Join ``ab`` ``(2, h, w)`` (the photo's part of the square) with the full-resolution L of ``pixels``.

        Args:
            pixels: uint8 gray ``(1, H, W)`` or RGB ``(3, H, W)`` on the CPU.
            ab: normalised ab in [-1, 1], upsampled bilinearly to ``H x W``.
            name: for the note, if the GPU runs out of memory and the join is redone on the CPU.
            notes: where that note goes.
            alpha: uint8 ``(1, H, W)`` kept as a fourth channel, or ``None``.

        Returns:
            uint8 ``(H, W, 3 | 4)`` sRGB (plus alpha) on the CPU, with the lightness of ``pixels``.
        """
        try:
            return join_full_resolution_array(pixels, ab, self.device, alpha)
        except torch.cuda.OutOfMemoryError:
            self._release_cuda()
            notes.append(f"{name}: out of GPU memory joining the colours at full size; did that on the CPU")
            return join_full_resolution_array(pixels, ab, torch.device("cpu"), alpha)
