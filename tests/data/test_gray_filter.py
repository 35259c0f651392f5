"""data.min_colorfulness: nearly gray photos leave the training split, measured once and remembered."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.data import ColorizationDataModule, PhotoFolderDataset, load_rgb, resize_square
from colorgan.data.gray_filter import MEASURE_SIZE, colorfulness_of, drop_gray, store_path
from colorgan.metrics import colorfulness

from helpers.photos import synthetic_photo, write_photos


def write_gray_photos(folder: Path, n: int, seed: int = 0, tint: tuple[int, int, int] = (0, 0, 0)) -> list[Path]:
    """``n`` photos with structure but (almost) no colour: a synthetic photo made gray, plus a faint ``tint``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        gray = np.asarray(Image.fromarray(synthetic_photo(rng, 72, 88)).convert("L"), dtype=np.int16)
        rgb = np.clip(gray[..., None] + np.array(tint, dtype=np.int16), 0, 255).astype(np.uint8)
        path = folder / f"gray_{i:03d}.png"
        Image.fromarray(rgb).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def mixed_root(tmp_path: Path) -> Path:
    """train/: 6 colourful and 4 nearly gray photos; val/ and test/: 2 colourful and 2 gray each."""
    root = tmp_path / "photos"
    write_photos(root / "train", 6, seed=1)
    write_gray_photos(root / "train", 2, seed=2)
    write_gray_photos(root / "train" / "tinted", 2, seed=3, tint=(4, 2, -3))
    for split, seed in (("val", 4), ("test", 5)):
        write_photos(root / split, 2, seed=seed)
        write_gray_photos(root / split, 2, seed=seed)
    return root


def test_values_are_the_colorfulness_of_the_training_crop(mixed_root, tmp_path):
    files = sorted((mixed_root / "train").rglob("*.png"))
    values = colorfulness_of(files, tmp_path / "cache")
    expected = [
        float(colorfulness(resize_square(load_rgb(f), MEASURE_SIZE)[None].float() / 255)) for f in files
    ]
    assert values == pytest.approx(expected, abs=1e-4)
    gray = [v for f, v in zip(files, values) if f.name.startswith("gray")]
    colourful = [v for f, v in zip(files, values) if not f.name.startswith("gray")]
    assert max(gray) < 5 and min(colourful) > 15  # the synthetic photos are what their names say


def test_drop_gray_keeps_colourful_photos_in_order(mixed_root, tmp_path):
    files = sorted((mixed_root / "train").rglob("*.png"))
    kept = drop_gray(files, 15.0, tmp_path / "cache")
    assert kept == [f for f in files if not f.name.startswith("gray")]
    assert drop_gray(files, 0.0, tmp_path / "cache") == files


def test_a_second_run_decodes_nothing_and_a_changed_photo_is_measured_again(mixed_root, tmp_path, monkeypatch):
    files = sorted((mixed_root / "train").rglob("*.png"))
    first = colorfulness_of(files, tmp_path / "cache")
    assert store_path(tmp_path / "cache").is_file()
    decoded: list[Path] = []
    load = PhotoFolderDataset.load

    def spy(self, index):
        decoded.append(self.files[index])
        return load(self, index)

    monkeypatch.setattr(PhotoFolderDataset, "load", spy)
    assert colorfulness_of(files, tmp_path / "cache") == first and decoded == []
    # a colourful photo replaced by a gray one (new size and mtime) and a new photo: only those two are decoded
    k = next(i for i, f in enumerate(files) if f.name.startswith("photo"))
    write_gray_photos(tmp_path / "elsewhere", 1)[0].replace(files[k])
    st = files[k].stat()
    os.utime(files[k], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    [new] = write_photos(mixed_root / "train" / "new", 1, seed=9)
    again = colorfulness_of([*files, new], tmp_path / "cache")
    assert sorted(decoded) == sorted([files[k], new])
    assert again[k] < 5 < first[k] and again[:k] + again[k + 1 : -1] == first[:k] + first[k + 1 :]


def test_unreadable_photos_are_kept_for_training_to_report(tmp_path):
    [good] = write_photos(tmp_path / "p", 1)
    bad = tmp_path / "p" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xffnot really a jpeg")
    assert colorfulness_of([good, bad], tmp_path / "cache")[1] is None
    assert drop_gray([good, bad], 15.0, tmp_path / "cache") == [good, bad]


def test_datamodule_drops_gray_photos_from_training_only(mixed_root, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="colorgan.data.datamodule")
    dm = ColorizationDataModule(root=str(mixed_root), image_size=32, batch_size=2, num_workers=0,
                                cache_dir=str(tmp_path / "cache"), min_colorfulness=15)
    dm.prepare_data()
    dm.setup("fit")
    dm.setup("test")
    assert [f.name for f in dm.train_set.files] == [f"photo_{i:03d}.png" for i in range(6)]
    assert len(dm.val_set.files) == 4 and len(dm.test_set.files) == 4  # gray val/test photos stay
    assert "Dropped 4 of 10 training photos with colourfulness < 15 (data.min_colorfulness)" in caplog.text
    images = torch.cat([b["image"] for b in dm.train_dataloader()])
    assert float(colorfulness(images.float() / 255).min()) > 15


def test_no_threshold_keeps_every_photo_and_measures_nothing(mixed_root, tmp_path):
    dm = ColorizationDataModule(root=str(mixed_root), image_size=32, num_workers=0, cache_dir=str(tmp_path / "c"))
    dm.setup("fit")
    assert len(dm.train_set.files) == 10 and not store_path(tmp_path / "c").exists()


def test_a_threshold_that_drops_everything_names_the_setting(mixed_root, tmp_path):
    dm = ColorizationDataModule(root=str(mixed_root), image_size=32, num_workers=0, cache_dir=str(tmp_path / "c"),
                                min_colorfulness=1000)
    with pytest.raises(ValueError, match=r"data\.min_colorfulness=1000 dropped all 10 training photos"):
        dm.setup("fit")


def test_training_run_with_min_colorfulness(compose_cfg, mixed_root, tmp_path):
    from colorgan.train import train

    cfg = compose_cfg(f"data.root={mixed_root}", "data.min_colorfulness=15", "data.num_workers=2", experiment=None)
    metrics = train(cfg)
    assert torch.isfinite(torch.tensor(metrics["val/l1_ab"]))
    assert store_path(cfg.data.cache_dir).is_file()  # measured in the decode workers, remembered in data.cache_dir


@pytest.mark.parametrize("cache", [False, True])
def test_without_cache_dir_nothing_is_written_into_the_photo_folder(mixed_root, tmp_path, monkeypatch, cache):
    """From Python, without cache_dir: the measurements (and the decoded-photo cache) go to the user's cache
    folder, never into data.root, which may be read-only."""
    def listing() -> dict[str, float]:
        return {p.relative_to(mixed_root).as_posix(): p.stat().st_mtime for p in mixed_root.rglob("*")}

    before = listing()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    dm = ColorizationDataModule(root=str(mixed_root), image_size=32, batch_size=2, num_workers=0,
                                min_colorfulness=15, cache=cache)
    dm.prepare_data()
    dm.setup("fit")
    assert len(dm.train_set) == 6
    assert listing() == before
    assert dm.cache_dir == tmp_path / "xdg" / "colorgan" and store_path(dm.cache_dir).is_file()
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ColorizationDataModule(root=str(mixed_root)).cache_dir == tmp_path / "home" / ".cache" / "colorgan"
