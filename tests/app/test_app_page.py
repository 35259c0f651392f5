"""The page's layout, built without a server: the model menu appears only when there is a choice."""

from __future__ import annotations

from pathlib import Path

from colorgan.app.handlers import Models
from colorgan.app.page import build_page

from helpers.app import constant_colour_model


def _menu(page):
    import gradio as gr

    (menu,) = [b for b in page.blocks.values() if isinstance(b, gr.Dropdown) and b.elem_id == "model"]
    return menu


def test_the_model_menu_offers_the_checkpoints_by_label(tiny_ckpt: Path, tmp_path: Path) -> None:
    other = constant_colour_model(tiny_ckpt, (0.5, 0.5), tmp_path / "warm.pt")
    menu = _menu(build_page(Models([tiny_ckpt, other], device="cpu"), tmp_path / "results"))
    assert menu.visible and [c[1] for c in menu.choices] == ["last.ckpt", "warm.pt"] and menu.value == "last.ckpt"
    assert str(tiny_ckpt) not in str(menu.choices)  # the page never sees a path

    single = _menu(build_page(Models([tiny_ckpt], device="cpu"), tmp_path / "results"))
    assert not single.visible and single.value == "last.ckpt"


def _ids(page) -> set[str]:
    return {b.elem_id for b in page.blocks.values() if getattr(b, "elem_id", None)}


def test_the_colour_points_section_is_there_when_a_model_takes_hints(
    tiny_ckpt: Path, tiny_hinted_ckpt: Path, tmp_path: Path
) -> None:
    editor = {"points-photo", "points-open", "points-canvas", "points-colour", "points-size", "points-undo",
              "points-clear", "points-colorize", "points-download", "points-save", "points-load", "points-status"}
    assert not editor & _ids(build_page(Models([tiny_ckpt], device="cpu"), tmp_path / "results"))
    assert editor <= _ids(build_page(Models([tiny_ckpt, tiny_hinted_ckpt], device="cpu"), tmp_path / "results"))


def _handler(page, name: str):
    (fn,) = [f.fn for f in page.fns.values() if getattr(f.fn, "__name__", "") == name]
    return fn


def _dependency(page, name: str):
    (dep,) = [f for f in page.fns.values() if getattr(f.fn, "__name__", "") == name]
    return dep


def test_a_refused_points_action_keeps_the_photo_and_says_why_beside_it(
    tiny_ckpt: Path, tiny_hinted_ckpt: Path, drop, tmp_path: Path
) -> None:
    from colorgan.app import points as pts

    from helpers.app import photo

    models = Models([tiny_hinted_ckpt, tiny_ckpt], device="cpu")
    hinted, automatic = models.labels
    page = build_page(models, tmp_path / "results")
    upload = drop("grandma.png", photo(40, 60, "L"))
    state, picture, status, message, *_ = _handler(page, "open_photo")(None, pts.VIEW_POINTS, [str(upload)], 0, hinted)
    assert picture["value"] is not None and "grandma.png" in status and message == ""
    state, picture, *_ = _handler(page, "click")(state, pts.VIEW_POINTS, "#ff0000", 3, '{"x": 10.5, "y": 5.5}')
    assert state["points"] == [{"x": 10, "y": 5, "color": "#ff0000", "size": 3}]

    for refused, why in [
        (lambda s: _handler(page, "load")(s, pts.VIEW_POINTS, str(drop("bad.json", data=b"{ not json"))),
         "Hints file 'bad.json' is not JSON"),
        (lambda s: _handler(page, "colorize")(s, pts.VIEW_POINTS, automatic), "cannot take colour points"),
    ]:
        kept, shown, still, said, *_ = refused(state)  # no exception: Gradio would put an error box over the photo
        assert kept == state and kept["points"]  # the photo and its points as they were
        assert shown["value"] is not None and "grandma.png" in still and "1 point" in still
        assert 'class="colorgan-error"' in said and why in said, said
        assert "hints.enabled" not in said


def test_open_and_colorize_show_their_progress_over_the_photo(tiny_hinted_ckpt: Path, tmp_path: Path) -> None:
    import gradio as gr

    page = build_page(Models([tiny_hinted_ckpt], device="cpu"), tmp_path / "results")
    (picture,) = [b for b in page.blocks.values() if isinstance(b, gr.Image) and b.elem_id == "points-canvas"]
    for name in ("open_photo", "colorize"):
        dependency = _dependency(page, name)
        assert picture._id in [b._id for b in dependency.show_progress_on], name  # not only the line below it
        assert dependency.show_progress != "hidden" and dependency.tracks_progress, name
