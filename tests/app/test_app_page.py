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
