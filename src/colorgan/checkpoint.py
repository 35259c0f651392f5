"""Reading colorgan checkpoints safely (``weights_only=True``) with errors that name the file."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from colorgan.module import CHECKPOINT_KEY


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, or not a colorgan one. The message names the file."""


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)``: tensors and primitives only, no code runs.

    Raises:
        CheckpointError: the file does not exist, is truncated/corrupt, holds pickled objects other than tensors
            and primitives (so it may run code), or is not a dict.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint '{path}' is empty (0 bytes); it was probably cut off while being written")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True, mmap=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"checkpoint '{path}' holds Python objects that a weights-only load refuses to run; colorgan "
            f"checkpoints hold tensors and primitives only, so this one did not come from colorgan ({err})"
        ) from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(
            f"checkpoint '{path}' could not be read; it is truncated or not a PyTorch checkpoint "
            f"({type(err).__name__}: {err})"
        ) from err
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"checkpoint '{path}' holds a {type(ckpt).__name__}, not a checkpoint dict")
    return ckpt


def is_colorgan_checkpoint(ckpt: dict[str, Any]) -> bool:
    state = ckpt.get("state_dict")
    return (
        isinstance(state, dict)
        and any(k.startswith("generator.") for k in state)
        and isinstance(ckpt.get("hyper_parameters"), dict)
    )


def read_colorgan_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """:func:`read_checkpoint` plus a check that it is a colorgan Lightning checkpoint."""
    ckpt = read_checkpoint(path, map_location)
    if not is_colorgan_checkpoint(ckpt):
        keys = ", ".join(sorted(ckpt)[:6])
        raise CheckpointError(
            f"checkpoint '{path}' is not a colorgan training checkpoint (it has no generator weights and "
            f"hyper_parameters; its top-level keys are: {keys})"
        )
    return ckpt


def architecture_mismatch(ckpt: dict[str, Any], hparams: dict[str, Any]) -> list[str]:
    """Settings of ``generator`` / ``discriminator`` that differ between a checkpoint and a model, as
    ``model.generator.ngf: checkpoint 64, config 16`` lines."""
    saved = ckpt.get("hyper_parameters", {})
    lines = []
    for part in ("generator", "discriminator"):
        a, b = saved.get(part, {}) or {}, hparams.get(part, {}) or {}
        for key in sorted(set(a) | set(b)):
            if key in ("dropout",):
                continue  # does not change the weights' shapes
            if a.get(key) != b.get(key):
                lines.append(f"model.{part}.{key}: checkpoint {a.get(key)!r}, config {b.get(key)!r}")
    return lines


def colorgan_info(ckpt: dict[str, Any]) -> dict[str, Any]:
    return dict(ckpt.get(CHECKPOINT_KEY, {}))
