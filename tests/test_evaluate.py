"""colorgan.evaluate: finite metrics next to a gray baseline, metrics.json, the sample grid, the FID note."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PIL import Image

from colorgan.evaluate import BASELINE_ROW, LIFT_ROW, MODEL_ROW, evaluate, fid_unavailable

from helpers.runs import run_module

METRICS = ("psnr", "ssim", "l1_ab", "colorfulness", "colorfulness_true", "colorfulness_gap")


@pytest.fixture
def compose_eval(tmp_path: Path):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from colorgan.config import config_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        yield lambda *overrides: compose(
            "evaluate",
            overrides=[f"paths.output_dir={tmp_path / 'eval'}", f"paths.root_dir={tmp_path}", "data.num_workers=0",
                       "device=cpu", *overrides],
        )
    GlobalHydra.instance().clear()


def test_evaluate_reports_model_and_gray_baseline(compose_eval, tiny_ckpt: Path, photo_root: Path, capsys) -> None:
    cfg = compose_eval(f"ckpt_path={tiny_ckpt}", f"data.root={photo_root}", "num_grid_images=3")
    result = evaluate(cfg)
    assert result["photos"] == 8  # photo_root/test
    for row in (MODEL_ROW, BASELINE_ROW):
        for name in METRICS:
            assert math.isfinite(result[row][name]), f"{row}.{name}"
    baseline = result[BASELINE_ROW]
    assert baseline["colorfulness"] < 1.0  # gray is gray
    assert baseline["l1_ab"] > 0.01  # and the truth is not
    assert baseline["colorfulness_true"] == pytest.approx(result[MODEL_ROW]["colorfulness_true"])
    assert result[LIFT_ROW]["l1_ab"] == pytest.approx(result[MODEL_ROW]["l1_ab"] - baseline["l1_ab"])
    assert result["image_size"] == 64  # the checkpoint's training size

    out = Path(cfg.paths.output_dir)
    assert json.loads((out / "metrics.json").read_text())[BASELINE_ROW] == pytest.approx(baseline)
    grid = Image.open(out / "samples.png")
    assert grid.height > 3 * 64 and grid.width > 3 * 64  # 3 rows (gray | colorized | truth) of 3 photos
    printed = capsys.readouterr().out
    assert "gray_baseline" in printed and "lift" in printed
    assert ("fid" in result[MODEL_ROW]) != bool(result["fid_note"])
    if result["fid_note"]:
        assert result["fid_note"] in printed


def test_split_all_takes_every_photo(compose_eval, tiny_ckpt: Path, photo_root: Path) -> None:
    result = evaluate(compose_eval(f"ckpt_path={tiny_ckpt}", f"data.root={photo_root}", "split=all", "fid=false"))
    assert result["photos"] == 28  # train 16, val 4, test 8
    assert result["fid_note"] == "FID skipped: fid=false"


def test_fid_is_skipped_without_weights_and_never_downloads(tmp_path: Path) -> None:
    weights, note = fid_unavailable(tmp_path / "missing.pth")
    assert weights is None
    assert note.startswith("FID skipped:") and ("torch-fidelity is not installed" in note or "missing.pth" in note)


def test_command_line(tiny_ckpt: Path, photo_root: Path, tmp_path: Path) -> None:
    proc = run_module(
        "colorgan.evaluate", f"ckpt_path={tiny_ckpt}", f"data.root={photo_root}", "data.num_workers=0",
        f"paths.output_dir={tmp_path / 'run'}", "device=cpu", cwd=tmp_path, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "gray_baseline" in proc.stdout
    assert (tmp_path / "run" / "metrics.json").is_file()
