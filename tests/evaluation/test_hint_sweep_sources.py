"""The points curve's intervals group test photos into source photos as the quality table does: each photo its
own, unless the data set's sources.csv or hints.source_pattern says otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from colorgan.evaluate import evaluate
from colorgan.evaluation.hint_sweep import summarise
from colorgan.evaluation.intervals import SOURCES_FILE, SourcePhotos, write_sources_file


def _raw(names: list[str], l1: np.ndarray) -> dict:
    scores = {"psnr": (-l1).tolist(), "l1_ab": l1.tolist()}
    return {"names": names, "hinted": {0: scores, 5: scores}, "automatic": None, "gray": scores}


def test_camera_names_are_separate_source_photos_unless_a_pattern_groups_them() -> None:
    names = [f"test/IMG_{k:04d}.JPG" for k in range(1, 31)]
    raw = _raw(names, np.linspace(0.05, 0.3, 30))
    alone = summarise(raw)
    assert alone["source_photos"] == 30 and "its own source photo" in alone["grouping"]
    e = alone["hinted"]["l1_ab"][0]
    assert e["low"] < e["mean"] < e["high"]  # 30 photos: a real spread, not one "photo" of width 0
    # by their tens digit: 0001-0009, 0010-0019, 0020-0029, 0030
    grouped = summarise(raw, sources=SourcePhotos.from_pattern(r"test/IMG_00(?P<source>\d)"))
    assert grouped["source_photos"] == 4 and "IMG_00" in grouped["grouping"]


@pytest.fixture
def compose_curve(compose_eval):
    """The evaluate config of a points curve with 0 and 2 points, without FID."""
    return lambda *overrides: compose_eval("fid=false", "hints.points=[0,2]", *overrides)


def test_evaluate_groups_the_curves_photos_by_the_pattern_the_data_set_or_not_at_all(
    compose_curve, tiny_hinted_ckpt, photo_root: Path, tmp_path: Path
) -> None:
    """photo_root's test photos are test/football/photo_000.png ... photo_007.png: 8 photos, not one."""
    args = (f"ckpt_path={tiny_hinted_ckpt}", f"data.root={photo_root}")
    curve = evaluate(compose_curve(*args))["hints_curve"]
    assert curve["photos"] == 8 and curve["source_photos"] == 8
    # a pattern, quoted for Hydra: photos 000-003 are one source photo, the four others their own
    curve = evaluate(compose_curve(*args, "hints.source_pattern='(?P<source>.*photo_00)[0-3]'"))["hints_curve"]
    assert curve["source_photos"] == 5 and "(hints.source_pattern)" in curve["grouping"]
    # the data set's own word, in a copy of photo_root with a sources.csv
    root = tmp_path / "photos"
    shutil.copytree(photo_root / "test", root / "test")
    write_sources_file(root / SOURCES_FILE, {f"test/football/photo_{i:03d}.png": f"scene{i % 2}" for i in range(8)})
    curve = evaluate(compose_curve(f"ckpt_path={tiny_hinted_ckpt}", f"data.root={root}"))["hints_curve"]
    assert curve["source_photos"] == 2 and SOURCES_FILE in curve["grouping"]
