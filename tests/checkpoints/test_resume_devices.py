"""Resuming on another device or precision: weights, optimizer state and step counter come back exactly, and a
resumed run keeps logging to the same W&B run.

The CPU tests always run. ``test_checkpoint_moves_between_cpu_and_cuda`` needs a CUDA device and is skipped
elsewhere; where there is one it trains on one side (CPU fp32 / CUDA bf16-mixed) and resumes on the other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

from colorgan.train import train
from colorgan.training.loggers import WANDB_ID_FILE

from helpers.runs import SRC, run_module

TESTS = Path(__file__).resolve().parents[1]

CPU_FP32 = ["trainer.accelerator=cpu", "trainer.precision=32-true"]
GPU_BF16 = ["trainer.accelerator=gpu", "trainer.precision=bf16-mixed"]
STEPS_PER_EPOCH = 4  # TINY: 2 batches, 2 optimizer steps (D and G) each


def _train_one_epoch(compose_cfg, tmp_path: Path, output: str, *overrides: str) -> tuple[Path, dict[str, Any]]:
    """Train one epoch into ``tmp_path/output``; return its last.ckpt and what that file held before any resume."""
    train(compose_cfg(*overrides, "trainer.max_epochs=1", output=output))
    last = tmp_path / output / "checkpoints" / "last.ckpt"
    return last, torch.load(last, map_location="cpu", weights_only=True)


def _resume(compose_cfg, tmp_path: Path, ckpt_path: str, output: str, *overrides: str) -> tuple[dict, dict]:
    """Train to the end of epoch 2 from ``ckpt_path``; return the probe's records at train start and end."""
    probe = tmp_path / "probe"
    probe_overrides = ["+callbacks.probe._target_=helpers.probes.StateProbe", f"+callbacks.probe.dirpath={probe}"]
    train(compose_cfg(*overrides, "trainer.max_epochs=2", f"ckpt_path={ckpt_path}", *probe_overrides, output=output))
    start, end = (torch.load(probe / f"{when}_rank0.pt", weights_only=True) for when in ("start", "end"))
    return start, end


def _assert_restored(saved: dict[str, Any], start: dict[str, Any], end: dict[str, Any], device: str) -> None:
    """The resumed run began with exactly the checkpoint's weights, optimizer state and step, on ``device``."""
    assert start["global_step"] == saved["global_step"] == STEPS_PER_EPOCH
    assert start["current_epoch"] == 1
    assert end["global_step"] == 2 * STEPS_PER_EPOCH

    assert start["weights_device"].startswith(device)
    assert start["optimizer_devices"] and all(d.startswith(device) for d in start["optimizer_devices"])
    for key, value in saved["state_dict"].items():
        assert torch.equal(start["state_dict"][key].to(value.dtype), value), key

    assert len(start["optimizer_states"]) == len(saved["optimizer_states"]) == 2  # G and D
    for restored, original in zip(start["optimizer_states"], saved["optimizer_states"]):
        assert restored["state"].keys() == original["state"].keys() and original["state"]
        for index, state in original["state"].items():
            assert state.keys() == restored["state"][index].keys()
            for name, value in state.items():
                assert torch.equal(restored["state"][index][name].to(value.dtype), value), (index, name)
        assert [g["lr"] for g in restored["param_groups"]] == [g["lr"] for g in original["param_groups"]]


@pytest.mark.slow
def test_cpu_run_resumes_with_optimizer_state_and_the_same_wandb_run(compose_cfg, tmp_path: Path) -> None:
    last, saved = _train_one_epoch(compose_cfg, tmp_path, "run", *CPU_FP32, "logger=wandb")
    run_id = (tmp_path / "run" / WANDB_ID_FILE).read_text().strip()

    start, end = _resume(compose_cfg, tmp_path, "last", "run", *CPU_FP32, "logger=wandb")
    _assert_restored(saved, start, end, "cpu")

    # the same W&B run continued: the id kept in the output folder is used again (wandb sync merges both parts)
    assert (tmp_path / "run" / WANDB_ID_FILE).read_text().strip() == run_id
    parts = sorted((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(parts) == 2 and all(p.name.endswith(f"-{run_id}") for p in parts)


@pytest.mark.slow
def test_bf16_checkpoint_saved_on_cuda_resumes_on_cpu(compose_cfg, tmp_path: Path) -> None:
    last, saved = _train_one_epoch(
        compose_cfg, tmp_path, "bf16", "trainer.accelerator=cpu", "trainer.precision=bf16-mixed"
    )
    # Make the file what a GPU run writes: every tensor recorded as saved from cuda:0.
    tagged = tmp_path / "from_cuda.ckpt"
    proc = run_module(
        "helpers.cuda_tagged", str(last), str(tagged), cwd=tmp_path, timeout=120,
        env={"PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS)])},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(tagged, weights_only=True)  # a plain load needs the GPU the file came from

    start, end = _resume(compose_cfg, tmp_path, str(tagged), "fp32", *CPU_FP32)
    _assert_restored(saved, start, end, "cpu")


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(
    not (torch.cuda.is_available() and torch.cuda.is_bf16_supported()), reason="needs a CUDA device with bf16"
)
@pytest.mark.parametrize(
    ("first", "second", "device"),
    [(CPU_FP32, GPU_BF16, "cuda"), (GPU_BF16, CPU_FP32, "cpu")],
    ids=["cpu-fp32-to-cuda-bf16", "cuda-bf16-to-cpu-fp32"],
)
def test_checkpoint_moves_between_cpu_and_cuda(
    compose_cfg, tmp_path: Path, first: list[str], second: list[str], device: str
) -> None:
    last, saved = _train_one_epoch(compose_cfg, tmp_path, "first", *first)
    if "trainer.accelerator=gpu" in first:
        plain = torch.load(last, weights_only=True)  # no map_location: tensors go back where they were saved
        assert next(iter(plain["state_dict"].values())).is_cuda
    start, end = _resume(compose_cfg, tmp_path, str(last), "second", *second)
    _assert_restored(saved, start, end, device)
