"""The demo photos that ship with colorgan: three splits that share no source photo, each source licensed."""

from __future__ import annotations

from pathlib import Path

from colorgan.config import asset_path
from colorgan.data import split_files

DEMO = Path(asset_path("demo"))


def _sources(files: list[Path]) -> set[str]:
    """``astronaut_3.jpg`` -> ``astronaut``: crops are named after the photo they were cut from."""
    return {f.stem.rsplit("_", 1)[0] for f in files}


def test_demo_validation_and_test_photos_come_from_held_out_source_photos():
    splits = split_files(DEMO)
    assert splits.source == "folders train/, val/, test/"
    assert (len(splits.train), len(splits.val), len(splits.test)) == (42, 6, 6)
    train, val, test = (_sources(getattr(splits, s)) for s in ("train", "val", "test"))
    assert len(train) >= 5 and len(val) >= 2 and len(test) >= 2
    assert not train & val and not train & test and not val & test


def test_every_shipped_photo_has_its_licence_listed():
    licence = (DEMO.parent / "LICENSE.md").read_text()
    photos = sorted(DEMO.parent.rglob("*.jpg"))
    assert len(photos) > 50 and sum(p.stat().st_size for p in DEMO.parent.rglob("*")) < 2_000_000
    for photo in photos:
        split, source = photo.parent.name, photo.stem.rsplit("_", 1)[0]
        name = f"`photos/{photo.name}`" if split == "photos" else f"`demo/{split}/{source}_*.jpg`"
        assert name in licence, photo


def test_the_demo_set_says_which_crop_came_from_which_photo():
    """Its sources.csv lists every shipped crop, so that the intervals resample the crops of one photo together."""
    from colorgan.evaluation.intervals import SourcePhotos

    sources = SourcePhotos.of_data(DEMO)
    photos = sorted(p.relative_to(DEMO).as_posix() for p in DEMO.glob("*/*.jpg"))
    assert sources.table is not None and set(sources.table) == set(photos)
    assert {sources.of(p) for p in photos if p.startswith("test/")} == {"bee", "hopper"}
    assert all(sources.of(p) == _sources([Path(p)]).pop() for p in photos)
