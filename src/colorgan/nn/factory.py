"""Building a generator from its ``model.generator`` settings: the ``name`` field picks the network."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from torch import nn

from colorgan.nn.classification import DEFAULT_TEMPERATURE, ClassificationHead
from colorgan.nn.encoder_unet import EncoderUNetGenerator
from colorgan.nn.generator import UNetGenerator
from colorgan.nn.resnet_unet import ResNetUNetGenerator

# name (= the option of the Hydra group `model/generator`) -> class
GENERATORS: dict[str, type[nn.Module]] = {
    "unet": UNetGenerator,
    "resnet_unet": ResNetUNetGenerator,
    "encoder_unet": EncoderUNetGenerator,
}
# checkpoints and exports written before there was a choice of generator hold the U-Net and no `name`
DEFAULT_GENERATOR = "unet"
# settings of the head on top of any generator (model.head, model.temperature: colorgan.nn.classification), kept in
# the generator's settings of a classification model only
HEAD_SETTINGS = ("head", "temperature")
HEADS = ("regression", "classification")


def generator_class(config: Mapping[str, Any]) -> type[nn.Module]:
    """The class that ``config["name"]`` names (``unet`` when there is no ``name``)."""
    name = config.get("name") or DEFAULT_GENERATOR
    if name not in GENERATORS:
        raise ValueError(
            f"model.generator.name must be one of {', '.join(GENERATORS)}, got {name!r}; choose the generator with "
            f"model/generator={'|'.join(GENERATORS)}"
        )
    return GENERATORS[name]


def _parameters(cls: type[nn.Module]) -> dict[str, inspect.Parameter]:
    return {n: p for n, p in inspect.signature(cls.__init__).parameters.items() if n != "self"}


def generator_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with its ``name`` and every setting it leaves out at the class's default: what the network is.

    >>> generator_settings({"ngf": 8})["name"], generator_settings({"ngf": 8})["norm"]
    ('unet', 'batch')
    """
    cls = generator_class(config)
    name = next(n for n, c in GENERATORS.items() if c is cls)
    defaults = {n: p.default for n, p in _parameters(cls).items() if p.default is not inspect.Parameter.empty}
    if config.get("head", "regression") == "classification":
        defaults["out_channels"] = ClassificationHead.FEATURES
    return {**defaults, **dict(config), "name": name}


def build_generator(config: Mapping[str, Any], *, pretrained: bool = True) -> nn.Module:
    """The generator ``config`` describes (``model.generator``: ``name`` and the class's keyword arguments).

    With ``pretrained=False`` a ``weights`` setting is not read (random weights): for a generator whose trained
    weights are about to be loaded from a checkpoint, which must not need the pretrained file again.

    Raises:
        ValueError: an unknown ``name``, or a setting the named generator does not have (the message names it).

    >>> build_generator({"name": "unet", "ngf": 8, "num_downs": 5}).divisor
    32
    """
    cls = generator_class(config)
    kwargs = {k: v for k, v in dict(config).items() if k not in ("name", *HEAD_SETTINGS)}
    head = config.get("head") or "regression"
    if head not in HEADS:
        raise ValueError(f"model.head must be one of {', '.join(HEADS)}, got {head!r}")
    unknown = sorted(set(kwargs) - set(_parameters(cls)))
    if unknown:
        name = config.get("name") or DEFAULT_GENERATOR
        raise ValueError(
            f"{', '.join(f'model.generator.{k}' for k in unknown)}: not a setting of the {name} generator (its "
            f"settings: {', '.join(_parameters(cls))}). Switch generators with model/generator=NAME, which brings "
            "that generator's settings, rather than with model.generator.name"
        )
    if not pretrained and "weights" in kwargs:
        kwargs["weights"] = None
    if head == "regression":
        return cls(**kwargs)
    kwargs.setdefault("out_channels", ClassificationHead.FEATURES)
    temperature = config.get("temperature")
    return ClassificationHead(
        cls(**kwargs),
        features=int(kwargs["out_channels"]),
        temperature=DEFAULT_TEMPERATURE if temperature is None else float(temperature),
    )
