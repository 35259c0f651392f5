"""The ``model.*`` settings of a ColorGAN, checked against each other and kept as primitives for the checkpoint.

:class:`~colorgan.training.module.ColorGAN` saves its settings with ``save_hyperparameters``; a checkpoint must
load with ``torch.load(weights_only=True)``, so they hold only dicts, lists, strings and numbers (no OmegaConf
containers, no callables). The optimizers and schedulers are kept as Hydra ``_partial_`` configs and built when
Lightning asks for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from colorgan.nn.hints import check_input_channels
from colorgan.training.hints import HintSettings

OptimizerSpec = Mapping[str, Any] | Callable[..., torch.optim.Optimizer]

DEFAULT_ADAM: dict[str, Any] = {
    "_target_": "torch.optim.Adam",
    "_partial_": True,
    "lr": 2e-4,
    "betas": [0.5, 0.999],
    "fused": True,
}


def plain(value: Any) -> Any:
    """DictConfig/ListConfig -> dict/list, so hyperparameters stay primitives (``torch.load(weights_only=True)``).

    >>> plain(OmegaConf.create({"lr": 2e-4}))
    {'lr': 0.0002}
    """
    if OmegaConf.is_config(value):
        return OmegaConf.to_container(value, resolve=True)
    return value


def build(spec: OptimizerSpec | None, *args: Any) -> Any:
    """Call a ``_partial_`` Hydra config (dict with ``_target_``) or a plain callable with ``args`` (None: None)."""
    if spec is None:
        return None
    factory = instantiate(dict(spec), _convert_="all") if isinstance(spec, Mapping) else spec
    return factory(*args)


def with_hint_channels(generator: dict[str, Any], hints: HintSettings) -> dict[str, Any]:
    """``model.generator`` with ``in_channels`` set by ``model.hints.enabled`` (4 or 1); a contradicting value is an
    error that names both settings."""
    want = 4 if hints.enabled else 1
    given = generator.get("in_channels", want)
    check_input_channels(int(given))
    if int(given) != want:
        raise ValueError(
            f"model.generator.in_channels={given} but model.hints.enabled={hints.enabled}, which needs {want}; leave "
            "in_channels to model.hints.enabled (conf/model/pix2pix.yaml)"
        )
    # left out when it is the default, so that an automatic model's settings read as they always did
    return {**generator, "in_channels": want} if hints.enabled or "in_channels" in generator else generator


def with_judged_channels(discriminator: dict[str, Any], hints: HintSettings) -> dict[str, Any]:
    """``model.discriminator`` with ``in_channels`` set to what D judges: L and ab (3), and the hint map too (6)
    when ``model.hints.discriminator`` says so; a contradicting value is an error that names both settings."""
    want = 3 + (3 if hints.enabled and hints.discriminator else 0)
    given = discriminator.get("in_channels", want)
    if given != want:
        raise ValueError(
            f"model.discriminator.in_channels={given} but model.hints says D judges {want} channels "
            f"(L, ab{', hints' if want > 3 else ''}); leave it to model.hints (conf/model/pix2pix.yaml)"
        )
    return {**discriminator, "in_channels": want}


def optimizer_factories(
    optimizer_g: OptimizerSpec | None,
    optimizer_d: OptimizerSpec | None,
    scheduler_g: OptimizerSpec | None,
    scheduler_d: OptimizerSpec | None,
    lr_decay_epochs: int,
) -> dict[str, Any]:
    """The four factories by name (Adam as in Pix2Pix where an optimizer is not given); refuses two learning-rate
    schedules at once (``model.lr_decay_epochs`` and a scheduler)."""
    scheduler_g, scheduler_d = plain(scheduler_g), plain(scheduler_d)
    if lr_decay_epochs and (scheduler_g is not None or scheduler_d is not None):
        raise ValueError(
            f"model.lr_decay_epochs={lr_decay_epochs} and model.scheduler_g/scheduler_d both set a learning-rate "
            "schedule: keep one (model.lr_decay_epochs=0 or scheduler_g=null scheduler_d=null)"
        )
    return {
        "optimizer_g": plain(optimizer_g) if optimizer_g is not None else dict(DEFAULT_ADAM),
        "optimizer_d": plain(optimizer_d) if optimizer_d is not None else dict(DEFAULT_ADAM),
        "scheduler_g": scheduler_g,
        "scheduler_d": scheduler_d,
    }


def saved_factories(factories: Mapping[str, Any]) -> dict[str, Any]:
    """The factories a weights-only checkpoint can hold: the Hydra configs (dicts), not the callables."""
    return {k: v for k, v in factories.items() if v is None or isinstance(v, Mapping)}


def with_head(generator: dict[str, Any], head: str, temperature: float) -> dict[str, Any]:
    """``model.generator`` with the head's settings in it when ``model.head=classification`` (what
    :func:`~colorgan.nn.build_generator` builds from; a regression model's settings stay as they were). A
    generator's settings that already name a head (from a checkpoint) keep it."""
    if "head" in generator or head == "regression":
        return generator
    if head != "classification":
        raise ValueError(f"model.head must be regression or classification, got {head!r}")
    return {**generator, "head": head, "temperature": float(temperature)}
