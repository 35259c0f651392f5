"""Export the generator alone: ``python -m colorgan.export --ckpt PATH --output FILE --format FORMAT``.

Formats:

* ``weights``: a small file with the generator's settings, training size and weights (tensors and primitives only,
  so it loads with ``weights_only=True``). ``colorgan-colorize --ckpt`` and ``Colorizer.from_checkpoint`` take it.
* ``onnx``: for ONNX Runtime and other runtimes (needs ``pip install 'colorgan[onnx]'``). Input ``L``
  ``(B, 1, H, W)``, output ``ab`` ``(B, 2, H, W)``, batch, height and width free (multiples of the generator's
  size multiple: ``2**num_downs`` for the U-Net, 32 for the ResNet U-Net; the metadata says which).
* ``torchscript``: for C++ (libtorch) and other programs without colorgan. PyTorch has deprecated TorchScript in
  favour of ``torch.export``; prefer ONNX for new deployments.

A generator trained with colour hints (``model.hints.enabled``) takes a second input, ``hints`` ``(B, 3, H, W)``:
the normalised ab of the hinted pixels and a mask (1 on them, all zeros for no hints); the ONNX and TorchScript
files then have two inputs, ``L`` and ``hints``.

Every format computes ``ab = G(L)`` in the model's normalisation: ``L = L*/50 - 1`` and ``ab = ab*/110`` (CIE LAB,
D65, from sRGB). The ONNX file carries these facts in its metadata. After writing, the export is run once and
compared with the checkpoint's generator (``--no-verify`` skips that).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMATS = ("onnx", "torchscript", "weights")
SUFFIX_FORMATS = {
    ".onnx": "onnx", ".ts": "torchscript", ".torchscript": "torchscript", ".pt": "weights", ".pth": "weights",
}
DEFAULT_OPSET = 17
INPUT_NAMES = ["L", "hints"]  # a hinted generator's ONNX file takes both
VERIFY_TOLERANCE = 1e-4


class ExportError(RuntimeError):
    """An export could not be written or does not reproduce the checkpoint."""


class HintedGenerator(nn.Module):
    """A hinted generator with its two inputs apart, ``(L, hints) -> ab``: what the ONNX and TorchScript files of
    a hinted model compute."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, L: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
        return self.generator(torch.cat([L, hints], dim=1))


def _program(generator: nn.Module, in_channels: int) -> nn.Module:
    """What the ONNX and TorchScript exports run: the generator, or its two-input form for a hinted one."""
    return HintedGenerator(generator).eval() if in_channels > 1 else generator


def _probe_hints(batch: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A hint map for checking an export: random ab on a sparse random mask."""
    g = torch.Generator().manual_seed(seed)
    mask = (torch.rand(batch, 1, height, width, generator=g) < 0.05).float()
    return torch.cat([(torch.rand(batch, 2, height, width, generator=g) * 2 - 1) * mask, mask], dim=1)


def weights_dict(generator: nn.Module, generator_kwargs: dict[str, Any], image_size: int) -> dict[str, Any]:
    """The ``weights`` export: primitives and tensors that :func:`colorgan.checkpoints.reading.read_generator` reads."""
    from colorgan import __version__
    from colorgan.checkpoints.reading import GENERATOR_FORMAT, GENERATOR_FORMAT_VERSION

    return {
        "format": GENERATOR_FORMAT,
        "format_version": GENERATOR_FORMAT_VERSION,
        "colorgan_version": __version__,
        "generator": dict(generator_kwargs),
        "image_size": int(image_size),
        "state_dict": {k: v.detach().cpu().clone() for k, v in generator.state_dict().items()},
    }


def _write_weights(generator: nn.Module, kwargs: dict[str, Any], image_size: int, path: Path) -> None:
    torch.save(weights_dict(generator, kwargs, image_size), path)


def _write_torchscript(generator: nn.Module, example: tuple[torch.Tensor, ...], path: Path) -> None:
    with warnings.catch_warnings():
        # jit.trace is deprecated upstream, and warns that the shape check in forward() is traced away; both known.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(generator, example, check_trace=False)
    traced.save(str(path))


def _write_onnx(
    generator: nn.Module, example: tuple[torch.Tensor, ...], path: Path, opset: int, metadata: dict[str, str]
) -> None:
    try:
        import onnx
    except ImportError as err:
        raise ExportError("ONNX export needs the onnx package: pip install 'colorgan[onnx]'") from err
    with warnings.catch_warnings():
        # The TorchScript-based exporter is deprecated, but needs no extra packages and handles this plain CNN.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        inputs = INPUT_NAMES[: len(example)]
        axes = {0: "batch", 2: "height", 3: "width"}
        torch.onnx.export(
            generator,
            example,
            str(path),
            dynamo=False,
            input_names=inputs,
            output_names=["ab"],
            dynamic_axes={**{name: axes for name in inputs}, "ab": axes},
            opset_version=opset,
            do_constant_folding=True,
        )
    model = onnx.load(str(path))
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def _run_export(path: Path, fmt: str, x: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Run an exported generator on its inputs ``x`` (``(L,)`` or ``(L, hints)``) the way its users would."""
    if fmt == "weights":
        from colorgan.checkpoints.reading import load_generator

        return load_generator(path)[0](torch.cat(x, dim=1))
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(str(path))(*x)
    try:
        import onnxruntime as ort
    except ImportError as err:
        raise ExportError("checking the ONNX file needs onnxruntime: pip install 'colorgan[onnx]'") from err
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {name: t.numpy() for name, t in zip(INPUT_NAMES, x)}
    return torch.from_numpy(session.run(["ab"], feeds)[0])


def verify(path: Path, fmt: str, generator: nn.Module, x: torch.Tensor | tuple[torch.Tensor, ...]) -> float:
    """Largest absolute difference between the export's and the generator's ``ab`` on ``x`` (the generator's input,
    or its inputs ``(L, hints)`` apart for a hinted one).

    Raises:
        ExportError: when it is over :data:`VERIFY_TOLERANCE`.
    """
    x = x if isinstance(x, tuple) else (x,)
    with torch.inference_mode():
        expected = generator(torch.cat(x, dim=1))
        got = _run_export(path, fmt, x)
    diff = float((got.float() - expected.float()).abs().max())
    if not diff <= VERIFY_TOLERANCE:
        raise ExportError(f"'{path}' does not reproduce the checkpoint's generator: max |difference| {diff:.2e}")
    return diff


def export(
    ckpt: str | os.PathLike,
    output: str | os.PathLike,
    fmt: str,
    *,
    size: int | None = None,
    opset: int = DEFAULT_OPSET,
    overwrite: bool = False,
    check: bool = True,
    temperature: float | None = None,
) -> dict[str, Any]:
    """Export the generator of ``ckpt`` (a training checkpoint or a ``weights`` export) to ``output``.

    Args:
        fmt: ``onnx`` | ``torchscript`` | ``weights``.
        size: side of the example input used for tracing and the check (default: the training size).
        overwrite: replace ``output`` if it exists.
        check: run the export once and compare it with the generator.
        temperature: a classification model's vividness, written into the export (ONNX and TorchScript decode at
            it; a ``weights`` export keeps it as its default); None: the model's own. A regression model refuses it.

    Returns:
        ``{"path", "format", "image_size", "max_abs_diff"}`` (``max_abs_diff`` is ``None`` without ``check``).
    """
    from colorgan.checkpoints.reading import load_generator
    from colorgan.inference.colorizer import round_size

    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    output = Path(output).expanduser()
    if output.exists() and not overwrite:
        raise ExportError(f"'{output}' already exists; pass --overwrite to replace it")
    generator, weights = load_generator(ckpt)
    settings = dict(weights.generator)
    if temperature is not None:
        from colorgan.nn.classification import set_temperature

        set_temperature(generator, temperature)
        settings["temperature"] = float(temperature)
    in_channels = int(weights.generator.get("in_channels", 1))
    side = round_size(size or weights.image_size, generator.divisor)
    example = (torch.zeros(1, 1, side, side),) + ((_probe_hints(1, side, side),) if in_channels > 1 else ())
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.part")
    metadata = {
        "colorgan.image_size": str(weights.image_size),
        "colorgan.size_multiple": str(generator.divisor),
        "colorgan.input": "L: CIE L* (sRGB, D65) / 50 - 1, in [-1, 1], shape (B, 1, H, W)",
        "colorgan.output": "ab: CIE a*, b* / 110, in [-1, 1], shape (B, 2, H, W)",
    }
    if in_channels > 1:
        metadata["colorgan.hints"] = (
            "hints: CIE a*, b* / 110 of the hinted pixels (0 elsewhere) and a mask (1 on them), shape (B, 3, H, W); "
            "all zeros: no hints"
        )
    try:
        with torch.no_grad():
            if fmt == "weights":
                _write_weights(generator, settings, weights.image_size, tmp)
            elif fmt == "torchscript":
                _write_torchscript(_program(generator, in_channels), example, tmp)
            else:
                _write_onnx(_program(generator, in_channels), example, tmp, opset, metadata)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    diff = None
    if check:
        # A different size from the traced one, to catch sizes baked into the export.
        probe = torch.randn(2, 1, side * 2, side, generator=torch.Generator().manual_seed(0)).clamp_(-1, 1)
        inputs = (probe,) + ((_probe_hints(2, side * 2, side, seed=1),) if in_channels > 1 else ())
        diff = verify(output, fmt, generator, inputs)
    return {"path": str(output), "format": fmt, "image_size": weights.image_size, "max_abs_diff": diff}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorgan-export",
        description="Export the generator of a colorgan checkpoint on its own, for colorgan-colorize (weights) or "
        "for other runtimes (onnx, torchscript).",
    )
    parser.add_argument("--ckpt", required=True, metavar="PATH", help="training checkpoint (.ckpt) to export")
    parser.add_argument("--output", "-o", required=True, metavar="FILE", help="file to write")
    parser.add_argument(
        "--format", choices=FORMATS, default=None,
        help="default: from the output's suffix (.onnx, .ts/.torchscript, .pt/.pth = weights)",
    )
    parser.add_argument("--size", type=int, default=None, metavar="N", help="example input side (default: trained)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    parser.add_argument(
        "--temperature", type=float, default=None, metavar="T",
        help="for a model trained with model.head=classification: the vividness the export decodes at, from 0 (vivid) "
        "to 1 (safe); default: the model's own",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    parser.add_argument("--no-verify", action="store_true", help="do not run the export to compare it")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point (``colorgan-export``)."""
    from colorgan.checkpoints.reading import CheckpointError

    parser = build_parser()
    args = parser.parse_args(argv)
    fmt = args.format or SUFFIX_FORMATS.get(Path(args.output).suffix.lower())
    if fmt is None:
        parser.error(f"cannot tell the format from '{args.output}'; pass --format {'|'.join(FORMATS)}")
    try:
        info = export(
            args.ckpt, args.output, fmt, size=args.size, opset=args.opset, overwrite=args.overwrite,
            check=not args.no_verify, temperature=args.temperature,
        )
    except (CheckpointError, ExportError, ValueError) as err:
        print(f"colorgan-export: error: {err}", file=sys.stderr)
        return 2
    diff = info["max_abs_diff"]
    checked = "" if diff is None else f"; matches the checkpoint (max |diff| {diff:.1e})"
    print(f"Wrote {info['path']} ({fmt}, trained at {info['image_size']} px){checked}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
