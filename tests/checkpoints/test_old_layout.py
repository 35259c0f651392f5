"""Checkpoints written before the package was reorganised still colorize and resume.

``tests/fixtures/layout1_tiny.ckpt`` is the ``last.ckpt`` of a tiny run (32 px, ngf=2, ndf=2, one epoch of two
batches) written by the flat layout (``colorgan.module``, ``colorgan.callbacks``, ...).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch
from PIL import Image

from colorgan.checkpoints.reading import read_colorgan_checkpoint

from helpers.photos import synthetic_photo, write_photos

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "layout1_tiny.ckpt"
ARCH = ["data.image_size=32", "model.generator.ngf=2", "model.discriminator.ndf=2"]


def test_old_checkpoint_colorizes(tmp_path: Path) -> None:
    import numpy as np

    from colorgan.inference.colorizer import Colorizer

    colorizer = Colorizer.from_checkpoint(FIXTURE, device="cpu")
    assert colorizer.image_size == 32
    photo = Image.fromarray(synthetic_photo(np.random.default_rng(0), 45, 70)).convert("L")
    out = colorizer(photo)
    assert out.size == (70, 45) and out.mode == "RGB"


def test_old_checkpoint_resumes(tmp_path: Path, compose_cfg) -> None:
    from colorgan.train import train

    old = read_colorgan_checkpoint(FIXTURE)
    assert old["epoch"] == 1 and old["global_step"] == 4  # one finished epoch of two batches
    root = tmp_path / "photos"
    write_photos(root / "train", 8, size=(40, 48), seed=1)
    write_photos(root / "val", 2, size=(40, 48), seed=2)
    write_photos(root / "test", 4, size=(40, 48), seed=3)
    ckpt = tmp_path / "old.ckpt"
    shutil.copyfile(FIXTURE, ckpt)
    cfg = compose_cfg(*ARCH, f"data.root={root}", f"ckpt_path={ckpt}", "trainer.max_epochs=2")
    train(cfg)
    new = read_colorgan_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")
    assert new["epoch"] == 2
    assert new["global_step"] == old["global_step"] + 4  # two more batches, two optimizer steps each
    changed = [
        k for k, v in old["state_dict"].items() if v.is_floating_point() and not torch.equal(v, new["state_dict"][k])
    ]
    assert any(k.startswith("generator.") for k in changed) and any(k.startswith("discriminator.") for k in changed)
    # the optimizers went on from the saved Adam state, not from scratch
    old_steps = old["optimizer_states"][0]["state"][0]["step"]
    assert new["optimizer_states"][0]["state"][0]["step"] == old_steps + 2
