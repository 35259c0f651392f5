"""The VGG perceptual loss: zero for the true colours, positive otherwise, float32, frozen, and its weights policy."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import get_model

from colorgan.nn import PerceptualLoss
from colorgan.nn.perceptual import LAYER_WEIGHTS
from colorgan.nn.pretrained import PretrainedWeightsError


@pytest.fixture(scope="module")
def loss() -> PerceptualLoss:
    torch.manual_seed(0)
    return PerceptualLoss("vgg16_bn", weights=None)


def lab(seed: int, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(2, 1, size, size, generator=g) * 2 - 1, (torch.rand(2, 2, size, size, generator=g) - 0.5)


def test_zero_for_the_true_colours_and_positive_otherwise(loss):
    L, ab = lab(0)
    assert loss(L, ab, ab).item() == 0.0
    _, other = lab(1)
    assert loss(L, other, ab).item() > 0
    assert loss(L, ab * 0.5, ab).item() > 0  # duller colours of the same photo are told apart too


def test_gradients_reach_the_prediction_and_not_the_vgg(loss):
    L, ab = lab(0)
    pred = lab(1)[1].requires_grad_()
    loss(L, pred, ab).backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert all(not p.requires_grad and p.grad is None for p in loss.parameters())


def test_runs_in_float32_under_bf16_autocast(loss):
    L, ab = lab(0)
    pred = lab(1)[1]
    dtypes = []
    hook = loss.features[0].register_forward_hook(lambda m, args, out: dtypes.append(out.dtype))
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            value = loss(L, pred.bfloat16(), ab)
    finally:
        hook.remove()
    assert value.dtype == torch.float32 and dtypes == [torch.float32, torch.float32]  # target and prediction


def test_features_are_vgg_up_to_conv5_1_and_stay_in_eval_mode(loss):
    assert loss.taps == [0, 7, 14, 24, 34] and len(loss.features) == 35 and len(LAYER_WEIGHTS) == 5
    assert PerceptualLoss("vgg19", weights=None).taps == [0, 5, 10, 19, 28]
    loss.train()
    assert not loss.training and not any(m.training for m in loss.modules())


def test_a_weights_file_sets_the_vgg_features(tmp_path: Path):
    torch.manual_seed(5)
    features = get_model("vgg16_bn", weights=None).features.state_dict()
    path = tmp_path / "vgg16_bn_features.pth"
    torch.save({f"features.{k}": v for k, v in features.items()}, path)  # the classifier may be left out
    got = PerceptualLoss("vgg16_bn", weights=str(path)).features.state_dict()
    for key, value in got.items():
        torch.testing.assert_close(value, features[key], rtol=0, atol=0)


def test_offline_imagenet_error_names_the_vgg_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    where = tmp_path / "hub" / "checkpoints" / "vgg16_bn-6c64b313.pth"
    with pytest.raises(PretrainedWeightsError, match="model.perceptual.weights=imagenet") as err:
        PerceptualLoss("vgg16_bn", weights="imagenet")
    assert f"https://download.pytorch.org/models/vgg16_bn-6c64b313.pth and put it at {where}" in str(err.value)
