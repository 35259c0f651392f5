"""Distributed training: two real DDP processes on CPU (gloo), and the set-ups colorgan refuses up front."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.strategies import DDPStrategy
from torch import nn

from colorgan.training.distributed import check_ddp_setup, launched_as_rank_zero

from helpers.runs import SRC, TINY, run_module

TESTS = Path(__file__).resolve().parents[1]


def _ddp_trainer(devices: int = 2) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        devices=devices,
        strategy=DDPStrategy(find_unused_parameters=True),
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


@pytest.mark.slow
def test_two_cpu_processes_train_the_same_weights(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    proc = run_module(
        "colorgan.train",
        "+experiment=demo",
        *TINY,
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        # PyTorch's SyncBatchNorm runs on GPUs only: on CPU processes BatchNorm is replaced
        "model.generator.norm=instance",
        "model.discriminator.norm=instance",
        "logger=wandb",
        f"paths.root_dir={tmp_path}",
        "+callbacks.probe._target_=helpers.probes.StateProbe",
        f"+callbacks.probe.dirpath={probe}",
        cwd=tmp_path,
        timeout=300,
        env={"PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS)])},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]

    # Lightning started rank 1 by running the command again: it must have used rank 0's output folder.
    runs = list((tmp_path / "logs" / "demo" / "runs").iterdir())
    assert len(runs) == 1, runs
    run = runs[0]
    rank1_log = run / "train_ddp_process_1.log"
    assert rank1_log.is_file() and (run / "config.yaml").is_file() and (run / "checkpoints" / "last.ckpt").is_file()

    # Sample grids and W&B: rank 0 only.
    assert "Sample grid written" in (run / "train.log").read_text()
    assert "Sample grid written" not in rank1_log.read_text()
    assert len(list((run / "wandb").glob("offline-run-*"))) == 1

    start = {r: torch.load(probe / f"start_rank{r}.pt", weights_only=True) for r in (0, 1)}
    end = {r: torch.load(probe / f"end_rank{r}.pt", weights_only=True) for r in (0, 1)}
    assert end[0]["world_size"] == end[1]["world_size"] == 2
    # two optimizer steps per batch, two batches per rank
    assert end[0]["global_step"] == end[1]["global_step"] == 4

    weights = [k for k in end[0]["state_dict"] if k.startswith(("generator.", "discriminator."))]
    assert any(k.startswith("generator.") for k in weights) and any(k.startswith("discriminator.") for k in weights)
    differ_between_ranks = [k for k in weights if not torch.equal(end[0]["state_dict"][k], end[1]["state_dict"][k])]
    assert not differ_between_ranks, f"ranks disagree after training on: {differ_between_ranks[:5]}"
    unchanged = [k for k in weights if torch.equal(start[0]["state_dict"][k], end[0]["state_dict"][k])]
    assert not unchanged, f"not trained: {unchanged[:5]}"


def test_sync_batchnorm_on_cpu_processes_is_refused_with_the_fix(tmp_path: Path) -> None:
    trainer = _ddp_trainer()
    with pytest.raises(ValueError, match=r"trainer\.sync_batchnorm=false.*norm=instance"):
        check_ddp_setup(trainer, nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)), multirun=False,
                        sync_batchnorm=True)
    # fine without BatchNorm, or without syncing it
    check_ddp_setup(trainer, nn.Sequential(nn.Conv2d(1, 2, 3), nn.InstanceNorm2d(2)), multirun=False,
                    sync_batchnorm=True)
    check_ddp_setup(trainer, nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)), multirun=False,
                    sync_batchnorm=False)


def test_multirun_jobs_cannot_spawn_ddp_processes() -> None:
    model = nn.Conv2d(1, 2, 3)
    with pytest.raises(ValueError, match=r"multirun.*trainer\.devices=2.*trainer\.devices=1"):
        check_ddp_setup(_ddp_trainer(), model, multirun=True, sync_batchnorm=False)
    check_ddp_setup(_ddp_trainer(devices=1), model, multirun=True, sync_batchnorm=True)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, True),
        ({"LOCAL_RANK": "0", "NODE_RANK": "0"}, True),
        ({"RANK": "3", "LOCAL_RANK": "1"}, False),  # torchrun
        ({"SLURM_PROCID": "5"}, False),  # srun
        ({"LOCAL_RANK": "1"}, False),  # a process started by Lightning's launcher
        ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, False),  # first process of the second node
    ],
)
def test_rank_zero_is_known_before_the_trainer(monkeypatch: pytest.MonkeyPatch, env: dict, expected: bool) -> None:
    for name in ("RANK", "LOCAL_RANK", "GROUP_RANK", "NODE_RANK", "SLURM_PROCID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert launched_as_rank_zero() is expected
