"""The page's layout, built without a server: the model menu appears only when there is a choice."""

from __future__ import annotations

from pathlib import Path

from colorgan.app.handlers import Models
from colorgan.app.page import build_page

from helpers.app import constant_colour_model


def _menu(page):
    import gradio as gr

    (menu,) = [b for b in page.blocks.values() if isinstance(b, gr.Dropdown)]
    return menu


def test_the_model_menu_offers_the_checkpoints_by_label(tiny_ckpt: Path, tmp_path: Path) -> None:
    other = constant_colour_model(tiny_ckpt, (0.5, 0.5), tmp_path / "warm.pt")
    menu = _menu(build_page(Models([tiny_ckpt, other], device="cpu"), tmp_path / "results"))
    assert menu.visible and [c[1] for c in menu.choices] == ["last.ckpt", "warm.pt"] and menu.value == "last.ckpt"
    assert str(tiny_ckpt) not in str(menu.choices)  # the page never sees a path

    single = _menu(build_page(Models([tiny_ckpt], device="cpu"), tmp_path / "results"))
    assert not single.visible and single.value == "last.ckpt"
