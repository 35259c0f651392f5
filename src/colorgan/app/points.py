"""The page's colour points: open one photo, click where a colour is known, colorize again, save or load the points.

Nothing here imports Gradio. The page keeps one :class:`PointsState` per browser tab (as plain values, in a
``gr.State``) and these functions return a new one for every click, so they are tested without a browser.

A photo opened for points gets a job folder of its own, like a press of *Colorize* (:mod:`colorgan.app.handlers`),
and each colorization a numbered folder in it, so that the page never shows a stale image under an old address::

    job-<n>/1/grandma.jpg           the photo colorized without points, when it was opened
    job-<n>/2/grandma.jpg           ... with the points of the second colorization, at the photo's own size
    job-<n>/2/grandma_points.json   those points, as colorgan-colorize --hints reads them
    job-<n>/before/grandma.jpg      the photo as the model read it (as on the page's slider)
    job-<n>/grandma_points.json     the points as they are now (the page's *Save points*)

Points are kept in the photo's own pixels (the coordinates of a hints file); the page shows the photo at most
:data:`PREVIEW_SIDE` pixels wide or high and turns each click on it into the photo's pixels. A saved points file
also holds the size of the photo it was made on (``"photo": {"width": ..., "height": ...}``), which
:func:`load_points` checks; colorgan-colorize --hints reads the same file and ignores that key.

At most :data:`MAX_POINTS` points: each one costs the model's input some work, and the page has one job slot.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
from PIL import Image, ImageDraw

from colorgan.app.handlers import Models, result_suffix, save_before, start_job, upload_name
from colorgan.inference.hints import HintError, HintPoint, check_inside, parse_points
from colorgan.inference.outputs import save_image, source_exif

log = logging.getLogger(__name__)

PREVIEW_SIDE = 1024  # the longer side of the picture the points are put on, in screen pixels
MARKER_MIN = 9  # the smallest marker drawn on it, so that a one-pixel point can still be seen and checked
POINTS_SUFFIX = "_points.json"
MAX_POINTS = 1000  # more would hold the page's only job slot for minutes, and no one places that many by hand
CHECKER = 8  # side of a checkerboard square behind a transparent photo, in screen pixels
CHECKER_SHADES = (204, 255)  # its two grays, as image editors show transparency

# What the picture shows (the page's *View* choice): the latest colorization with its points marked, the same
# without the markers, or the photo as first colorized without points, to see what the points did.
VIEW_POINTS = "With the points"
VIEW_HIDDEN = "Points hidden"
VIEW_AUTOMATIC = "Without points"
VIEWS = (VIEW_POINTS, VIEW_HIDDEN, VIEW_AUTOMATIC)

NO_POINTS_MODEL = (
    "The model {model} cannot take colour points: it chooses every colour by itself. To place colour points, "
    "choose a model made for colour points."
)


class PointsState(TypedDict):
    """The photo being given colour points, as the page keeps it (plain values only).

    Keys: ``name`` (as dropped), ``upload`` (the uploaded file), ``folder`` (its job folder), ``size`` ([width,
    height] in the photo's pixels), ``points`` (``{"x", "y", "color", "size"}`` in the photo's pixels), ``output``
    (the latest colorization), ``before`` (the photo as the model read it), ``round`` (colorizations so far),
    ``colorized_points`` (the points that ``output`` was made with), ``automatic`` (the first colorization, made
    without points), ``model`` and ``takes_hints`` (the model of the latest colorization, and whether it takes
    points).
    """

    name: str
    upload: str
    folder: str
    size: list[int]
    points: list[dict[str, Any]]
    output: str
    before: str
    round: int
    colorized_points: list[dict[str, Any]]
    automatic: str
    takes_hints: bool
    model: str


_RGB_FUNCTION = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*[\d.]+\s*)?\)", re.I)


def hex_colour(value: str) -> str:
    """A colour picker's value (``#rrggbb``, ``#rgb``, ``rgb(...)``, ``rgba(...)`` or a CSS name) -> ``#rrggbb``.

    >>> hex_colour("rgba(42, 92, 170, 1)"), hex_colour("#FFF"), hex_colour("teal")
    ('#2a5caa', '#ffffff', '#008080')

    Raises:
        HintError: the value is not a colour.
    """
    text = str(value or "").strip()
    match = _RGB_FUNCTION.fullmatch(text)
    try:
        if match:
            rgb = tuple(min(255, round(float(v))) for v in match.groups())
        else:
            rgb = HintPoint(0, 0, text).rgb()
    except ValueError:
        raise HintError(f"{text or 'an empty value'} is not a colour; pick one with the colour picker") from None
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def preview_scale(size: Sequence[int], max_side: int = PREVIEW_SIDE) -> float:
    """Photo pixels per pixel of the picture the points are put on (1 for a photo that fits ``max_side``)."""
    return max(1.0, max(size) / max_side)


def point_size_range(size: Sequence[int]) -> tuple[int, int]:
    """(default, largest) point size for a photo of ``size``, in its pixels: a point about 1.5 % of its longer side
    (a few of the generator's pixels), and at most a quarter of it."""
    longer = max(size)
    return max(1, round(longer * 0.015)), max(8, longer // 4)


def open_photo(
    files: Sequence[str] | None, index: int | None, models: Models, results_dir: Path, label: str | None,
    temperature: float | None = None,
) -> tuple[PointsState, str | None]:
    """Open dropped photo number ``index`` for points: a job folder, and the photo colorized without points (at
    ``temperature``, a classification model's vividness; ``None``: its own).

    Returns:
        The state, and a note for the user (e.g. the model takes no points) or ``None``.

    Raises:
        ValueError: no photos dropped, or ``index`` is not one of them; the photo cannot be read (its name said).
    """
    if not files:
        raise ValueError("drop a photo first, then open it here to give it colour points")
    if index is None or not 0 <= int(index) < len(files):
        raise ValueError("choose one of the dropped photos")
    upload = Path(files[int(index)])
    name = upload_name(upload)
    folder = start_job(results_dir, [upload])
    state = PointsState(
        name=name, upload=str(upload), folder=str(folder), size=[0, 0], points=[], output="", before="", round=0,
        colorized_points=[], automatic="", takes_hints=models.takes_hints(label), model=models.get(label)[0],
    )
    state = _colorize(state, models, label, points=None, temperature=temperature)
    note = None if state["takes_hints"] else NO_POINTS_MODEL.format(model=state["model"])
    return state, note


def colorize_points(
    state: PointsState | None, models: Models, label: str | None, temperature: float | None = None
) -> PointsState:
    """Colorize the open photo again with its points (none: automatic), into a new numbered folder (at
    ``temperature``, a classification model's vividness; ``None``: its own).

    Raises:
        ValueError: no photo is open; HintError: points for a model trained without hints.
    """
    state = _require(state)
    if state["points"] and not models.takes_hints(label):
        raise HintError(NO_POINTS_MODEL.format(model=models.get(label)[0]) + " Or press Clear to colorize without.")
    _check_count(len(state["points"]), "the photo")
    points = parse_points(state["points"], "the points") if state["points"] else None
    colorized = _colorize(state, models, label, points, temperature)
    return {**colorized, "takes_hints": models.takes_hints(label), "model": models.get(label)[0]}


def _check_count(count: int, where: str) -> None:
    if count > MAX_POINTS:
        raise HintError(
            f"{where} has {count:,} colour points; the page takes at most {MAX_POINTS:,}. A few points where the "
            "colour matters most do the work: remove some and try again."
        )


def _colorize(
    state: PointsState, models: Models, label: str | None, points: list[HintPoint] | None,
    temperature: float | None = None,
) -> PointsState:
    upload, name = Path(state["upload"]), state["name"]
    round_ = state["round"] + 1
    result = models.colorize(models.get(label)[0], upload, points=points if points else None, temperature=temperature)
    if result.image is None:
        raise ValueError((result.error or f"{name}: could not be colorized").replace(str(upload), name))
    folder = Path(state["folder"])
    stem = Path(name).stem or "photo"
    output = folder / str(round_) / f"{stem}{result_suffix(name, result.image)}"
    save_image(result.image, output, exif=source_exif(upload))
    if points:
        _write_points(output.with_name(f"{stem}{POINTS_SUFFIX}"), state["points"], result.image.size)
    before = state["before"] or save_before(result, folder, stem)
    return {
        **state, "output": str(output), "before": str(before), "size": list(result.image.size), "round": round_,
        "colorized_points": [dict(p) for p in state["points"]] if points else [],
        "automatic": state.get("automatic") or str(output),
    }


def _require(state: PointsState | None) -> PointsState:
    if not state or not state.get("output"):
        raise ValueError("open a photo first (choose it under Photo and press Open)")
    return state


def preview_size(size: Sequence[int], max_side: int = PREVIEW_SIDE) -> tuple[int, int]:
    """(width, height) of the picture the points are put on, for a photo of ``size``."""
    scale = preview_scale(size, max_side)
    return max(1, round(size[0] / scale)), max(1, round(size[1] / scale))


def add_point(state: PointsState | None, x: float, y: float, colour: str, size: float) -> PointsState:
    """The state with a point where the picture from :func:`canvas` was clicked.

    ``x``, ``y``: where the click was, in the picture's pixels as continuous coordinates: its pixel ``(i, j)``
    covers ``[i, i + 1) x [j, j + 1)``, so a click anywhere on the picture's last column (``x`` up to its width)
    lands on the photo's last column.

    Raises:
        ValueError: no photo is open.
        HintError: ``colour`` is not a colour, the model takes no points, or the photo has :data:`MAX_POINTS`
            points already.
    """
    state = _require(state)
    if not state.get("takes_hints", True):
        raise HintError(NO_POINTS_MODEL.format(model=state.get("model", "")))
    _check_count(len(state["points"]) + 1, "the photo")
    width, height = state["size"]
    shown_w, shown_h = preview_size(state["size"])
    px = min(width - 1, max(0, math.floor(float(x) * width / shown_w)))
    py = min(height - 1, max(0, math.floor(float(y) * height / shown_h)))
    point = {"x": px, "y": py, "color": hex_colour(colour), "size": max(1, round(float(size)))}
    return {**state, "points": [*state["points"], point]}


def undo_point(state: PointsState | None) -> PointsState:
    """The state without its last point."""
    state = _require(state)
    return {**state, "points": state["points"][:-1]}


def clear_points(state: PointsState | None) -> PointsState:
    """The state without points."""
    state = _require(state)
    return {**state, "points": []}


def _write_points(path: Path, points: list[dict[str, Any]], size: Sequence[int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    data = {"photo": {"width": size[0], "height": size[1]}, "points": points}
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def points_file(state: PointsState | None) -> Path | None:
    """The points as they are now, as a hints file ``<photo>_points.json`` in the job folder (``None`` when no
    photo is open or it has no points)."""
    if not state or not state.get("output") or not state["points"]:
        return None
    stem = Path(state["name"]).stem or "photo"
    return _write_points(Path(state["folder"]) / f"{stem}{POINTS_SUFFIX}", state["points"], state["size"])


def load_points(
    state: PointsState | None, path: str | Path, name: str | None = None
) -> tuple[PointsState, str | None]:
    """The state with the points of a hints file (they replace the points there were), and a note or ``None``.

    A file that names the size of its photo (as :func:`points_file` writes it) and was made on a copy of this photo
    at another size has its points scaled to this one, and the note says so; a file from a photo of another shape
    is refused. A file without a size whose points all lie in the top-left quarter of a photo gets a note that it may
    come from a smaller photo. A UTF-8 byte order mark (Windows Notepad writes one) is accepted.

    Raises:
        ValueError: no photo is open.
        HintError: the file is not a hints file, holds more than :data:`MAX_POINTS` points, comes from a photo of
            another shape, or a point is not on this photo (the message names the file by ``name``, as it was
            dropped, and the point).
    """
    state = _require(state)
    shown = name or upload_name(path)
    where = f"hints file '{shown}'"
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as err:
        raise HintError(f"{where} cannot be read: {getattr(err, 'strerror', None) or err}") from None
    except json.JSONDecodeError as err:
        raise HintError(f"{where} is not JSON: {err}") from None
    items = data.get("points") if isinstance(data, dict) else data
    if isinstance(items, list):  # counted before anything else is done with them: a huge file is refused at once
        _check_count(len(items), where)
    points = parse_points(data, where)
    width, height = state["size"]
    note = None
    made_on = _photo_size(data, where)
    if made_on is not None and made_on != (width, height):
        points, note = _rescaled(points, made_on, (width, height), where, state["name"])
    check_inside(points, height, width, f"{where} for {state['name']}")
    if made_on is None and len(points) >= 2:
        right = max(p.x + p.size / 2 for p in points)
        bottom = max(p.y + p.size / 2 for p in points)
        if right <= width / 2 and bottom <= height / 2:
            note = (
                f"the points of {shown} all lie in the top-left {math.ceil(right)}×{math.ceil(bottom)} pixels of "
                f"this {width}×{height} photo: were they made on a smaller copy of it? Check where they are."
            )
    loaded = [{"x": p.x, "y": p.y, "color": hex_colour(p.color), "size": p.size} for p in points]
    return {**state, "points": loaded}, note


def _photo_size(data: Any, where: str) -> tuple[int, int] | None:
    """The (width, height) a points file says it was made on, ``None`` when it says nothing."""
    photo = data.get("photo") if isinstance(data, dict) else None
    if photo is None:
        return None
    try:
        width, height = int(photo["width"]), int(photo["height"])
        if width < 1 or height < 1:
            raise ValueError
    except (TypeError, KeyError, ValueError):
        raise HintError(f'{where}: "photo" should be {{"width": W, "height": H}} in pixels, got {photo!r}') from None
    return width, height


def _rescaled(
    points: list[HintPoint], made_on: tuple[int, int], size: tuple[int, int], where: str, photo: str
) -> tuple[list[HintPoint], str]:
    """``points`` made on a ``made_on`` copy of a photo, moved onto its ``size`` copy (same shape, within a pixel)."""
    (w0, h0), (w1, h1) = made_on, size
    if abs(w0 * h1 - w1 * h0) > max(w0, h0, w1, h1):
        raise HintError(
            f"{where} was made on a {w0}×{h0} photo, but {photo} is {w1}×{h1} and of another shape: its points "
            "would not land where they were put. Load the points made on this photo."
        )
    sx, sy = w1 / w0, h1 / h0
    moved = [
        HintPoint(
            min(w1 - 1, math.floor((p.x + 0.5) * sx)), min(h1 - 1, math.floor((p.y + 0.5) * sy)), p.color,
            max(1, round(p.size * (sx + sy) / 2)),
        )
        for p in points
    ]
    return moved, f"the points were made on a {w0}×{h0} copy of this photo and are scaled to its {w1}×{h1} pixels."


@functools.lru_cache(maxsize=8)
def _preview(path: str, stamp: tuple[int, int], max_side: int) -> Image.Image:
    """The photo at ``path`` as shown under the points: scaled to ``max_side``, transparency on a checkerboard.

    Read and scaled once per file (``stamp``: its modification time and size, so a rewritten file is read again):
    a 24-megapixel photo takes about a second to decode and scale, and every click draws the markers again.
    """
    with Image.open(path) as image:
        image.load()
        scale = preview_scale(image.size, max_side)
        picture = image.convert("RGBA") if _has_alpha(image) else image.convert("RGB")
    if scale > 1:
        picture = picture.resize(preview_size(picture.size, max_side), Image.Resampling.LANCZOS)
    if picture.mode == "RGBA":
        picture = Image.alpha_composite(checkerboard(picture.size), picture).convert("RGB")
    return picture


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def checkerboard(size: Sequence[int], square: int = CHECKER) -> Image.Image:
    """An RGBA checkerboard of ``size`` (width, height) in :data:`CHECKER_SHADES`, what a transparent part shows."""
    width, height = size
    rows = (np.arange(height) // square)[:, None]
    cols = (np.arange(width) // square)[None, :]
    shade = np.where((rows + cols) % 2 == 0, CHECKER_SHADES[1], CHECKER_SHADES[0]).astype(np.uint8)
    rgba = np.dstack([shade, shade, shade, np.full_like(shade, 255)])
    return Image.fromarray(rgba, "RGBA")


def canvas(state: PointsState | None, max_side: int = PREVIEW_SIDE, view: str = VIEW_POINTS) -> Image.Image | None:
    """The latest colorization at most ``max_side`` pixels on its longer side (a transparent photo on a
    checkerboard), with a marker on each point: a square of the point's size (at least :data:`MARKER_MIN` pixels) in
    its colour, ringed black and white.

    ``view``: :data:`VIEW_POINTS` (markers), :data:`VIEW_HIDDEN` (the same picture without them) or
    :data:`VIEW_AUTOMATIC` (the photo as first colorized, without points, to compare).
    """
    if not state or not state.get("output"):
        return None
    path = state.get("automatic") or state["output"] if view == VIEW_AUTOMATIC else state["output"]
    stat = os.stat(path)
    picture = _preview(str(path), (stat.st_mtime_ns, stat.st_size), max_side).copy()
    if view != VIEW_POINTS:
        return picture
    scale = preview_scale(state["size"], max_side)
    draw = ImageDraw.Draw(picture)
    for p in state["points"]:
        half = max(MARKER_MIN, p["size"] / scale) / 2
        cx, cy = (p["x"] + 0.5) / scale, (p["y"] + 0.5) / scale
        box = [round(cx - half), round(cy - half), round(cx + half) - 1, round(cy + half) - 1]
        draw.rectangle([box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2], outline="white", width=1)
        draw.rectangle([box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1], outline="black", width=1)
        draw.rectangle(box, fill=p["color"])
    return picture


def describe(state: PointsState | None) -> str:
    """One line for the page: the photo, its points, and whether the result shows them."""
    if not state or not state.get("output"):
        return "Drop photos above, choose one here and press **Open**."
    n = len(state["points"])
    width, height = state["size"]
    text = f"**{state['name']}** ({width}×{height}): {n} point{'' if n == 1 else 's'}."
    if not state.get("takes_hints", True):
        text += " This model cannot take colour points; it chooses every colour by itself."
    elif state["points"] != state["colorized_points"]:
        text += " Press **Colorize with points** to see them."
    elif n:
        text += " The colours show them."
    else:
        text += " Click on the photo where you know a colour."
    return text
