"""The ResNet U-Net generator: a torchvision ResNet encoder and a PixelShuffle decoder, L in, ab out."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import get_model

from colorgan.color import gray_rgb
from colorgan.nn.hints import HINT_CHANNELS, check_input_channels, split_input, widen_conv_input, widen_state_dict
from colorgan.nn.lite0 import refuse_wheel_state
from colorgan.nn.norm import conv_bias, norm_layer
from colorgan.nn.pretrained import load_weights, pretrained_state_dict

ENCODERS = ("resnet18", "resnet34", "resnet50")

# What torchvision's ImageNet ResNets were trained on: sRGB in [0, 1], normalised per channel with these.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def icnr_(weight: Tensor, scale: int = 2) -> Tensor:
    """ICNR initialisation (Aitken et al. 2017) of a conv that feeds ``PixelShuffle(scale)``, in place.

    The ``scale**2`` output channels that ``PixelShuffle`` spreads over one ``scale x scale`` block get the same
    kernel, so at initialisation the upsampled map is a nearest-neighbour upsampling of a conv: no checkerboard.
    Each kernel is Kaiming-normal (for the ReLU that follows).

    Args:
        weight: ``(out_channels * scale**2, in_channels, k, k)``.
    """
    out_ch, in_ch, *k = weight.shape
    if out_ch % (scale * scale):
        raise ValueError(f"ICNR needs a multiple of {scale * scale} output channels, got {out_ch}")
    kernel = torch.empty(out_ch // (scale * scale), in_ch, *k, dtype=weight.dtype, device=weight.device)
    nn.init.kaiming_normal_(kernel, nonlinearity="relu")
    with torch.no_grad():
        # PixelShuffle takes channel c * scale**2 + i to sub-pixel i of output channel c
        return weight.copy_(kernel.repeat_interleave(scale * scale, dim=0))


class PixelShuffleUp(nn.Module):
    """Double the resolution: 1x1 conv to ``4 * out_channels`` (ICNR), ReLU, ``PixelShuffle(2)``, then a 2x2 blur.

    ICNR starts the upsampling without a checkerboard; the blur (a replicate-padded 2x2 average, as in DeOldify,
    after Sugawara et al. 2018) keeps training from bringing one back.

    Shapes: ``(B, in_channels, H, W)`` -> ``(B, out_channels, 2H, 2W)``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels * 4, 1)
        icnr_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        self.shuffle = nn.PixelShuffle(2)
        self.blur = nn.Sequential(nn.ReplicationPad2d((1, 0, 1, 0)), nn.AvgPool2d(2, stride=1))

    def forward(self, x: Tensor) -> Tensor:
        return self.blur(self.shuffle(torch.relu(self.conv(x))))


def _conv_block(in_channels: int, out_channels: int, norm: str) -> nn.Sequential:
    """3x3 conv, norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=conv_bias(norm)),
        norm_layer(norm)(out_channels),
        nn.ReLU(inplace=True),
    )


class DecoderBlock(nn.Module):
    """One U-Net decoder stage: upsample the deeper map, join it with the encoder's map at that size, two convs.

    The encoder's map is normalised before the join (its scale differs from stage to stage, as in fastai's
    ``UnetBlock``).

    Shapes: ``(B, in_channels, H, W)`` and skip ``(B, skip_channels, 2H, 2W)`` -> ``(B, out_channels, 2H, 2W)``.
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, norm: str) -> None:
        super().__init__()
        self.up = PixelShuffleUp(in_channels, out_channels)
        self.skip_norm = norm_layer(norm)(skip_channels)
        self.convs = nn.Sequential(
            _conv_block(out_channels + skip_channels, out_channels, norm),
            _conv_block(out_channels, out_channels, norm),
        )

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.convs(torch.cat([self.up(x), torch.relu(self.skip_norm(skip))], dim=1))


class ResidualBlock(nn.Module):
    """``x + conv(conv(x))`` with 3x3 convs: the last stage at full resolution."""

    def __init__(self, channels: int, norm: str) -> None:
        super().__init__()
        self.convs = nn.Sequential(_conv_block(channels, channels, norm), _conv_block(channels, channels, norm))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.convs(x)


def headless_resnet(encoder: str) -> nn.Module:
    """A torchvision ResNet without its pooling and classifier (random weights): the U-Net's encoder."""
    if encoder not in ENCODERS:
        raise ValueError(f"model.generator.encoder must be one of {ENCODERS}, got {encoder!r}")
    net = get_model(encoder, weights=None)
    del net.fc, net.avgpool  # the classifier is not part of the encoder (nor of its state dict)
    return net


def check_dropout(dropout: float) -> float:
    """``model.generator.dropout`` of the encoder U-Nets, checked. Their dropout is functional, with no module, so
    the state dict (and every checkpoint) is the same with and without it."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"model.generator.dropout={dropout} must be in [0, 1)")
    return float(dropout)


def init_decoder(network: nn.Module, parts: tuple[nn.Module, ...], output_conv: nn.Conv2d) -> None:
    """Kaiming-initialise the convs of ``parts`` (a U-Net's decoder side), except the PixelShuffle convs of
    ``network``, which keep their ICNR init; ``output_conv`` starts small (Pix2Pix's N(0, 0.02)): ab begin near 0,
    gray, instead of a Kaiming-sized tanh input that starts saturated, painting garish colours and passing back
    almost no gradient."""
    icnr = {id(m.conv) for m in network.modules() if isinstance(m, PixelShuffleUp)}
    for part in parts:
        for m in part.modules():
            if isinstance(m, nn.Conv2d) and id(m) not in icnr:
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
    nn.init.normal_(output_conv.weight, 0.0, 0.02)


class ResNetUNetGenerator(nn.Module):
    """U-Net with a torchvision ResNet encoder, in the style of fastai's ``DynamicUnet`` and DeOldify.

    **Encoder.** ``resnet18 | resnet34 | resnet50`` from torchvision, cut before its pooling and classifier. The
    normalised ``L`` is turned into the gray sRGB picture it stands for (the colour module's exact L* -> sRGB
    conversion, ``a = b = 0``), repeated over R, G and B and normalised with the ImageNet mean and std: exactly what
    an ImageNet ResNet sees when it is shown a black-and-white photo. (The alternative, summing ``conv1``'s weights
    over RGB into one input channel, changes the first layer; with the three channels any torchvision ResNet state
    dict loads unchanged, and the extra cost is the first conv's, a few per cent of the encoder.)

    **Decoder.** Skip connections from every encoder stage: the stem (1/2 size), ``layer1`` (1/4), ``layer2``
    (1/8), ``layer3`` (1/16); ``layer4`` (1/32) feeds the bottleneck (two 3x3 convs). Each decoder stage doubles the
    resolution with a PixelShuffle upsampling (ICNR-initialised and blurred, so it does not checkerboard), joins the
    normalised encoder map of that size and applies two 3x3 convs. Stage widths are ``8, 4, 2, 1 x ngf`` from the
    inside out. A last PixelShuffle stage returns to full resolution, joins the input ``L`` itself, and a residual
    block and a 1x1 conv give ``ab`` through ``tanh``. ``dropout`` (0, off, by default) drops features in training
    after the bottleneck and after the two deepest decoder stages (1/16 and 1/8), where Pix2Pix's U-Net has its
    dropout (its innermost decoder blocks): the same noise source, so one sweep space fits both generators.

    **Hints.** With ``in_channels=4`` (``model.hints.enabled``) the input is ``L`` and the hint map (ab, mask; see
    :mod:`colorgan.nn.hints`). The hints join the encoder's gray RGB picture as three more input channels of
    ``conv1``, whose weights for them start at zero; the encoder's other weights (ImageNet's too) load unchanged.

    **Weights.** ``weights=None`` starts the encoder from random weights; ``"imagenet"`` from torchvision's ImageNet
    weights (from the ``$TORCH_HOME/hub/checkpoints`` cache; never downloaded, a missing file is an error that says
    where to put it); a path from a state dict of the same torchvision ResNet (its ``fc`` classifier is ignored).
    See :mod:`colorgan.nn.pretrained`. The decoder always starts from random weights (Kaiming; ICNR for the
    upsampling convs; N(0, 0.02) for the output conv, so that a new generator paints near-gray, unsaturated ab).

    Args:
        encoder: ``resnet18`` | ``resnet34`` | ``resnet50``.
        weights: ``None`` | ``"imagenet"`` | a path: where the encoder's weights start.
        out_channels: 2 (normalised ab).
        ngf: decoder width of the outermost stage (the encoder's widths are torchvision's).
        norm: the decoder's norm: ``"batch"`` | ``"instance"`` | ``"none"`` (the encoder keeps its BatchNorm).
        dropout: dropout probability after the bottleneck and the two deepest decoder stages, in training only.
        in_channels: 1 (normalised L) or 4 (L, ab hints, mask).

    Shapes: ``(B, in_channels, H, W)`` in [-1, 1], ``H`` and ``W`` multiples of 32 -> ``(B, out_channels, H, W)``
    in [-1, 1].

    Example:
        >>> g = ResNetUNetGenerator("resnet18", ngf=8).eval()
        >>> g(torch.zeros(1, 1, 64, 96)).shape
        torch.Size([1, 2, 64, 96])
    """

    divisor = 32  # the ResNet halves the input five times

    def __init__(
        self,
        encoder: str = "resnet34",
        weights: str | os.PathLike | None = None,
        out_channels: int = 2,
        ngf: int = 64,
        norm: str = "batch",
        dropout: float = 0.0,
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        self.dropout = check_dropout(dropout)
        hinted = check_input_channels(in_channels)
        self.encoder_name = encoder
        self.encoder = headless_resnet(encoder)
        if hinted:
            self.encoder.conv1 = widen_conv_input(self.encoder.conv1, HINT_CHANNELS)
        expansion = type(self.encoder.layer1[0]).expansion  # 1 for BasicBlock (18, 34), 4 for Bottleneck (50)
        skips = [self.encoder.bn1.num_features, *(w * expansion for w in (64, 128, 256))]  # stem, layer1..layer3
        deepest = 512 * expansion
        widths = [ngf * m for m in (8, 4, 2, 1)]  # decoder stages at 1/16, 1/8, 1/4, 1/2
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

        self.bottleneck = nn.Sequential(
            norm_layer(norm)(deepest),
            nn.ReLU(inplace=True),
            _conv_block(deepest, 2 * widths[0], norm),
            _conv_block(2 * widths[0], widths[0], norm),
        )
        stages, prev = [], widths[0]
        for skip, width in zip(reversed(skips), widths):
            stages.append(DecoderBlock(prev, skip, width, norm))
            prev = width
        self.decoder = nn.ModuleList(stages)
        self.final_up = PixelShuffleUp(prev, prev)
        self.head = nn.Sequential(
            ResidualBlock(prev + 1, norm),  # + the input L
            nn.Conv2d(prev + 1, out_channels, 1),
            nn.Tanh(),
        )
        init_decoder(self, (self.bottleneck, self.decoder, self.head), self.head[1])
        if weights is not None:
            self.load_encoder_weights(weights)

    def load_encoder_weights(self, weights: str | os.PathLike) -> None:
        """Load ``"imagenet"`` or a state-dict file into the encoder (see the class docstring).

        Raises:
            colorgan.nn.pretrained.PretrainedWeightsError: the weights cannot be had or do not fit; the message says
                which file and what to do.
        """
        state = pretrained_state_dict(weights, self.encoder_name, "model.generator.weights")
        refuse_wheel_state(state, weights, "model.generator.weights")
        # a hinted encoder's conv1 has three more input channels than torchvision's: their weights start at zero
        state, _ = widen_state_dict(state, self.encoder.state_dict())
        load_weights(self.encoder, state, source=str(weights), setting="model.generator.weights",
                     what=self.encoder_name, ignore=("fc.",))

    def _drop(self, y: Tensor) -> Tensor:
        return F.dropout(y, self.dropout, self.training) if self.dropout else y

    def encoder_input(self, L: Tensor) -> Tensor:
        """Normalised ``L`` ``(B, 1, H, W)`` -> the ImageNet-normalised gray sRGB picture ``(B, 3, H, W)``."""
        return (gray_rgb(L) - self.mean) / self.std

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        if h % self.divisor or w % self.divisor:
            raise ValueError(
                f"generator input {h}x{w} is not divisible by {self.divisor} (the ResNet encoder halves it five "
                "times); resize the input to a multiple of 32"
            )
        L, hints = split_input(x)
        picture = self.encoder_input(L)
        enc = self.encoder
        stem = enc.relu(enc.bn1(enc.conv1(picture if hints is None else torch.cat([picture, hints], dim=1))))
        s1 = enc.layer1(enc.maxpool(stem))
        s2 = enc.layer2(s1)
        s3 = enc.layer3(s2)
        y = self._drop(self.bottleneck(enc.layer4(s3)))
        for i, (stage, skip) in enumerate(zip(self.decoder, (s3, s2, s1, stem))):
            y = stage(y, skip)
            if i < 2:  # the stages at 1/16 and 1/8
                y = self._drop(y)
        return self.head(torch.cat([self.final_up(y), L], dim=1))
