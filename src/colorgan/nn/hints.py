"""How colour hints enter a generator: the input layout, and first convs widened with zeros.

A hinted generator (``model.hints.enabled``, Zhang et al. 2017) takes ``in_channels = 4`` instead of 1: the
normalised ``L``, then the hint map: the normalised ``ab`` of the hinted pixels (2 channels, 0 elsewhere) and a
mask (1 channel, 1 on hinted pixels, 0 elsewhere). All zeros means no hints, i.e. automatic colorization, so one
model does both.

Every generator lets the hints in the same way: through its first convolution, whose weights for the three hint
channels are extra input channels of that conv. A network whose first conv takes something other than ``L`` (the
ResNet U-Net shows its ImageNet encoder a gray RGB picture) widens that conv with :func:`widen_conv_input` and feeds
``cat(its own input, hints)``. Zero weights on the hint channels make the hinted network compute exactly what the
automatic one does, whatever the hints; :func:`widen_state_dict` does the same to the weights of a checkpoint or
pretrained file written for the narrower conv, so a hinted model starts from an automatic one.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import Tensor, nn

# ab (2) and mask (1)
HINT_CHANNELS = 3


def input_channels(hints: bool) -> int:
    """The generator's ``in_channels``: 4 (L, ab hints, mask) for a hinted model, else 1 (L)."""
    return 1 + HINT_CHANNELS if hints else 1


def check_input_channels(in_channels: int, setting: str = "model.generator.in_channels") -> bool:
    """True for a hinted input (4 channels), False for L alone (1); any other count is an error naming ``setting``."""
    if in_channels not in (1, 1 + HINT_CHANNELS):
        raise ValueError(
            f"{setting}={in_channels}: a generator takes 1 channel (L) or {1 + HINT_CHANNELS} (L, ab hints, mask); "
            "set model.hints.enabled=true for hints rather than the channel count"
        )
    return in_channels == 1 + HINT_CHANNELS


def generator_input(L: Tensor, hints: Tensor | None, in_channels: int) -> Tensor:
    """What a generator with ``in_channels`` takes: ``L`` ``(B, 1, H, W)`` alone, or joined with ``hints``
    ``(B, 3, H, W)`` (zeros, i.e. no hints, when ``hints`` is None)."""
    if in_channels == 1:
        if hints is not None:
            raise ValueError("hints were given to a generator without hints (model.hints.enabled=false)")
        return L
    if hints is None:
        hints = L.new_zeros(L.shape[0], HINT_CHANNELS, *L.shape[2:])
    return torch.cat([L, hints.to(L)], dim=1)


def split_input(x: Tensor) -> tuple[Tensor, Tensor | None]:
    """A generator's input ``(B, 1 | 4, H, W)`` -> ``L`` ``(B, 1, H, W)`` and the hints ``(B, 3, H, W)`` or None."""
    return x[:, :1], (x[:, 1:] if x.shape[1] > 1 else None)


def widen_conv_input(conv: nn.Conv2d, extra: int) -> nn.Conv2d:
    """A copy of ``conv`` with ``extra`` more input channels, after its own, whose weights are zero.

    The copy computes what ``conv`` computes whatever the extra channels hold, until training moves their weights.
    It is a copy of the same class (timm's TensorFlow-ported stems pad "same" in their own ``forward``), with a
    wider weight.
    """
    if extra == 0:
        return conv
    if conv.groups != 1:
        raise ValueError(f"cannot add input channels to a grouped convolution ({conv})")
    wide = copy.deepcopy(conv)
    weight = conv.weight.new_zeros(conv.out_channels, conv.in_channels + extra, *conv.weight.shape[2:])
    with torch.no_grad():
        weight[:, : conv.in_channels] = conv.weight
    wide.weight = nn.Parameter(weight, requires_grad=conv.weight.requires_grad)
    wide.in_channels = conv.in_channels + extra
    return wide


def widen_state_dict(state: Mapping[str, Tensor], target: Mapping[str, Tensor]) -> tuple[dict[str, Tensor], list[str]]:
    """``state`` with every conv weight that has fewer input channels than ``target``'s widened with zeros.

    A weight is widened when it differs from ``target``'s only in its second dimension (input channels) and is
    narrower there: the new channels come after the old ones, as the hint channels do. Anything else is left as it
    is, for ``load_state_dict`` to judge.

    Returns:
        The new state dict and the keys that were widened.
    """
    out, widened = dict(state), []
    for key, value in state.items():
        want = target.get(key)
        if want is None or value.dim() < 2 or value.shape == want.shape or value.dim() != want.dim():
            continue
        if value.shape[0] == want.shape[0] and value.shape[2:] == want.shape[2:] and value.shape[1] < want.shape[1]:
            wide = value.new_zeros(want.shape)
            wide[:, : value.shape[1]] = value
            out[key] = wide
            widened.append(key)
    return out, widened
