"""Reading colorgan checkpoints safely (``weights_only=True``) with errors that name the file.

Two kinds of file hold a generator: a Lightning training checkpoint (``.ckpt``, written by ``colorgan-train``) and
the generator-only ``weights`` export of ``colorgan-export`` (:data:`GENERATOR_FORMAT`). Both hold tensors and
primitives only. :func:`read_generator` reads either.
"""

from __future__ import annotations

import inspect
import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from colorgan.nn import PatchDiscriminator, build_generator, generator_settings

# The marker of a generator exported with `colorgan-export --format weights` (value of the "format" key).
GENERATOR_FORMAT = "colorgan-generator"
GENERATOR_FORMAT_VERSION = 1


CHECKPOINT_KEY = "colorgan"  # marks a training checkpoint as colorgan's; holds the format version and counters
CHECKPOINT_FORMAT = 1


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
    if path.stat().st_size:
        _refuse_program_exports(path)  # before the byte checks: an ONNX file is no zip archive either
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


def _refuse_program_exports(path: Path) -> None:
    """TorchScript and ONNX files are programs for other runtimes, not weights: say so instead of a pickle error."""
    kind = None
    if path.suffix.lower() == ".onnx":
        kind = "an ONNX model"
    elif zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                if any(name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist()):
                    kind = "a TorchScript program"
        except (zipfile.BadZipFile, OSError):
            return  # torch.load below gives the verdict
    if kind:
        raise CheckpointError(
            f"'{path}' is {kind}, for running the generator in other runtimes; colorgan reads a training "
            "checkpoint (.ckpt) or a generator exported with `colorgan-export --format weights`"
        )


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


# settings that do not change the weights' shapes: a checkpoint resumes under another value (`weights` is where a
# new run's encoder starts; a resumed run takes its weights from the checkpoint)
_SHAPE_NEUTRAL = ("dropout", "weights")


def _discriminator_settings(config: dict[str, Any]) -> dict[str, Any]:
    params = inspect.signature(PatchDiscriminator.__init__).parameters.values()
    return {**{p.name: p.default for p in params if p.default is not inspect.Parameter.empty}, **config}


def architecture_mismatch(ckpt: dict[str, Any], hparams: dict[str, Any]) -> list[str]:
    """Settings of ``generator`` / ``discriminator`` that differ between a checkpoint and a model, as
    ``model.generator.ngf: checkpoint 64, config 16`` lines.

    A setting one side leaves out counts as its default (``name: unet`` for checkpoints written before there was a
    choice of generator), so older checkpoints still resume.
    """
    saved = ckpt.get("hyper_parameters", {})
    lines = []
    for part, complete in (("generator", generator_settings), ("discriminator", _discriminator_settings)):
        try:
            a, b = complete(dict(saved.get(part) or {})), complete(dict(hparams.get(part) or {}))
        except ValueError as err:  # an unknown generator name
            lines.append(f"model.{part}: {err}")
            continue
        if part == "generator" and a["name"] != b["name"]:
            lines.append(f"model.generator.name: checkpoint {a['name']!r}, config {b['name']!r}")
            continue  # the other settings of two different networks are not comparable
        for key in sorted(set(a) | set(b)):
            if key in _SHAPE_NEUTRAL:
                continue
            if a.get(key) != b.get(key):
                lines.append(f"model.{part}.{key}: checkpoint {a.get(key)!r}, config {b.get(key)!r}")
    return lines


def is_generator_export(ckpt: dict[str, Any]) -> bool:
    """True for a generator exported with ``colorgan-export --format weights``."""
    return ckpt.get("format") == GENERATOR_FORMAT


@dataclass(frozen=True)
class GeneratorWeights:
    """Everything needed to rebuild a trained generator.

    Attributes:
        generator: the ``model.generator`` settings (:func:`~colorgan.nn.build_generator`; no ``name``: the U-Net).
        image_size: the side of the square photos it was trained on.
        state_dict: the generator's own weights (no ``generator.`` prefix).
        source: ``"checkpoint"`` (a Lightning training checkpoint) or ``"export"`` (a ``weights`` export).
        averaged: the weights are the moving average of a run with ``model.ema_decay`` (a checkpoint's
            ``generator_ema.module.*``), not its last raw generator.
    """

    generator: dict[str, Any]
    image_size: int
    state_dict: dict[str, torch.Tensor]
    source: str
    averaged: bool = False


# Where a training checkpoint keeps the generator's moving average (model.ema_decay): an AveragedModel's module.
EMA_PREFIX = "generator_ema.module."


def read_generator(path: str | Path, map_location: str | torch.device = "cpu") -> GeneratorWeights:
    """Read the generator of a colorgan training checkpoint or of a ``weights`` export, weights-only.

    A checkpoint of a run with ``model.ema_decay`` gives the generator's moving average (what validation scored),
    any other checkpoint its generator.

    Raises:
        CheckpointError: the file is unreadable, unsafe, or neither kind of colorgan file; the message names it.
    """
    ckpt = read_checkpoint(path, map_location)
    if is_generator_export(ckpt):
        version = ckpt.get("format_version")
        if not isinstance(version, int) or version > GENERATOR_FORMAT_VERSION:
            raise CheckpointError(
                f"'{path}' is a colorgan generator export of format version {version!r}; this colorgan reads "
                f"version {GENERATOR_FORMAT_VERSION} and older. Upgrade colorgan (pip install -U colorgan)."
            )
        try:
            return GeneratorWeights(
                generator=dict(ckpt["generator"]),
                image_size=int(ckpt["image_size"]),
                state_dict=dict(ckpt["state_dict"]),
                source="export",
            )
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"'{path}' is a damaged colorgan generator export (missing {err})") from err
    if not is_colorgan_checkpoint(ckpt):
        keys = ", ".join(sorted(map(str, ckpt))[:6]) or "none"
        raise CheckpointError(
            f"'{path}' is not a colorgan checkpoint: it is neither a training checkpoint (with generator weights "
            "and hyper_parameters, written by colorgan-train) nor a generator exported with `colorgan-export "
            f"--format weights`. Its top-level keys are: {keys}"
        )
    hparams = ckpt["hyper_parameters"]
    averaged = any(k.startswith(EMA_PREFIX) for k in ckpt["state_dict"])
    prefix = EMA_PREFIX if averaged else "generator."
    return GeneratorWeights(
        generator=dict(hparams.get("generator") or {}),
        image_size=int(hparams.get("image_size", 256)),
        state_dict={k[len(prefix):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)},
        source="checkpoint",
        averaged=averaged,
    )


def load_generator(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[nn.Module, GeneratorWeights]:
    """:func:`read_generator`, then the generator rebuilt (whichever network it is) with its weights, in eval mode.

    Raises:
        CheckpointError: as :func:`read_generator`, or when the settings and the weights do not fit together.
    """
    weights = read_generator(path, map_location)
    try:
        # the trained weights come from the file: a pretrained-weights setting is not read again
        generator = build_generator(weights.generator, pretrained=False)
        generator.load_state_dict(weights.state_dict)
    except (TypeError, ValueError, RuntimeError) as err:
        raise CheckpointError(
            f"'{path}': its generator settings {weights.generator} do not fit its weights ({err})"
        ) from err
    return generator.eval(), weights
