"""The perceptual loss: VGG features of the colorized photo against those of the true photo (DDColor's recipe)."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import get_model

from colorgan.color import model_lab_to_rgb
from colorgan.nn.lite0 import refuse_wheel_state
from colorgan.nn.pretrained import load_weights, pretrained_state_dict
from colorgan.nn.resnet_unet import IMAGENET_MEAN, IMAGENET_STD

NETWORKS = ("vgg16_bn", "vgg19")
# conv1_1, conv2_1, conv3_1, conv4_1, conv5_1: the deeper, the more it weighs (DDColor's layer weights)
LAYER_WEIGHTS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)


def _taps(features: nn.Sequential) -> list[int]:
    """Indices of conv1_1 ... conv5_1 in a torchvision VGG's ``features``: the first conv of each block."""
    taps, new_block = [], True
    for i, layer in enumerate(features):
        if isinstance(layer, nn.Conv2d) and new_block:
            taps.append(i)
            new_block = False
        elif isinstance(layer, nn.MaxPool2d):
            new_block = True
    return taps


class PerceptualLoss(nn.Module):
    """Distance between VGG features of ``(L, ab_pred)`` and ``(L, ab_true)``, as the colour photos they make.

    Both are converted to sRGB by the colour module (``model_lab_to_rgb``), normalised with the ImageNet mean and
    std, and passed through a torchvision VGG's ``features`` up to ``conv5_1``; the loss is
    ``sum_l w_l * mean|phi_l(pred) - phi_l(true)|`` over the outputs of conv1_1 ... conv5_1 with
    ``w = 1/16, 1/8, 1/4, 1/2, 1``: DDColor's perceptual loss (VGG16-BN, L1). It runs in float32, also inside a
    bf16 autocast region. The VGG is frozen and stays in eval mode (its BatchNorm keeps the ImageNet statistics).

    Only ImageNet weights make the features meaningful: ``weights=None`` (random features) is for tests.

    Args:
        network: ``vgg16_bn`` (DDColor's) | ``vgg19``.
        weights: ``"imagenet"`` | ``None`` | a path to a state dict of that torchvision VGG (its ``classifier`` is
            ignored); see :mod:`colorgan.nn.pretrained`.

    Shapes: ``L`` ``(B, 1, H, W)`` in [-1, 1]; ``ab_pred``, ``ab_true`` ``(B, 2, H, W)`` in [-1, 1] -> a scalar >= 0.

    Example:
        >>> loss = PerceptualLoss(weights=None)
        >>> L, ab = torch.zeros(1, 1, 32, 32), torch.zeros(1, 2, 32, 32)
        >>> float(loss(L, ab, ab))
        0.0
    """

    def __init__(self, network: str = "vgg16_bn", weights: str | os.PathLike | None = "imagenet") -> None:
        super().__init__()
        if network not in NETWORKS:
            raise ValueError(f"model.perceptual.network must be one of {NETWORKS}, got {network!r}")
        features = get_model(network, weights=None).features
        if weights is not None:
            state = pretrained_state_dict(weights, network, "model.perceptual.weights")
            refuse_wheel_state(state, weights, "model.perceptual.weights")
            state = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
            load_weights(features, state, source=str(weights), setting="model.perceptual.weights",
                         what=f"{network} (its features)")
        self.taps = _taps(features)
        self.features = features[: self.taps[-1] + 1].requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> PerceptualLoss:
        return super().train(False)  # a fixed feature extractor: BatchNorm keeps its statistics

    def _features(self, rgb: Tensor) -> list[Tensor]:
        x, out = (rgb - self.mean) / self.std, []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
        return out

    def forward(self, L: Tensor, ab_pred: Tensor, ab_true: Tensor) -> Tensor:
        with torch.autocast(device_type=L.device.type, enabled=False):
            with torch.no_grad():
                target = self._features(model_lab_to_rgb(L.detach(), ab_true.detach()))
            pred = self._features(model_lab_to_rgb(L, ab_pred.float()))
            return sum(w * F.l1_loss(p, t) for w, p, t in zip(LAYER_WEIGHTS, pred, target))
