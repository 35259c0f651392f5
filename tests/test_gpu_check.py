"""scripts/gpu_check.sh --cpu-smoke: the one-call check of the CUDA path runs every step, so it cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_gpu_check_runs_every_step_on_the_cpu(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--cpu-smoke"], capture_output=True,
                          text=True, timeout=900, env={**os.environ, "OUT": str(out)}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "summary.json").read_text())
    steps = report["steps"]
    assert report["smoke"] is True and list(steps) == [
        "gpu tests", "benchmark", "killed and resumed run", "ddp", "big photo"]
    assert {name: s["status"] for name, s in steps.items()} == {
        "gpu tests": "ok", "benchmark": "ok", "killed and resumed run": "ok", "ddp": "skipped", "big photo": "ok"}
    run = steps["killed and resumed run"]
    for counter in ("global_step", "optimizer_steps", "ema_updates"):
        assert run["resumed_to"][counter] > run["killed_at"][counter] > 0, counter
    assert run["same_wandb_run"] is True and run["cpu_resume_step"] > run["resumed_to"]["global_step"]
    assert (out / "colorized" / "camera_bw.jpg").is_file() and (out / "benchmark_eager.json").is_file()
    assert steps["big photo"]["megapixels"] == 1.0
    text = (out / "summary.txt").read_text()
    assert "colorgan GPU check on CPU" in text and text in proc.stdout


def test_without_a_gpu_the_full_check_says_how_to_run_the_smoke_mode(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh")], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "OUT": str(tmp_path)}, cwd=tmp_path)
    assert proc.returncode != 0 and "--cpu-smoke" in proc.stderr
