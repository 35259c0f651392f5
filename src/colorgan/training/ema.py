"""The generator's exponential moving average (EMA): the weights every output of a trained model comes from.

colorgan keeps it as a :class:`torch.optim.swa_utils.AveragedModel` of the generator (so a checkpoint holds it as
``generator_ema.n_averaged`` and ``generator_ema.module.*``) and updates it after each generator step with
:func:`update_ema`, which computes what ``AveragedModel.update_parameters`` with ``get_ema_multi_avg_fn(decay)``
computes, but on the device only, and not at all after a step that was skipped as non-finite.

Why not Lightning's ``EMAWeightAveraging`` callback: it averages the whole LightningModule, the discriminator
included (whose average nothing uses), and it counts Lightning's ``global_step``, which rises by 2 per batch here
(two optimizers, manual optimization): its ``update_every_n_steps`` then means half of what it says, and with an
even value it never sees the step it waits for.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

log = logging.getLogger(__name__)


def generator_ema(generator: nn.Module, decay: float) -> AveragedModel:
    """An EMA copy of ``generator`` (``0 < decay < 1``, e.g. 0.999), which no optimizer and no backward reaches.

    ``use_buffers=True``: the BatchNorm running statistics are averaged along with the weights. Without it the
    average would carry the live generator's statistics, which belong to the latest weights and not to the averaged
    ones; the outputs of the EMA would then be normalised with the wrong means and variances.
    """
    if not 0.0 < decay < 1.0:
        raise ValueError(f"model.ema_decay must be between 0 and 1 (0 turns the EMA off), got {decay}")
    ema = AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    # No gradients: DDP would otherwise wait for gradients of these parameters that never come.
    ema.requires_grad_(False)
    return ema


def _pairs(ema: AveragedModel, model: nn.Module) -> list[tuple[Tensor, Tensor]]:
    averaged = [*ema.module.parameters(), *ema.module.buffers()]
    current = [*model.parameters(), *model.buffers()]
    if len(averaged) != len(current):
        raise ValueError(f"the EMA holds {len(averaged)} tensors but the generator {len(current)}")
    return list(zip(averaged, current))


@torch.no_grad()
def update_ema(ema: AveragedModel, model: nn.Module, decay: float, skipped: Tensor | None = None) -> None:
    """Move the average one step towards ``model``: ``ema = decay * ema + (1 - decay) * model``.

    The first update copies ``model`` (``n_averaged`` is 0), as ``AveragedModel.update_parameters`` does; integer
    buffers (BatchNorm's ``num_batches_tracked``) are copied, not averaged. Where ``skipped`` (a 0-dim device tensor,
    nonzero for a generator step skipped as non-finite) is set, nothing changes, ``n_averaged`` included.

    Unlike ``update_parameters``, which reads ``n_averaged`` on the host twice per call, this never waits for the
    device: the weight of the new weights is a device tensor, ``0`` after a skipped step.
    """
    n = ema.n_averaged
    device = n.device
    keep = torch.ones((), device=device) if skipped is None else (skipped.to(device) == 0).float()
    weight = torch.where(n == 0, torch.ones((), device=device), torch.full((), 1.0 - decay, device=device)) * keep
    floats: dict[torch.dtype, tuple[list[Tensor], list[Tensor]]] = {}
    for averaged, current in _pairs(ema, model):
        current = current.detach().to(averaged.device)
        if averaged.is_floating_point():
            group = floats.setdefault(averaged.dtype, ([], []))
            group[0].append(averaged.detach())
            group[1].append(current.to(averaged.dtype))
        else:
            averaged.copy_(torch.where(keep > 0, current, averaged))
    for dtype, (averaged_list, current_list) in floats.items():
        # a 0-dim tensor weight keeps the step on the device; torch's stubs list only number or per-tensor weights
        torch._foreach_lerp_(averaged_list, current_list, weight.to(dtype))  # type: ignore[call-overload,unused-ignore]
    n.add_(keep.to(n.dtype))


def start_from(checkpoint_state: dict[str, Any], ema: AveragedModel, prefix: str = "generator_ema.") -> list[str]:
    """Fill a checkpoint's ``state_dict`` that has no EMA with one that starts at its generator's weights.

    For switching ``model.ema_decay`` on when resuming a run that trained without it: the average starts from the
    checkpoint's generator (``n_averaged = 1``). Returns the keys added.
    """
    added = []
    for key, value in ema.state_dict().items():
        full = prefix + key
        if key == "n_averaged":
            checkpoint_state[full] = torch.ones_like(value)
        else:
            checkpoint_state[full] = checkpoint_state["generator." + key.removeprefix("module.")].clone()
        added.append(full)
    return added


def match_checkpoint(state: dict[str, Any], ema: AveragedModel | None, decay: float) -> None:
    """Let a checkpoint's ``state_dict`` written with the EMA switched the other way load into a model whose
    average is ``ema`` (None: it keeps none; ``decay``: its ``model.ema_decay``), changing ``state`` in place.

    A missing average starts from the checkpoint's generator (:func:`start_from`); an average this model does not
    keep is left out. Both say so in the log.
    """
    saved = [k for k in state if k.startswith("generator_ema.")]
    if ema is not None and not saved:
        start_from(state, ema)
        log.warning(
            "model.ema_decay=%g, but the checkpoint holds no moving average of the generator: the average starts "
            "from the checkpoint's generator weights",
            decay,
        )
    elif ema is None and saved:
        for key in saved:
            del state[key]
        log.warning(
            "model.ema_decay=0: the checkpoint's moving average of the generator is left out; training goes on "
            "and outputs come from the generator itself"
        )
