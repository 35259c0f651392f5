"""Generator pretraining (model.l1_warmup_epochs) as a stage of its own: logged, announced, pictured at the switch."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
from PIL import Image

from colorgan.train import train
from colorgan.training.loggers import WANDB_ID_FILE


def _epoch_rows(metrics_csv: Path) -> dict[str, dict[int, float]]:
    """``{metric: {epoch: value}}`` from Lightning's CSV log (one value per metric and epoch here)."""
    out: dict[str, dict[int, float]] = {}
    with metrics_csv.open() as f:
        for row in csv.DictReader(f):
            if not row.get("epoch"):
                continue  # the learning-rate monitor logs by step only
            for key, value in row.items():
                if value not in ("", None) and key not in ("epoch", "step"):
                    out.setdefault(key, {})[int(row["epoch"])] = float(value)
    return out


def test_pretraining_is_a_stage_with_its_own_metrics_grid_and_log_line(compose_cfg, caplog):
    cfg = compose_cfg("model.l1_warmup_epochs=2", "trainer.max_epochs=3", "logger=many")
    with caplog.at_level(logging.INFO, logger="colorgan"):
        train(cfg)
    out = Path(cfg.paths.output_dir)
    logged = _epoch_rows(out / "csv" / "version_0" / "metrics.csv")

    assert logged["train/stage"] == {0: 0.0, 1: 0.0, 2: 1.0}
    assert logged["train/g_gan_epoch"][1] == 0.0 and logged["train/g_gan_epoch"][2] > 0  # the GAN loss came on
    assert "train/d_loss_epoch" not in logged or set(logged["train/d_loss_epoch"]) == {2}
    # the scores of the last pretraining epoch, once, under pretrain/
    for name in ("psnr", "ssim", "l1_ab", "colorfulness", "colorfulness_gap"):
        assert logged[f"pretrain/{name}"] == {1: logged[f"val/{name}"][1]}, name

    # the grid at the switch is the model at the end of epoch 1, as its validation grid shows it
    samples = out / "samples"
    switch = np.asarray(Image.open(samples / "pretrain_end.png"))
    assert np.array_equal(switch, np.asarray(Image.open(next(samples.glob("epoch001_*.png")))))
    assert not np.array_equal(switch, np.asarray(Image.open(next(samples.glob("epoch002_*.png")))))
    run_id = (out / WANDB_ID_FILE).read_text().strip()
    (run,) = (out / "wandb").glob(f"offline-run-*-{run_id}")
    assert list((run / "files" / "media" / "images").rglob("pretrain/samples_*.png")), "the grid goes to W&B too"

    said = [r.getMessage() for r in caplog.records if r.name.startswith("colorgan")]
    assert sum("Generator pretraining (model.l1_warmup_epochs=2): epochs 0-1" in m for m in said) == 1
    assert sum(m.startswith("Epoch 2: generator pretraining is over after 2 epoch(s); the GAN switches on")
               for m in said) == 1


def test_without_pretraining_every_epoch_is_the_gan_stage(compose_cfg, caplog):
    cfg = compose_cfg()
    with caplog.at_level(logging.INFO, logger="colorgan"):
        train(cfg)
    out = Path(cfg.paths.output_dir)
    logged = _epoch_rows(out / "csv" / "version_0" / "metrics.csv")
    assert logged["train/stage"] == {0: 1.0}
    assert not [k for k in logged if k.startswith("pretrain/")]
    assert not (out / "samples" / "pretrain_end.png").exists()
    assert not [r for r in caplog.records if "pretraining (" in r.getMessage() or "switches on" in r.getMessage()]


def test_a_run_too_short_for_the_gan_says_so(compose_cfg, caplog):
    cfg = compose_cfg("model.l1_warmup_epochs=1", "trainer.max_epochs=1", "logger=csv")
    with caplog.at_level(logging.INFO, logger="colorgan"):
        train(cfg)
    assert "trainer.max_epochs=1 <= model.l1_warmup_epochs=1: the GAN never switches on in this run" in caplog.text
    assert (Path(cfg.paths.output_dir) / "samples" / "pretrain_end.png").is_file()
