"""model.lambda_perceptual: off (no VGG) by default; on, it adds to G's loss, is logged and stays out of checkpoints."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from colorgan.checkpoints.reading import read_colorgan_checkpoint
from colorgan.train import train
from colorgan.training import module
from colorgan.training.module import ColorGAN


def test_off_by_default_and_no_vgg_is_built(compose_cfg, monkeypatch):
    def no_vgg(*args, **kwargs):
        raise AssertionError("a VGG was built")

    monkeypatch.setattr(module, "PerceptualLoss", no_vgg)
    cfg = compose_cfg(experiment=None)
    assert cfg.model.lambda_perceptual == 0 and cfg.model.perceptual.network == "vgg16_bn"
    model = ColorGAN(generator={"ngf": 8, "num_downs": 6}, discriminator={"ndf": 8}, image_size=64)
    assert model._perceptual is None


def test_perceptual_term_trains_is_logged_and_left_out_of_the_checkpoint(compose_cfg, photo_root):
    cfg = compose_cfg(f"data.root={photo_root}", "model.lambda_perceptual=2.5", "model.perceptual.weights=null",
                      experiment=None)
    train(cfg)
    out = Path(cfg.paths.output_dir)
    with open(out / "csv" / "version_0" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("train/g_perceptual_step")]
    assert len(rows) == 2  # both batches
    for r in rows:
        parts = {k: float(r[f"train/{k}_step"]) for k in ("g_loss", "g_gan", "g_l1", "g_perceptual")}
        assert parts["g_perceptual"] > 0
        assert parts["g_loss"] == pytest.approx(parts["g_gan"] + 100 * parts["g_l1"] + 2.5 * parts["g_perceptual"],
                                                rel=1e-5)
    ckpt = read_colorgan_checkpoint(out / "checkpoints" / "last.ckpt")
    assert not any("perceptual" in k or "features" in k for k in ckpt["state_dict"])
    assert ckpt["hyper_parameters"]["lambda_perceptual"] == 2.5
