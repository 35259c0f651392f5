"""``model.init_from``: a new run starts from the networks of another run's checkpoint.

The use it is made for: switch colour hints on for a model trained without them (Zhang et al. 2017 train the
automatic model first, then fine-tune it with hints). The checkpoint's generator (its moving average, when it has
one: what that run's users got) and its discriminator are loaded; where this model takes more input channels
(hints), the first convs are widened with zero weights (:func:`colorgan.nn.hints.widen_state_dict`), so the
generator's output without hints starts exactly as the checkpoint's. Optimizer states, epochs and counters are
not taken: this is a new run. Every other architecture setting must match the checkpoint's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from torch import nn
from torch.optim.swa_utils import AveragedModel

from colorgan.checkpoints.reading import (
    CheckpointError,
    architecture_mismatch,
    read_colorgan_checkpoint,
    read_generator,
)
from colorgan.nn.hints import widen_state_dict

log = logging.getLogger(__name__)

# settings that may differ between the checkpoint and the model: the input channels are widened
_WIDENED = ("in_channels",)


def init_from_checkpoint(
    path: str,
    hparams: Mapping[str, Any],
    generator: nn.Module,
    discriminator: nn.Module,
    generator_ema: AveragedModel | None = None,
) -> None:
    """Load the generator and discriminator of the training checkpoint ``path`` into the networks of a new run.

    Args:
        path: the training checkpoint (``model.init_from``).
        hparams: the new model's hyperparameters (``ColorGAN.hparams``), compared with the checkpoint's.
        generator, discriminator: the new model's networks, loaded in place.
        generator_ema: the new model's moving average of the generator, if it keeps one: it starts from the same
            weights as ``generator``.

    Raises:
        CheckpointError: the file is not a readable colorgan training checkpoint, or its networks differ from the
            model's in more than their input channels; the message names the file, the settings and what to do.
    """
    ckpt = read_colorgan_checkpoint(path)
    diff = [
        line for line in architecture_mismatch(ckpt, dict(hparams))
        if line.split(":")[0].rsplit(".", 1)[-1] not in _WIDENED
    ]
    if diff:
        raise CheckpointError(
            f"model.init_from='{path}': its networks differ from this config's in more than the input channels:\n  "
            + "\n  ".join(diff)
            + "\nUse the checkpoint's model settings (see its run's config.yaml), with model.hints as you want them."
        )
    weights = read_generator(path)
    loaded = [_load(generator, weights.state_dict, "generator", path)]
    if generator_ema is not None:
        _load(generator_ema.module, weights.state_dict, "generator", path)
    state = ckpt["state_dict"]
    d_state = {k.removeprefix("discriminator."): v for k, v in state.items() if k.startswith("discriminator.")}
    loaded.append(_load(discriminator, d_state, "discriminator", path))
    widened = [w for part in loaded for w in part]
    log.info(
        "The networks start from model.init_from=%s (%s generator)%s", path,
        "the moving average of its" if weights.averaged else "its",
        f"; widened with zeros: {', '.join(widened)}" if widened else "",
    )


def _load(module: nn.Module, state: Mapping[str, Any], part: str, path: str) -> list[str]:
    own = module.state_dict()
    state, widened = widen_state_dict(state, own)
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"model.init_from='{path}': its {part} does not fit this model's ({first})") from None
    return [f"{part}.{k}" for k in widened]
