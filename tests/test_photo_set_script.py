"""scripts/make_photo_set.py writes which crop came from which photo, so that the intervals group its crops."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from PIL import Image

from colorgan.evaluation.intervals import SOURCES_FILE, SourcePhotos, by_source

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


class FakeFetcher:
    """Every photo as a small plain picture: no package is downloaded."""

    def __init__(self, workdir: Path) -> None:
        pass

    def open(self, photo) -> Image.Image:
        return Image.new("RGB", (48, 40), (len(photo.name) * 9 % 256, 90, 160))


def test_the_photo_set_says_which_crop_came_from_which_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    script = importlib.import_module("make_photo_set")
    monkeypatch.setattr(script, "Fetcher", FakeFetcher)
    out = tmp_path / "set"
    monkeypatch.setattr(
        sys,
        "argv",
        ["make_photo_set.py", str(out), "--crops", "2", "--short-side", "16", "--work", str(tmp_path / "work")],
    )
    script.main()
    sources = SourcePhotos.of_data(out)
    crops = sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.jpg"))
    assert len(crops) == 2 * len(script.PHOTOS) and sources.unlisted(crops) == []
    names, _ = by_source([c for c in crops if c.startswith("test/")], [0.0] * 2 * len(script.TEST), sources)
    assert names == sorted(script.TEST)  # 28 source photos, two crops each
    assert sources.of("train/summer_1am_1.jpg") == "summer_1am"  # a name with its own "_<number>"
    assert (out / SOURCES_FILE).read_text().startswith("photo,source\n")
