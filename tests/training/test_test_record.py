"""TestRecord: what a test run leaves behind for comparisons (test_metrics.json, the first test photos colorized)."""

from __future__ import annotations

import json

import lightning as L
import pytest
import torch

from colorgan.data import ColorizationDataModule
from colorgan.training.module import ColorGAN
from colorgan.training.test_record import TEST_GRID_FILE, TEST_IMAGES_FILE, TEST_METRICS_FILE, TestRecord


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
