"""A hinted model from the command line: colorgan-colorize --hints, and exports with the hint input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.colorize import main as colorize_main
from colorgan.export import export
from colorgan.inference.colorizer import Colorizer

from helpers.photos import synthetic_photo


@pytest.fixture
def hinted_ckpt(tiny_hinted_ckpt: Path) -> Path:
    return tiny_hinted_ckpt


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "photo.jpg"
    path.parent.mkdir()
    Image.fromarray(synthetic_photo(np.random.default_rng(3), 90, 130)).save(path)  # 130 wide, 90 high
    return path


def _hints(tmp_path: Path, *points: dict) -> Path:
    path = tmp_path / "hints.json"
    path.write_text(json.dumps({"points": list(points)}))
    return path


@pytest.mark.slow
def test_colorize_with_and_without_points(hinted_ckpt, photo, tmp_path, capsys):
    hints = _hints(tmp_path, {"x": 120, "y": 80, "color": "#2a5caa", "size": 5}, {"x": 10, "y": 10, "color": "#f00"})
    out = tmp_path / "out"
    assert colorize_main([str(photo), "--ckpt", str(hinted_ckpt), "-o", str(out), "--hints", str(hints)]) == 0
    with Image.open(out / "photo.jpg") as hinted:
        assert hinted.size == (130, 90)
    plain = tmp_path / "plain"
    assert colorize_main([str(photo), "--ckpt", str(hinted_ckpt), "-o", str(plain)]) == 0
    # from Python, the same points move the colours (the hint channels' weights are not zero after training)
    colorizer = Colorizer.from_checkpoint(hinted_ckpt, device="cpu")
    assert colorizer.takes_hints
    with_points, without = np.asarray(colorizer(photo, hints=hints)), np.asarray(colorizer(photo))
    assert not np.array_equal(with_points, without)
    assert np.array_equal(without, np.asarray(Colorizer.from_checkpoint(hinted_ckpt, device="cpu")(photo)))


def test_colorize_hints_errors_name_the_file_and_the_point(hinted_ckpt, tiny_ckpt, photo, tmp_path, capsys):
    hints = _hints(tmp_path, {"x": 5, "y": 5, "color": "#2a5caa"}, {"x": 130, "y": 5, "color": "#2a5caa"})
    out = tmp_path / "out"
    assert colorize_main([str(photo), "--ckpt", str(hinted_ckpt), "-o", str(out), "--hints", str(hints)]) == 1
    err = capsys.readouterr().err
    assert "hints.json" in err and "point 2 (x=130, y=5) is outside the photo, which is 130x90" in err
    assert colorize_main([str(photo), "--ckpt", str(tiny_ckpt), "-o", str(out), "--hints", str(hints)]) == 2
    assert "trained without colour hints" in capsys.readouterr().err
    bad = _hints(tmp_path, {"x": 5, "y": 5, "color": "blueish"})
    assert colorize_main([str(photo), "--ckpt", str(hinted_ckpt), "-o", str(out), "--hints", str(bad)]) == 2
    assert "point 1: color 'blueish' is not a colour" in capsys.readouterr().err
    other = photo.with_name("other.jpg")
    other.write_bytes(photo.read_bytes())
    assert colorize_main([str(photo.parent), "--ckpt", str(hinted_ckpt), "-o", str(out), "--hints", str(hints)]) == 2
    assert "holds points for one photo, but the inputs are 2 file(s)" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "weights"])
def test_a_hinted_generator_exports_with_its_hint_input(hinted_ckpt, photo, tmp_path, fmt):
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    path = tmp_path / f"g.{ {'onnx': 'onnx', 'torchscript': 'ts', 'weights': 'pt'}[fmt] }"
    info = export(hinted_ckpt, path, fmt)  # runs the file on (L, hints) at another size and compares
    assert info["max_abs_diff"] <= 1e-4
    L_ = torch.rand(1, 1, 64, 64) * 2 - 1
    hints = torch.zeros(1, 3, 64, 64)
    hints[:, :, 10:15, 20:25] = torch.tensor([0.3, -0.4, 1.0]).view(1, 3, 1, 1)
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["L", "hints"]
        run = lambda h: session.run(["ab"], {"L": L_.numpy(), "hints": h.numpy()})[0]  # noqa: E731
        assert not np.allclose(run(hints), run(torch.zeros_like(hints)))
    elif fmt == "torchscript":
        program = torch.jit.load(str(path))
        assert not torch.equal(program(L_, hints), program(L_, torch.zeros_like(hints)))
    else:  # colorize runs from the exported file, with the points
        out = tmp_path / "out"
        points = _hints(tmp_path, {"x": 60, "y": 40, "color": "#2a5caa", "size": 9})
        assert colorize_main([str(photo), "--ckpt", str(path), "-o", str(out), "--hints", str(points)]) == 0
        assert Image.open(out / "photo.jpg").size == (130, 90)
