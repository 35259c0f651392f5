"""colorgan-export: each format reproduces the checkpoint's generator, and colorize accepts the weights file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.checkpoints.reading import GENERATOR_FORMAT, load_generator
from colorgan.colorize import main as colorize_main
from colorgan.export import ExportError, export
from colorgan.export import main as export_main
from colorgan.inference.colorizer import Colorizer

from helpers.photos import write_photos


def _probe(side: int) -> torch.Tensor:
    """A batch of two lightness images, taller than wide, at a size the export was not traced at."""
    return torch.rand(2, 1, 2 * side, side, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_onnx_matches_the_checkpoint(tiny_ckpt: Path, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    path = tmp_path / "g.onnx"
    info = export(tiny_ckpt, path, "onnx")
    assert info["max_abs_diff"] is not None and info["max_abs_diff"] < 1e-4
    generator, weights = load_generator(tiny_ckpt)
    x = _probe(weights.image_size)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["ab"], {"L": x.numpy()})[0]
    with torch.no_grad():
        expected = generator(x).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["colorgan.image_size"] == str(weights.image_size)


def test_torchscript_matches_the_checkpoint(tiny_ckpt: Path, tmp_path: Path) -> None:
    path = tmp_path / "g.ts"
    export(tiny_ckpt, path, "torchscript")
    generator, weights = load_generator(tiny_ckpt)
    x = _probe(weights.image_size)
    with pytest.warns(FutureWarning):  # TorchScript is deprecated upstream
        scripted = torch.jit.load(str(path))
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), generator(x))


def test_weights_file_is_weights_only_and_colorizes_the_same(tiny_ckpt: Path, tmp_path: Path) -> None:
    path = tmp_path / "generator.pt"
    assert export_main(["--ckpt", str(tiny_ckpt), "--output", str(path)]) == 0  # format from the suffix
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == GENERATOR_FORMAT and "discriminator.model.0.weight" not in str(list(raw["state_dict"]))
    assert path.stat().st_size < tiny_ckpt.stat().st_size  # no discriminator, no optimizer state
    photo = write_photos(tmp_path / "in", 1, size=(45, 38), ext="png")[0]
    from_ckpt = Colorizer.from_checkpoint(tiny_ckpt, device="cpu")(photo)
    from_export = Colorizer.from_checkpoint(path, device="cpu")(photo)
    np.testing.assert_array_equal(np.asarray(from_export), np.asarray(from_ckpt))
    out = tmp_path / "out"
    assert colorize_main([str(photo), "--ckpt", str(path), "-o", str(out)]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out / "photo_000.png")), np.asarray(from_ckpt))


def test_export_refuses_to_overwrite_and_colorize_refuses_program_files(tiny_ckpt: Path, tmp_path: Path, capsys):
    path = tmp_path / "g.onnx"
    path.write_bytes(b"precious")
    with pytest.raises(ExportError, match="already exists"):
        export(tiny_ckpt, path, "onnx")
    assert path.read_bytes() == b"precious"
    with pytest.raises(SystemExit):  # cannot tell the format of "g.bin"
        export_main(["--ckpt", str(tiny_ckpt), "--output", str(tmp_path / "g.bin")])
    assert "pass --format" in capsys.readouterr().err
    photo = write_photos(tmp_path / "in", 1)[0]
    assert colorize_main([str(photo), "--ckpt", str(path), "-o", str(tmp_path / "out")]) == 2
    assert "ONNX model" in capsys.readouterr().err
