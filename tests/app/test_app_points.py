"""The page's colour points without a browser: clicks in the photo's pixels, colours that move, save and load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorgan.app import points as pts
from colorgan.app.handlers import Models
from colorgan.inference.hints import HintError, read_hints

from helpers.app import ab_distance, photo

GREEN = "#2e8b57"


@pytest.fixture(scope="module")
def hinted(hint_following_ckpt: Path) -> Models:
    return Models([hint_following_ckpt], device="cpu")


@pytest.fixture(scope="module")
def automatic(tiny_ckpt: Path) -> Models:
    return Models([tiny_ckpt], device="cpu")


def test_a_point_clicked_on_the_photo_moves_its_colour_toward_it(hinted, drop, tmp_path: Path) -> None:
    upload = drop("grandma.jpg", photo(200, 300, "L", seed=4))
    state, note = pts.open_photo([str(upload)], 0, hinted, tmp_path / "results", None)
    assert note is None
    assert state["size"] == [300, 200] and state["points"] == [] and state["round"] == 1
    automatic = Image.open(state["output"])
    assert automatic.size == (300, 200)
    assert Image.open(state["before"]).size == (300, 200)
    assert "0 points" in pts.describe(state)

    state = pts.add_point(state, 150, 100, GREEN, 40)  # the picture is the photo itself: it fits PREVIEW_SIDE
    assert state["points"] == [{"x": 150, "y": 100, "color": GREEN, "size": 40}]
    assert "Press **Colorize with points**" in pts.describe(state)
    before_round = state["output"]
    state = pts.colorize_points(state, hinted, None)
    assert state["round"] == 2 and state["output"] != before_round and Path(before_round).is_file()
    assert "The colours show them" in pts.describe(state)
    hinted_photo = Image.open(state["output"])
    assert hinted_photo.size == (300, 200) and hinted_photo.format == "JPEG"
    assert ab_distance(hinted_photo, 150, 100, GREEN, half=10) < 0.75 * ab_distance(automatic, 150, 100, GREEN, half=10)
    # the points it was made with lie beside it, as colorgan-colorize --hints reads them
    beside = Path(state["output"]).with_name("grandma_points.json")
    assert read_hints(beside) == read_hints({"points": state["points"]}["points"])


def test_clicks_on_a_large_photo_land_on_its_own_pixels(automatic, drop, tmp_path: Path) -> None:
    upload = drop("wide.png", photo(1500, 3000, "L"))
    state, _ = pts.open_photo([str(upload)], 0, automatic, tmp_path / "results", None)
    picture = pts.canvas(state)
    assert picture.size == (1024, 512)  # 3000 x 1500 shown at most 1024 wide
    scale = 3000 / 1024
    state = pts.add_point(state, 512, 256, "rgba(200, 20, 30, 1)", 60)
    state = pts.add_point(state, 1023, 511, "teal", 1)
    assert state["points"] == [
        {"x": int(512.5 * scale), "y": int(256.5 * scale), "color": "#c8141e", "size": 60},
        {"x": int(1023.5 * scale), "y": int(511.5 * scale), "color": "#008080", "size": 1},  # 2998, 1498: the
        # middle of the photo pixels the last picture pixel shows
    ]
    marked = np.asarray(pts.canvas(state))
    assert tuple(marked[256, 512]) == (200, 20, 30)  # the marker lies where the click was, in the point's colour
    assert tuple(marked[509, 1021]) == (0, 128, 128)  # a one-pixel point still gets a marker one can see
    assert not np.array_equal(marked, np.asarray(picture))
    assert pts.undo_point(state)["points"] == state["points"][:1]
    cleared = pts.clear_points(state)
    assert cleared["points"] == [] and np.array_equal(np.asarray(pts.canvas(cleared)), np.asarray(picture))
    with pytest.raises(HintError, match="is not a colour"):
        pts.add_point(state, 10, 10, "not-a-colour", 5)


def test_points_are_saved_and_loaded_as_a_hints_file(automatic, drop, tmp_path: Path) -> None:
    upload = drop("street.jpg", photo(120, 160))
    state, _ = pts.open_photo([str(upload)], 0, automatic, tmp_path / "results", None)
    assert pts.points_file(state) is None  # nothing to save yet
    state = pts.add_point(pts.add_point(state, 10, 20, "#ff0000", 5), 100, 60, "#00f", 3)
    saved = pts.points_file(state)
    assert saved.name == "street_points.json"
    assert json.loads(saved.read_text()) == {"points": state["points"]}

    fresh, _ = pts.open_photo([str(upload)], 0, automatic, tmp_path / "results", None)
    loaded = pts.load_points(fresh, saved)
    assert loaded["points"] == state["points"]

    outside = drop("far.json", data=json.dumps({"points": [{"x": 500, "y": 5, "color": "red"}]}).encode())
    with pytest.raises(HintError) as err:
        pts.load_points(fresh, outside)
    message = str(err.value)
    assert "far.json" in message and "point 1 (x=500, y=5) is outside the photo" in message
    assert str(outside.parent) not in message  # the server's folders stay out of what the page says
    junk = drop("notes.json", data=b"{ this is not json")
    with pytest.raises(HintError, match="hints file 'notes.json' is not JSON") as err:
        pts.load_points(fresh, junk)
    assert str(junk.parent) not in str(err.value)


def test_a_model_without_hints_says_so_and_refuses_points(automatic, drop, tmp_path: Path) -> None:
    upload = drop("scan.png", photo(40, 50, "L"))
    state, note = pts.open_photo([str(upload)], 0, automatic, tmp_path / "results", None)
    assert "trained without colour hints" in note
    state = pts.add_point(state, 5, 5, "red", 3)
    with pytest.raises(HintError, match="trained without colour hints"):
        pts.colorize_points(state, automatic, None)
    # without points it still colorizes, as the model does automatically
    assert pts.colorize_points(pts.clear_points(state), automatic, None)["round"] == 2


def test_nothing_open_is_said_plainly(automatic, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="drop a photo first"):
        pts.open_photo([], 0, automatic, tmp_path, None)
    with pytest.raises(ValueError, match="open a photo first"):
        pts.add_point(None, 1, 1, "red", 1)
    assert pts.canvas(None) is None and pts.points_file(None) is None
