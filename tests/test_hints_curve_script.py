"""scripts/hints_curve.sh, the README's points curve, end to end on tiny photos: three trainings and the curve."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch

from helpers.runs import SRC, TESTS_DIR, TINY

SCRIPT = TESTS_DIR.parent / "scripts" / "hints_curve.sh"


@pytest.mark.slow
def test_the_curve_script_compares_a_hinted_fine_tune_with_an_automatic_one(photo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "hints"
    tiny = [o for o in TINY if not o.startswith("trainer.max_epochs")]
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "WANDB_MODE": "disabled"}
    run = subprocess.run(
        ["bash", str(SCRIPT), str(photo_root), str(out), "1", "1", *tiny, "logger=csv"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    def ckpt(name: str) -> dict:
        return torch.load(out / name / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)

    start, automatic, hinted = ckpt("automatic"), ckpt("automatic_more"), ckpt("hinted")
    # the two fine-tunes start from the same automatic model and train the same steps, one of them with hints
    assert automatic["global_step"] == hinted["global_step"] > 0
    assert not automatic["hyper_parameters"]["hints"]["enabled"]
    assert hinted["hyper_parameters"]["hints"]["enabled"]
    for cfg in (automatic, hinted):
        model = cfg["hyper_parameters"]
        assert model["init_from"] == str(out / "automatic" / "checkpoints" / "last.ckpt")
        assert model["optimizer_g"]["lr"] == pytest.approx(1e-3) and model["l1_warmup_epochs"] >= 10**6
    assert start["global_step"] > 0

    curve = json.loads((out / "curve" / "hints_curve.json").read_text())
    assert curve["points"] == [0, 1, 2, 5, 10, 20, 50, 100]
    assert Path(curve["baseline"]).resolve() == (out / "automatic_more" / "checkpoints" / "last.ckpt").resolve()
    assert "l1_ab" in curve["automatic"] and (out / "curve" / "hints_curve.png").stat().st_size > 0
