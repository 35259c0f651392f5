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
:data:`PREVIEW_SIDE` pixels wide or high and turns each click on it into the photo's pixels.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

from PIL import Image, ImageDraw

from colorgan.app.handlers import Models, result_suffix, save_before, start_job, upload_name
from colorgan.inference.hints import HintError, HintPoint, check_inside, parse_points, read_hints
from colorgan.inference.outputs import save_image, source_exif

log = logging.getLogger(__name__)

PREVIEW_SIDE = 1024  # the longer side of the picture the points are put on, in screen pixels
MARKER_MIN = 9  # the smallest marker drawn on it, so that a one-pixel point can still be seen and checked
POINTS_SUFFIX = "_points.json"


class PointsState(TypedDict):
    """The photo being given colour points, as the page keeps it (plain values only).

    Keys: ``name`` (as dropped), ``upload`` (the uploaded file), ``folder`` (its job folder), ``size`` ([width,
    height] in the photo's pixels), ``points`` (``{"x", "y", "color", "size"}`` in the photo's pixels), ``output``
    (the latest colorization), ``before`` (the photo as the model read it), ``round`` (colorizations so far),
    ``colorized_points`` (the points that ``output`` was made with).
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
    files: Sequence[str] | None, index: int | None, models: Models, results_dir: Path, label: str | None
) -> tuple[PointsState, str | None]:
    """Open dropped photo number ``index`` for points: a job folder, and the photo colorized without points.

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
        colorized_points=[],
    )
    state = _colorize(state, models, label, points=None)
    note = None
    if not models.takes_hints(label):
        note = (
            f"the model {models.get(label)[0]} was trained without colour hints, so it cannot take points; choose a "
            "model trained with model.hints.enabled=true"
        )
    return state, note


def colorize_points(state: PointsState | None, models: Models, label: str | None) -> PointsState:
    """Colorize the open photo again with its points (none: automatic), into a new numbered folder.

    Raises:
        ValueError: no photo is open; HintError: points for a model trained without hints.
    """
    state = _require(state)
    if state["points"] and not models.takes_hints(label):
        raise HintError(
            f"the model {models.get(label)[0]} was trained without colour hints, so it cannot take points; choose a "
            "model trained with model.hints.enabled=true, or clear the points"
        )
    points = parse_points(state["points"], "the points") if state["points"] else None
    return _colorize(state, models, label, points)


def _colorize(
    state: PointsState, models: Models, label: str | None, points: list[HintPoint] | None
) -> PointsState:
    upload, name = Path(state["upload"]), state["name"]
    round_ = state["round"] + 1
    result = models.colorize(models.get(label)[0], upload, points=points if points else None)
    if result.image is None:
        raise ValueError((result.error or f"{name}: could not be colorized").replace(str(upload), name))
    folder = Path(state["folder"])
    stem = Path(name).stem or "photo"
    output = folder / str(round_) / f"{stem}{result_suffix(name, result.image)}"
    save_image(result.image, output, exif=source_exif(upload))
    if points:
        _write_points(output.with_name(f"{stem}{POINTS_SUFFIX}"), state["points"])
    before = state["before"] or save_before(result, folder, stem)
    return {
        **state, "output": str(output), "before": str(before), "size": list(result.image.size), "round": round_,
        "colorized_points": [dict(p) for p in state["points"]] if points else [],
    }


def _require(state: PointsState | None) -> PointsState:
    if not state or not state.get("output"):
        raise ValueError("open a photo first (choose it under Photo and press Open)")
    return state


def add_point(state: PointsState | None, x: float, y: float, colour: str, size: float) -> PointsState:
    """The state with a point where the picture from :func:`canvas` was clicked (``x``, ``y`` in its pixels).

    Raises:
        ValueError: no photo is open; HintError: ``colour`` is not a colour.
    """
    state = _require(state)
    width, height = state["size"]
    scale = preview_scale(state["size"])
    px = min(width - 1, max(0, math.floor((x + 0.5) * scale)))
    py = min(height - 1, max(0, math.floor((y + 0.5) * scale)))
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


def _write_points(path: Path, points: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps({"points": points}, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def points_file(state: PointsState | None) -> Path | None:
    """The points as they are now, as a hints file ``<photo>_points.json`` in the job folder (``None`` when no
    photo is open or it has no points)."""
    if not state or not state.get("output") or not state["points"]:
        return None
    stem = Path(state["name"]).stem or "photo"
    return _write_points(Path(state["folder"]) / f"{stem}{POINTS_SUFFIX}", state["points"])


def load_points(state: PointsState | None, path: str | Path, name: str | None = None) -> PointsState:
    """The state with the points of a hints file (they replace the points there were).

    Raises:
        ValueError: no photo is open; HintError: the file is not a hints file, or a point is not on this photo
        (the message names the file by ``name``, as it was dropped, and the point).
    """
    state = _require(state)
    shown = name or upload_name(path)
    try:
        points = read_hints(path)
    except HintError as err:
        raise HintError(str(err).replace(str(Path(path).expanduser()), shown)) from None
    width, height = state["size"]
    check_inside(points, height, width, f"hints file '{shown}' for {state['name']}")
    return {
        **state,
        "points": [{"x": p.x, "y": p.y, "color": hex_colour(p.color), "size": p.size} for p in points],
    }


def canvas(state: PointsState | None, max_side: int = PREVIEW_SIDE) -> Image.Image | None:
    """The latest colorization at most ``max_side`` pixels on its longer side, with a marker on each point: a square
    of the point's size (at least :data:`MARKER_MIN` pixels) in its colour, ringed black and white."""
    if not state or not state.get("output"):
        return None
    with Image.open(state["output"]) as image:
        picture = image.convert("RGB")
    scale = preview_scale(state["size"], max_side)
    if scale > 1:
        picture = picture.resize(
            (max(1, round(picture.width / scale)), max(1, round(picture.height / scale))), Image.Resampling.LANCZOS
        )
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
    if state["points"] != state["colorized_points"]:
        text += " Press **Colorize with points** to see them."
    elif n:
        text += " The colours show them."
    else:
        text += " Click on the photo where you know a colour."
    return text
