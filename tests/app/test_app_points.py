"""The page's colour points without a browser: clicks in the photo's pixels, colours that move, save and load."""

from __future__ import annotations

import json
import time
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


def test_clicks_on_a_large_photo_land_on_its_own_pixels(hinted, drop, tmp_path: Path) -> None:
    upload = drop("wide.png", photo(1500, 3000, "L"))
    state, _ = pts.open_photo([str(upload)], 0, hinted, tmp_path / "results", None)
    picture = pts.canvas(state)
    assert picture.size == (1024, 512)  # 3000 x 1500 shown at most 1024 wide
    scale = 3000 / 1024
    state = pts.add_point(state, 512.5, 256.5, "rgba(200, 20, 30, 1)", 60)  # the middles of picture pixels
    state = pts.add_point(state, 1023.5, 511.5, "teal", 1)
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


def test_points_are_saved_and_loaded_as_a_hints_file(hinted, drop, tmp_path: Path) -> None:
    upload = drop("street.jpg", photo(120, 160))
    state, _ = pts.open_photo([str(upload)], 0, hinted, tmp_path / "results", None)
    assert pts.points_file(state) is None  # nothing to save yet
    state = pts.add_point(pts.add_point(state, 10, 20, "#ff0000", 5), 100, 60, "#00f", 3)
    saved = pts.points_file(state)
    assert saved.name == "street_points.json"
    assert json.loads(saved.read_text()) == {"photo": {"width": 160, "height": 120}, "points": state["points"]}
    assert read_hints(saved) == read_hints(state["points"])  # colorgan-colorize --hints reads it as it is

    fresh, _ = pts.open_photo([str(upload)], 0, hinted, tmp_path / "results", None)
    loaded, note = pts.load_points(fresh, saved)
    assert loaded["points"] == state["points"] and note is None

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


def test_a_model_without_hints_says_so_plainly_and_refuses_points(automatic, drop, tmp_path: Path) -> None:
    upload = drop("scan.png", photo(40, 50, "L"))
    state, note = pts.open_photo([str(upload)], 0, automatic, tmp_path / "results", None)
    said = [note, pts.describe(state)]
    assert "The model last.ckpt cannot take colour points" in note
    assert "This model cannot take colour points" in pts.describe(state)
    assert "Click on the photo" not in pts.describe(state)  # no invitation to do what it cannot take
    with pytest.raises(HintError, match="cannot take colour points") as err:
        pts.add_point(state, 5, 5, "red", 3)
    said.append(str(err.value))
    with pytest.raises(HintError, match="cannot take colour points") as err:
        pts.colorize_points({**state, "points": [{"x": 5, "y": 5, "color": "#ff0000", "size": 3}]}, automatic, None)
    said.append(str(err.value))
    for text in said:  # a person's words, not a training setting
        assert "hints.enabled" not in text and "model.hints" not in text and "trained without" not in text, text
    # without points it still colorizes, as the model does automatically
    assert pts.colorize_points(state, automatic, None)["round"] == 2


def test_nothing_open_is_said_plainly(automatic, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="drop a photo first"):
        pts.open_photo([], 0, automatic, tmp_path, None)
    with pytest.raises(ValueError, match="open a photo first"):
        pts.add_point(None, 1, 1, "red", 1)
    assert pts.canvas(None) is None and pts.points_file(None) is None


def _opened(models: Models, drop, tmp_path: Path, name: str, image: Image.Image) -> pts.PointsState:
    state, _ = pts.open_photo([str(drop(name, image))], 0, models, tmp_path / "results", None)
    return state


def test_clicks_on_the_last_row_and_column_and_at_half_pixels_land_on_the_pixel_clicked(
    hinted, drop, tmp_path: Path
) -> None:
    state = _opened(hinted, drop, tmp_path, "small.png", photo(30, 40, "L"))  # shown at its own size
    assert pts.canvas(state).size == (40, 30)
    # a click is where the mouse was on the picture: its pixel (i, j) covers [i, i + 1) x [j, j + 1)
    clicks = [(10.5, 7.5), (10.0, 7.0), (10.99, 7.99), (39.5, 29.5), (39.99, 29.99), (0.0, 0.0)]
    for x, y in clicks:
        state = pts.add_point(state, x, y, "red", 1)
    assert [(p["x"], p["y"]) for p in state["points"]] == [(10, 7), (10, 7), (10, 7), (39, 29), (39, 29), (0, 0)]

    big = _opened(hinted, drop, tmp_path, "big.png", photo(1000, 3000, "L"))
    assert pts.canvas(big).size == (1024, 341)
    big = pts.add_point(big, 1023.99, 340.99, "red", 1)  # the far corner of the picture's last pixel
    big = pts.add_point(big, 0.0, 0.0, "red", 1)
    assert [(p["x"], p["y"]) for p in big["points"]] == [(2999, 999), (0, 0)]


def test_the_number_of_points_is_capped_and_a_huge_points_file_is_refused_at_once(
    hinted, drop, tmp_path: Path, monkeypatch
) -> None:
    state = _opened(hinted, drop, tmp_path, "crowd.png", photo(60, 80, "L"))
    many = [{"x": i % 80, "y": i // 80 % 60, "color": "#2a5caa", "size": 1} for i in range(5000)]
    huge = drop("huge.json", data=json.dumps({"points": many}).encode())

    def no_model_work(*args, **kwargs):
        raise AssertionError("the model was asked to colorize a photo with too many points")

    monkeypatch.setattr(hinted, "colorize", no_model_work)
    started = time.perf_counter()
    with pytest.raises(HintError) as err:
        pts.load_points(state, huge, "huge.json")
    assert time.perf_counter() - started < 1.0
    message = str(err.value)
    assert "huge.json" in message and "5,000 colour points" in message and "at most 1,000" in message

    full = {**state, "points": many[: pts.MAX_POINTS]}
    with pytest.raises(HintError, match="at most 1,000"):
        pts.add_point(full, 1, 1, "red", 1)
    with pytest.raises(HintError, match="at most 1,000"):
        pts.colorize_points({**state, "points": many[: pts.MAX_POINTS + 1]}, hinted, None)
    at_limit, _ = pts.load_points(state, drop("ok.json", data=json.dumps(many[: pts.MAX_POINTS]).encode()))
    assert len(at_limit["points"]) == pts.MAX_POINTS


def test_a_points_file_from_another_size_of_the_photo_is_scaled_or_refused(hinted, drop, tmp_path: Path) -> None:
    small = _opened(hinted, drop, tmp_path, "small.png", photo(40, 60, "L"))
    small = pts.add_point(pts.add_point(small, 30.5, 20.5, "#ff0000", 4), 59.5, 39.5, "#0000ff", 2)
    saved = pts.points_file(small)
    assert json.loads(saved.read_text())["photo"] == {"width": 60, "height": 40}

    large = _opened(hinted, drop, tmp_path, "large.png", photo(400, 600, "L"))
    moved, note = pts.load_points(large, saved, "small_points.json")
    assert [(p["x"], p["y"], p["size"]) for p in moved["points"]] == [(305, 205, 40), (595, 395, 20)]
    assert "made on a 60×40 copy" in note and "600×400" in note

    other_shape = _opened(hinted, drop, tmp_path, "square.png", photo(400, 400, "L"))
    with pytest.raises(HintError, match="made on a 60×40 photo, but square.png is 400×400"):
        pts.load_points(other_shape, saved, "small_points.json")

    # an old file, without the photo's size, whose points all lie in a small photo's corner: said
    old = drop("old.json", data=json.dumps({"points": small["points"]}).encode())
    loaded, note = pts.load_points(large, old)
    assert loaded["points"] == small["points"]
    assert "all lie in the top-left 60×40 pixels of this 600×400 photo" in note
    assert pts.load_points(small, old)[1] is None  # on the photo they were made on, nothing to say


def test_a_points_file_with_a_byte_order_mark_loads(hinted, drop, tmp_path: Path) -> None:
    state = _opened(hinted, drop, tmp_path, "notepad.png", photo(30, 30, "L"))
    text = json.dumps({"points": [{"x": 3, "y": 4, "color": "#ff0000", "size": 2}]})
    bom = drop("notepad.json", data=text.encode("utf-8-sig"))
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")
    loaded, _ = pts.load_points(state, bom)
    assert loaded["points"] == [{"x": 3, "y": 4, "color": "#ff0000", "size": 2}]
    assert read_hints(bom) == read_hints(loaded["points"])  # colorgan-colorize --hints reads it too


def test_a_transparent_photo_is_shown_on_a_checkerboard(hinted, drop, tmp_path: Path) -> None:
    rgba = np.zeros((32, 48, 4), np.uint8)
    rgba[..., :3] = (255, 0, 255)  # what the transparent half hides: magenta, which must not show
    rgba[:, 24:, 3] = 255
    rgba[:, 24:, :3] = 128
    state = _opened(hinted, drop, tmp_path, "logo.png", Image.fromarray(rgba, "RGBA"))
    shown = np.asarray(pts.canvas(state))
    hidden = shown[:, :24].astype(int)
    assert (hidden == hidden[..., :1]).all()  # gray squares only, no magenta
    assert set(np.unique(hidden)) == set(pts.CHECKER_SHADES)
    assert tuple(shown[0, 0]) != tuple(shown[0, pts.CHECKER])  # squares that alternate
    assert abs(shown[:, 24:].astype(int).std(axis=2)).mean() < 40  # the opaque half: the colorized photo


def test_the_picture_is_read_and_scaled_once_not_at_every_click(hinted, drop, tmp_path: Path, monkeypatch) -> None:
    state = _opened(hinted, drop, tmp_path, "wide.png", photo(600, 2000, "L"))
    first = pts.canvas(state)
    opened = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    for i in range(3):
        state = pts.add_point(state, 100 + i, 100, "red", 5)
        assert pts.canvas(state).size == first.size
    assert opened == []  # the scaled picture is kept between clicks
    assert np.array_equal(np.asarray(pts.canvas(state, view=pts.VIEW_HIDDEN)), np.asarray(first))


def test_the_views_show_the_points_hide_them_or_show_the_photo_without_them(hinted, drop, tmp_path: Path) -> None:
    state = _opened(hinted, drop, tmp_path, "view.png", photo(100, 150, "L", seed=4))
    automatic = np.asarray(pts.canvas(state))
    state = pts.colorize_points(pts.add_point(state, 75.5, 50.5, GREEN, 40), hinted, None)
    marked = np.asarray(pts.canvas(state, view=pts.VIEW_POINTS))
    hidden = np.asarray(pts.canvas(state, view=pts.VIEW_HIDDEN))
    without = np.asarray(pts.canvas(state, view=pts.VIEW_AUTOMATIC))
    assert np.array_equal(hidden, np.asarray(Image.open(state["output"]).convert("RGB")))  # no markers
    assert not np.array_equal(marked, hidden)
    assert np.array_equal(without, automatic) and not np.array_equal(without, hidden)  # before the points
