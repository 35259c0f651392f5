"""The ``Colorizer``: a trained generator that turns photos of any size and mode into colour photos.

How one photo is colorized (the generator's steps, which films share, live in :mod:`~colorgan.inference.engine`
with :mod:`~colorgan.inference.letterbox` and :mod:`~colorgan.inference.fullres`; this module reads photos and
batches them):

1. It is decoded once at full resolution (EXIF orientation applied) into gray or RGB pixels plus its alpha channel.
2. The photo is resized to fit a ``size x size`` square (the size the generator was trained at, by default),
   keeping its aspect ratio; the rest of the square repeats the photo's edge pixels (letterboxing). The
   generator predicts ``ab`` from the square's ``L``, and the photo's part of it is kept.
3. That ``ab`` is upsampled (bilinear) to the photo's own size and joined with the photo's own full-resolution ``L``,
   then converted back to sRGB; a colour too saturated to show at its lightness loses chroma, not lightness. The
   output has the input's width, height and lightness, and its alpha channel.

Step 3 runs in bands of rows, so a 12-megapixel photo never holds more than a few megabytes of float32 maths at
once.

Why letterbox rather than squash the whole photo into the square: the generator learned the colours of things
with their true proportions, and squashing a 3:2 photo stretches everything by half. With a 40-epoch demo model
and six test photos of an earlier set of demo photos, cut to five aspect ratios from 2:5 to 8:3, letterboxing gave
a lower error on ab in 27 of 30 cases (mean L1 0.077 vs 0.086; a second training run: 26 of 30, 0.062 vs 0.070)
and more colourful results. Repeating the edge pixels, rather than padding with a flat gray, keeps the U-Net (whose
bottleneck sees the whole square) from treating the band as part of the picture: flat padding did worst.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor

from colorgan.data.decode import array_channels, load_photo, photo_channels
from colorgan.inference.engine import ColorEngine, resolve_device, round_size
from colorgan.inference.hints import HintError, HintPoint, HintsInput, check_inside, hint_map, read_hints
from colorgan.inference.letterbox import crop

if TYPE_CHECKING:
    from colorgan.inference.temporal import Smoothing
    from colorgan.inference.video import ColorizedVideo

__all__ = ["ColorizedPhoto", "Colorizer", "ImageInput", "resolve_device", "round_size"]

log = logging.getLogger(__name__)

ImageInput = Image.Image | np.ndarray | Tensor | str | os.PathLike


@dataclass
class ColorizedPhoto:
    """One result of :meth:`Colorizer.colorize_batch`.

    Attributes:
        image: the colour photo (``RGB``, or ``RGBA`` when the input had transparency); ``None`` if it failed.
        input: with ``keep_input``, the input as it was read: ``L`` (gray) or ``RGB`` at full resolution, no alpha.
        notes: things the user should know, such as a retry after running out of GPU memory.
        error: why it failed (the message names the file where there is one); ``None`` on success.
    """

    image: Image.Image | None
    input: Image.Image | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class _Photo:
    pixels: Tensor  # uint8 (1 | 3, H, W) on the CPU
    alpha: Tensor | None  # uint8 (1, H, W) or None
    name: str


class Colorizer(ColorEngine):
    """A trained generator ready to colorize photos: a :class:`~colorgan.inference.engine.ColorEngine` that reads
    photos of any size and mode.

    Build it with :meth:`from_checkpoint` (a training ``.ckpt`` or a ``colorgan-export --format weights`` file) and
    call it on a photo::

        colorizer = Colorizer.from_checkpoint("logs/demo/runs/.../checkpoints/last.ckpt")
        colour = colorizer("grandma.jpg")           # or a PIL image, or a NumPy array
        colour.save("grandma_colour.png")

    Its arguments are :class:`~colorgan.inference.engine.ColorEngine`'s. A model trained with colour hints
    (``in_channels=4``) also takes colour points: ``hints=`` of :meth:`__call__` and :meth:`colorize_batch`.
    """

    def read_hints(self, hints: HintsInput, name: str = "hints") -> list[HintPoint]:
        """Colour points from a hints file or a list of points (see :mod:`colorgan.inference.hints`).

        Raises:
            HintError: a bad file or point, or a model trained without hints; the message names the file and point.
        """
        where = f"hints file '{hints}'" if isinstance(hints, (str, os.PathLike)) else name
        if not self.takes_hints:
            raise HintError(
                f"{where}: the model {self.source or ''} was trained without colour hints, so it cannot take them; "
                "use a model trained with colour hints (python -m colorgan.train +recipe=hints, or +recipe=hints "
                "model.init_from=<this model's training checkpoint>), or leave the hints out"
            )
        return read_hints(hints, name)

    # ------------------------------------------------------------------ public
    def __call__(self, image: ImageInput, hints: HintsInput | None = None) -> Image.Image:
        """Colorize one photo.

        Args:
            image: a path; a PIL image of any mode (EXIF orientation applied); a NumPy array ``(H, W)``,
                ``(H, W, 1..4)`` (uint8, uint16, bool or float in [0, 1]); or a tensor ``(C, H, W)`` laid out alike.
            hints: for a hinted model, colour points: a hints file (``{"points": [{"x", "y", "color", "size"}]}``)
                or a list of :class:`~colorgan.inference.hints.HintPoint` or such dicts, in the photo's own pixels.

        Returns:
            The colour photo at the input's own size: ``RGB``, or ``RGBA`` when the input has transparency.

        Raises:
            ImageDecodeError: a file that is not a readable photo, or over ``max_pixels`` (the message names it).
            ValueError, TypeError: an array or object that is not an image.
            HintError: bad hints, a point outside the photo, or hints for a model without them (names the point).
            RuntimeError: out of memory even after the fallbacks.
        """
        points = None if hints is None else self.read_hints(hints)
        photo = self._read(image)
        if points is not None:
            where = f"hints file '{hints}'" if isinstance(hints, (str, os.PathLike)) else "hints"
            check_inside(points, photo.pixels.shape[-2], photo.pixels.shape[-1], f"{where} for {photo.name}")
        result = self._colorize([photo], hints=[points])[0]
        for note in result.notes:
            log.warning(note)
        if result.image is None:
            raise RuntimeError(result.error)
        return result.image

    def colorize_batch(
        self,
        images: Sequence[ImageInput],
        keep_input: bool = False,
        hints: Sequence[HintsInput | None] | None = None,
    ) -> list[ColorizedPhoto]:
        """Colorize several photos, running the generator on all of them at once.

        A photo that cannot be read, or that fails even after the out-of-memory fallbacks, gets a result with
        ``error`` set; the others are still done. ``keep_input`` fills each result's ``input`` too. ``hints``: one
        entry per photo (None: no points), as for :meth:`__call__`; a point outside its photo fails that photo.

        Raises:
            HintError: a hints file that cannot be read, a bad point, or hints for a model without them.
        """
        if hints is not None and len(hints) != len(images):
            raise ValueError(f"hints: {len(hints)} entries for {len(images)} photos; give one per photo (or None)")
        points = [None if h is None else self.read_hints(h) for h in hints] if hints is not None else None
        photos: list[_Photo | str] = []
        for i, image in enumerate(images):
            try:
                photo = self._read(image)
                if points is not None and points[i] is not None:
                    where = f"hints file '{hints[i]}'" if isinstance(hints[i], (str, os.PathLike)) else "hints"
                    check_inside(points[i], photo.pixels.shape[-2], photo.pixels.shape[-1], f"{where} for {photo.name}")
                photos.append(photo)
            except (OSError, ValueError, TypeError) as err:
                photos.append(str(err))
        return self._colorize(photos, keep_input, points)

    @torch.inference_mode()
    def _colorize(
        self,
        photos: Sequence[_Photo | str],
        keep_input: bool = False,
        hints: Sequence[list[HintPoint] | None] | None = None,
    ) -> list[ColorizedPhoto]:
        """Photos already read (or the reason one could not be), and their points (checked to lie inside them)
        -> results, in the same order."""
        results = [ColorizedPhoto(None, error=p if isinstance(p, str) else None) for p in photos]
        readable = [(i, p) for i, p in enumerate(photos) if isinstance(p, _Photo)]
        if not readable:
            return results
        squares, boxes = zip(*(self.model_input(p.pixels) for _, p in readable))
        maps = None
        if hints is not None and any(hints[i] for i, _ in readable):
            # the points go through the same letterbox as the photo: they land where their pixels did
            maps = torch.stack([
                hint_map(hints[i] or [], p.pixels.shape[-2], p.pixels.shape[-1], box, square, p.name)
                for (i, p), box, square in zip(readable, boxes, squares)
            ])
        predictions = self.predict_squares(torch.stack(squares), [p.name for _, p in readable], maps)
        for (i, photo), box, (ab, notes) in zip(readable, boxes, predictions):
            results[i].notes.extend(notes)
            if ab is None:
                results[i].error = notes.pop() if notes else f"{photo.name}: the generator failed"
                continue
            ab = crop(ab, box)
            try:
                results[i].image = self._finish(photo, ab, results[i].notes)
                if keep_input:
                    results[i].input = _input_image(photo.pixels)
            except (RuntimeError, MemoryError) as err:
                results[i].error = f"{photo.name}: {type(err).__name__}: {err}"
        return results

    def colorize_video(
        self,
        src: str | os.PathLike,
        dst: str | os.PathLike,
        *,
        smoothing: Smoothing | None = None,
        crf: int = 18,
        preset: str = "medium",
        batch_size: int = 8,
        progress: bool | None = None,
        deinterlace: bool = False,
        codec: str | None = None,
        keep_partial: bool = False,
    ) -> ColorizedVideo:
        """Colorize the video file ``src`` into ``dst``: same size, frame rate, frame count and sound.

        Needs PyAV (``pip install "colorgan[video]"``). Every frame keeps its own full-resolution lightness; the
        colour is smoothed over time (``smoothing``, default :class:`~colorgan.inference.temporal.Smoothing`;
        ``Smoothing(strength=0)`` for frame by frame). ``dst`` is written through a hidden temporary file next to
        it and replaced if it exists. See :class:`~colorgan.inference.video.VideoColorizer` for the settings
        (``keep_partial``: colorize and keep what can be decoded of a damaged or cut-short film). This is the one
        place photos reach films, imported here when called; the film modules never import this one.

        Raises:
            VideoError: not a video, no video stream, a damaged or truncated file without ``keep_partial`` (the
                message names it).
            ImportError: PyAV is not installed.
        """
        from colorgan.inference.video import VideoColorizer

        video = VideoColorizer(
            self, smoothing=smoothing, crf=crf, preset=preset, batch_size=batch_size, deinterlace=deinterlace,
            codec=codec, keep_partial=keep_partial,
        )
        return video.colorize(src, dst, progress=progress)

    # ------------------------------------------------------------ the steps
    def _read(self, image: ImageInput) -> _Photo:
        if isinstance(image, (str, os.PathLike)):
            pixels, alpha = load_photo(image, self.max_pixels)
            return _Photo(pixels, alpha, str(image))
        if isinstance(image, Image.Image):
            pixels, alpha = photo_channels(ImageOps.exif_transpose(image))
            return _Photo(pixels, alpha, "image")
        if isinstance(image, Tensor):
            t = image.detach().cpu()
            if t.dim() == 3 and t.shape[0] in (1, 2, 3, 4):
                t = t.permute(1, 2, 0)
            image = t.numpy()
        if isinstance(image, np.ndarray):
            pixels, alpha = array_channels(image)
            return _Photo(pixels, alpha, "array")
        raise TypeError(
            f"cannot colorize a {type(image).__name__}: pass a path, a PIL image, a NumPy array or a tensor"
        )

    def _finish(self, photo: _Photo, ab: Tensor, notes: list[str]) -> Image.Image:
        out = self.join(photo.pixels, ab, photo.name, notes, photo.alpha)
        return Image.fromarray(out.numpy(), mode="RGB" if photo.alpha is None else "RGBA")



def _input_image(pixels: Tensor) -> Image.Image:
    """The decoded input as a PIL image (``L`` or ``RGB``), for side-by-side comparisons."""
    arr = pixels[0].numpy() if pixels.shape[0] == 1 else pixels.permute(1, 2, 0).numpy()
    return Image.fromarray(arr, mode="L" if pixels.shape[0] == 1 else "RGB")
