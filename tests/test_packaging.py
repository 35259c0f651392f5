"""`pip install .` (not only -e) gives a working package: configs and demo photos ship inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers.runs import TINY, run_module

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_configs_and_demo_photos_and_trains(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheel_dir), str(ROOT)],
        check=True, timeout=600,
    )
    (wheel,) = wheel_dir.glob("colorgan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("colorgan/conf/train.yaml", "colorgan/conf/experiment/demo.yaml",
                     "colorgan/conf/experiment/sports.yaml", "colorgan/assets/LICENSE.md", "colorgan/train.py",
                     # the sweeper and launchers conf/hparams_search/optuna.yaml and conf/hydra/launcher/ name
                     "hydra_plugins/colorgan_cluster/optuna_sweeper.py",
                     "hydra_plugins/colorgan_cluster/submitit_launcher.py"):
        assert required in names, required
    assert sum(n.startswith("colorgan/assets/demo/train/") for n in names) >= 20
    assert all(any(n.startswith(f"colorgan/assets/demo/{split}/") for n in names) for split in ("val", "test"))

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(site), str(wheel)],
        check=True, timeout=600,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    out = work / "run"
    proc = run_module(
        "colorgan.train", "+experiment=demo", *TINY, "logger=csv", f"paths.output_dir={out}",
        cwd=work, env={"PYTHONPATH": str(site)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert str(site) in (out / "config.yaml").read_text()  # data.root resolved to the installed demo photos
    assert (out / "checkpoints" / "last.ckpt").is_file()
