"""TestRecord: what a test run leaves behind for comparisons (test_metrics.json, the first test photos colorized)."""

from __future__ import annotations

import json
import warnings

import lightning as L
import pytest
import torch

from colorgan.data import ColorizationDataModule
from colorgan.training.module import ColorGAN
from colorgan.training.results import (
    TEST_GRID_FILE,
    TEST_IMAGES_FILE,
    TEST_METRICS_FILE,
    TEST_PHOTOS_FILE,
    TestRecord,
)


def test_test_record_writes_the_metrics_and_the_colorized_photos(tmp_path, photo_root) -> None:
    torch.manual_seed(0)
    model = ColorGAN(generator={"ngf": 8, "num_downs": 6}, discriminator={"ndf": 8, "n_layers": 2}, image_size=64)
    dm = ColorizationDataModule(root=str(photo_root), image_size=64, batch_size=2, num_workers=0)
    trainer = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[TestRecord(tmp_path / "run", num_images=3)])
    tested = trainer.test(model, datamodule=dm, verbose=False)[0]

    run = tmp_path / "run"
    record = json.loads((run / TEST_METRICS_FILE).read_text())
    assert record["photos"] == 8
    assert record["metrics"] == pytest.approx(tested) and "test/gray/psnr" in record["metrics"]
    images = torch.load(run / TEST_IMAGES_FILE, weights_only=True)
    assert set(images) == {"gray", "colorized", "truth"}
    for pictures in images.values():
        assert pictures.dtype == torch.uint8 and pictures.shape == (3, 3, 64, 64)
    first = torch.stack([dm.test_set[i]["image"] for i in range(3)])
    assert torch.equal(images["truth"], first)  # the first test photos, in order, across batches of 2
    assert not torch.equal(images["colorized"], images["gray"])
    assert (run / TEST_GRID_FILE).is_file()


@pytest.mark.parametrize("cache", [False, True])
def test_every_test_photo_gets_its_own_scores_by_name(tmp_path, photo_root, cache) -> None:
    """test_photos.json: one entry per test photo, named by its path under data.root, with scores that average to
    the test numbers; a photo that cannot be read is left out rather than misnamed."""
    torch.manual_seed(0)
    model = ColorGAN(generator={"ngf": 8, "num_downs": 6}, discriminator={"ndf": 8, "n_layers": 2}, image_size=64)
    dm = ColorizationDataModule(root=str(photo_root), image_size=64, batch_size=3, num_workers=0, cache=cache,
                                cache_dir=str(tmp_path / "cache"))
    dm.prepare_data()
    dm.setup("test")
    broken = dm.test_set.files[1] if not cache else None
    if broken is not None:
        broken.write_bytes(b"not a photo")
    trainer = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[TestRecord(tmp_path / "run")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tested = trainer.test(model, datamodule=dm, verbose=False)[0]

    photos = json.loads((tmp_path / "run" / TEST_PHOTOS_FILE).read_text())["photos"]
    expected = [f.relative_to(photo_root).as_posix() for f in dm.test_set.files if f != broken] if not cache else \
        [f.relative_to(photo_root).as_posix() for f in dm.test_set.files]
    assert [p["photo"] for p in photos] == expected
    for metric in ("l1_ab", "swd_ab", "ssim", "colorfulness", "colorfulness_true"):
        mean = sum(p["scores"][metric] for p in photos) / len(photos)
        assert mean == pytest.approx(tested[f"test/{metric}"], rel=1e-4, abs=1e-6), metric
        gray_mean = sum(p["gray"][metric] for p in photos) / len(photos)
        assert gray_mean == pytest.approx(tested[f"test/gray/{metric}"], rel=1e-4, abs=1e-6), metric
