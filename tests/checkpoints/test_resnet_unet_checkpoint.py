"""A ResNet U-Net run from an encoder weights file: it trains, and its checkpoint colorizes, exports (weights, ONNX,
TorchScript) and resumes after the weights file is gone."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.models import get_model

from colorgan.checkpoints.reading import load_generator, read_colorgan_checkpoint
from colorgan.checkpoints.resume import ResumeError
from colorgan.export import export
from colorgan.inference.colorizer import Colorizer
from colorgan.nn import ResNetUNetGenerator
from colorgan.nn.pretrained import PretrainedWeightsError
from colorgan.train import train
from colorgan.training.module import ColorGAN

from helpers.photos import write_photos
from helpers.runs import TINY_RESNET, train_tiny


@dataclass
class Run:
    ckpt: Path
    weights: Path  # deleted after training
    state: dict[str, torch.Tensor]  # what it held


@pytest.fixture(scope="module")
def resnet_run(photo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The tiny ResNet U-Net (resnet18, 64 px, decoder ngf=8) trained for one epoch of two batches from an encoder
    weights file, which is then deleted: nothing that follows may need it."""
    out = tmp_path_factory.mktemp("resnet_run")
    torch.manual_seed(7)
    state = get_model("resnet18", weights=None).state_dict()
    weights = out / "encoder.pth"
    torch.save(state, weights)
    ckpt = train_tiny(out, *TINY_RESNET, f"data.root={photo_root}", f"model.generator.weights={weights}")
    weights.unlink()
    return Run(ckpt, weights, state)


@pytest.fixture(scope="module")
def resnet_ckpt(resnet_run: Run) -> Path:
    return resnet_run.ckpt


def test_resnet_unet_trains_and_its_checkpoint_says_which_generator(resnet_ckpt: Path) -> None:
    ckpt = read_colorgan_checkpoint(resnet_ckpt)
    assert ckpt["hyper_parameters"]["generator"]["name"] == "resnet_unet"
    assert ckpt["hyper_parameters"]["generator"]["encoder"] == "resnet18"
    assert ckpt["epoch"] == 1 and ckpt["global_step"] == 4  # two batches, a D and a G step each
    fresh = ResNetUNetGenerator("resnet18", ngf=8).state_dict()
    state = {k.removeprefix("generator."): v for k, v in ckpt["state_dict"].items() if k.startswith("generator.")}
    assert set(state) == set(fresh)
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_training_started_from_the_weights_file_and_the_checkpoint_holds_them(resnet_run: Run) -> None:
    state = read_colorgan_checkpoint(resnet_run.ckpt)["state_dict"]
    random = ResNetUNetGenerator("resnet18", ngf=8).encoder.state_dict()
    convs = [k for k in resnet_run.state if k.endswith("conv1.weight") or k.endswith("conv2.weight")]
    assert len(convs) == 17
    for key in convs:
        trained = state[f"generator.encoder.{key}"]
        # two Adam steps of 2e-4 moved the file's weights a little; a random start is far from them
        assert (trained - resnet_run.state[key]).abs().max() < 5e-3, key
        assert (random[key] - resnet_run.state[key]).abs().max() > 0.05, key
    assert read_colorgan_checkpoint(resnet_run.ckpt)["hyper_parameters"]["generator"]["weights"] == str(
        resnet_run.weights
    )
    assert not resnet_run.weights.exists()


def test_the_module_loads_from_the_checkpoint_without_the_weights_file(resnet_run: Run) -> None:
    model = ColorGAN.load_from_checkpoint(resnet_run.ckpt, map_location="cpu", weights_only=True)
    state = read_colorgan_checkpoint(resnet_run.ckpt)["state_dict"]
    torch.testing.assert_close(model.generator.encoder.conv1.weight, state["generator.encoder.conv1.weight"])
    model.load_pretrained_weights()  # a new fit from this module: the checkpoint's weights stay
    torch.testing.assert_close(model.generator.encoder.conv1.weight, state["generator.encoder.conv1.weight"])


def test_a_new_run_reads_the_weights_before_the_photos(compose_cfg, tmp_path: Path) -> None:
    gone = tmp_path / "gone.pth"
    model = ColorGAN(generator={"name": "resnet_unet", "encoder": "resnet18", "ngf": 8, "weights": str(gone)},
                     image_size=64)  # building the module does not read them
    with pytest.raises(PretrainedWeightsError, match="gone.pth: there is no such file"):
        model.load_pretrained_weights()
    # colorgan.train reads them first: a missing file is reported before the (here also missing) photos
    cfg = compose_cfg(*TINY_RESNET, f"data.root={tmp_path / 'no_photos'}", f"model.generator.weights={gone}",
                      experiment=None)
    with pytest.raises(PretrainedWeightsError, match="gone.pth: there is no such file"):
        train(cfg)


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


def test_resnet_checkpoint_resumes_without_the_weights_file(resnet_run: Run, compose_cfg, photo_root: Path,
                                                           tmp_path: Path) -> None:
    ckpt = tmp_path / "resnet.ckpt"
    shutil.copyfile(resnet_run.ckpt, ckpt)
    # the command line of the first run, whose weights file is gone, plus the checkpoint
    cfg = compose_cfg(*TINY_RESNET, f"data.root={photo_root}", f"model.generator.weights={resnet_run.weights}",
                      f"ckpt_path={ckpt}", "trainer.max_epochs=2", experiment=None)
    train(cfg)
    new = read_colorgan_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")
    assert new["epoch"] == 2 and new["global_step"] == 8


def test_resuming_with_the_other_generator_is_refused(resnet_ckpt: Path, compose_cfg, photo_root: Path) -> None:
    cfg = compose_cfg(f"data.root={photo_root}", f"ckpt_path={resnet_ckpt}", experiment=None)
    with pytest.raises(ResumeError, match="model.generator.name: checkpoint 'resnet_unet', config 'unet'"):
        train(cfg)


def test_a_fit_started_without_colorgan_train_starts_from_the_weights_too(tmp_path: Path) -> None:
    import lightning as L

    torch.manual_seed(3)
    state = get_model("resnet18", weights=None).state_dict()
    torch.save(state, tmp_path / "encoder.pth")
    model = ColorGAN(generator={"name": "resnet_unet", "encoder": "resnet18", "ngf": 8,
                                "weights": str(tmp_path / "encoder.pth")}, image_size=64)
    assert not torch.equal(model.generator.encoder.conv1.weight, state["conv1.weight"])  # not read when built
    trainer = L.Trainer(accelerator="cpu", max_epochs=1, limit_train_batches=0, limit_val_batches=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, train_dataloaders=[{"L": torch.zeros(1, 1, 64, 64)}])
    torch.testing.assert_close(model.generator.encoder.conv1.weight, state["conv1.weight"], rtol=0, atol=0)
