"""scripts/torchrun.sh on machines without what it needs: it says why it stops, instead of the shell's bare 127."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "torchrun.sh"


def tools(folder: Path, fakes: dict[str, str]) -> dict[str, str]:
    """An environment whose PATH holds only the few programs the script uses, plus ``fakes`` (name -> script)."""
    folder.mkdir()
    for name in ("bash", "dirname", "date", "grep", "wc"):
        os.symlink(shutil.which(name), folder / name)
    for name, body in fakes.items():
        (folder / name).write_text(f"#!{shutil.which('bash')}\n{body}\n")
        (folder / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("NPROC_PER_NODE",)}
    env["PATH"] = str(folder)
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("bash"), str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_without_nvidia_smi_it_says_why_it_stops(tmp_path: Path) -> None:
    done = run(tools(tmp_path / "bin", {}), "+experiment=demo")
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "nvidia-smi is not installed" in done.stderr and "NPROC_PER_NODE=" in done.stderr, done.stderr
    assert "trainer.accelerator=cpu" in done.stderr


def test_without_a_gpu_it_says_so(tmp_path: Path) -> None:
    env = tools(tmp_path / "bin", {"nvidia-smi": "echo 'NVIDIA-SMI has failed: no driver' >&2; exit 9"})
    done = run(env)
    assert done.returncode == 2 and "no GPU found" in done.stderr, (done.returncode, done.stderr)


@pytest.mark.parametrize(("nproc", "expected"), [(None, "2"), ("3", "3")])
def test_it_starts_one_process_per_gpu_or_as_many_as_asked(tmp_path: Path, nproc: str | None, expected: str) -> None:
    gpus = "echo 'GPU 0: NVIDIA H100 (UUID: a)'; echo 'GPU 1: NVIDIA H100 (UUID: b)'"
    env = tools(tmp_path / "bin", {"nvidia-smi": gpus, "torchrun": 'echo "torchrun $*"'})
    if nproc:
        env["NPROC_PER_NODE"] = nproc
    done = run(env, "+experiment=demo")
    assert done.returncode == 0, done.stderr
    assert f"--nproc-per-node {expected} " in done.stdout and f"trainer.devices={expected}" in done.stdout, done.stdout


def test_without_torchrun_it_says_so(tmp_path: Path) -> None:
    env = tools(tmp_path / "bin", {})
    env["NPROC_PER_NODE"] = "2"
    done = run(env)
    assert done.returncode == 2 and "torchrun is not on PATH" in done.stderr, done.stderr
