"""A ResNet U-Net run: it trains, its checkpoint colorizes, exports (weights, ONNX, TorchScript) and resumes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.checkpoints.reading import load_generator, read_colorgan_checkpoint
from colorgan.checkpoints.resume import ResumeError
from colorgan.export import export
from colorgan.inference.colorizer import Colorizer
from colorgan.nn import ResNetUNetGenerator
from colorgan.train import train

from helpers.photos import write_photos
from helpers.runs import TINY_RESNET, train_tiny


@pytest.fixture(scope="module")
def resnet_ckpt(photo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """last.ckpt of the tiny ResNet U-Net (resnet18, 64 px, decoder ngf=8) after one epoch of two batches."""
    return train_tiny(tmp_path_factory.mktemp("resnet_run"), *TINY_RESNET, f"data.root={photo_root}")


def test_resnet_unet_trains_and_its_checkpoint_says_which_generator(resnet_ckpt: Path) -> None:
    ckpt = read_colorgan_checkpoint(resnet_ckpt)
    assert ckpt["hyper_parameters"]["generator"]["name"] == "resnet_unet"
    assert ckpt["hyper_parameters"]["generator"]["encoder"] == "resnet18"
    assert ckpt["epoch"] == 1 and ckpt["global_step"] == 4  # two batches, a D and a G step each
    fresh = ResNetUNetGenerator("resnet18", ngf=8).state_dict()
    state = {k.removeprefix("generator."): v for k, v in ckpt["state_dict"].items() if k.startswith("generator.")}
    assert set(state) == set(fresh)
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_resnet_checkpoint_colorizes_photos_of_any_size(resnet_ckpt: Path, tmp_path: Path) -> None:
    generator, weights = load_generator(resnet_ckpt)
    assert isinstance(generator, ResNetUNetGenerator) and weights.image_size == 64
    colorizer = Colorizer.from_checkpoint(resnet_ckpt, device="cpu", size=100)
    assert colorizer.divisor == 32 and colorizer.size == 96  # rounded to the ResNet's multiple of 32
    photo = write_photos(tmp_path, 1, size=(45, 70), ext="png")[0]
    out = colorizer(photo)
    assert out.size == Image.open(photo).size and out.mode == "RGB"
    assert np.asarray(out).std() > 0


@pytest.mark.parametrize(
    "fmt, suffix", [("weights", ".pt"), ("onnx", ".onnx"), pytest.param("torchscript", ".ts", marks=pytest.mark.slow)]
)
def test_resnet_checkpoint_exports_and_the_export_reproduces_it(resnet_ckpt: Path, tmp_path: Path, fmt, suffix):
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    # export() runs the file on a 128 x 64 probe (not the traced 64 x 64) and compares it with the generator
    info = export(resnet_ckpt, tmp_path / f"g{suffix}", fmt)
    assert info["max_abs_diff"] is not None and info["max_abs_diff"] < 1e-4
    if fmt == "weights":
        generator, weights = load_generator(tmp_path / f"g{suffix}")
        assert isinstance(generator, ResNetUNetGenerator) and weights.generator["encoder"] == "resnet18"


def test_resnet_checkpoint_resumes(resnet_ckpt: Path, compose_cfg, photo_root: Path, tmp_path: Path) -> None:
    ckpt = tmp_path / "resnet.ckpt"
    shutil.copyfile(resnet_ckpt, ckpt)
    cfg = compose_cfg(*TINY_RESNET, f"data.root={photo_root}", f"ckpt_path={ckpt}", "trainer.max_epochs=2",
                      experiment=None)
    train(cfg)
    new = read_colorgan_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")
    assert new["epoch"] == 2 and new["global_step"] == 8


def test_resuming_with_the_other_generator_is_refused(resnet_ckpt: Path, compose_cfg, photo_root: Path) -> None:
    cfg = compose_cfg(f"data.root={photo_root}", f"ckpt_path={resnet_ckpt}", experiment=None)
    with pytest.raises(ResumeError, match="model.generator.name: checkpoint 'resnet_unet', config 'unet'"):
        train(cfg)
