"""Reading colorgan checkpoints safely (``weights_only=True``) with errors that name the file."""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from colorgan.module import CHECKPOINT_KEY


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, or not a colorgan one. The message names the file."""


_ZIP_MAGIC = b"PK\x03\x04"  # torch.save has written zip archives since PyTorch 1.6


def _damage(path: Path) -> str | None:
    """What is wrong with ``path`` as a checkpoint, judged from its bytes alone; None when it looks whole."""
    if path.stat().st_size == 0:
        return "is empty (0 bytes); it was cut off while being written or copied"
    with path.open("rb") as f:
        head = f.read(len(_ZIP_MAGIC))
    if head != _ZIP_MAGIC:
        return "is not a PyTorch checkpoint (torch.save writes a zip archive; this file is something else)"
    if not zipfile.is_zipfile(path):
        return "is truncated (its zip archive is cut short); it was cut off while being written or copied"
    return None


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``torch.load(weights_only=True)``: tensors and primitives only, no code runs.

    Raises:
        CheckpointError: the file does not exist, is empty, truncated or corrupt, is no PyTorch file, holds pickled
            objects other than tensors and primitives (so it may run code), or is not a dict.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    damage = _damage(path)
    if damage:
        raise CheckpointError(f"checkpoint '{path}' {damage}")
    # `from None` below: the reason is in the message; the unpickler's own traceback would only bury it
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True, mmap=True)
    except pickle.UnpicklingError as err:
        refused = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
        what = f" such as {refused.group(1)}" if refused else ""
        raise CheckpointError(
            f"checkpoint '{path}' holds Python objects{what} that a weights-only load refuses to run; colorgan "
            "checkpoints hold tensors and primitives only, so this one did not come from colorgan"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise CheckpointError(
            f"checkpoint '{path}' is damaged and could not be read ({type(err).__name__}: {first_line})"
        ) from None
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
