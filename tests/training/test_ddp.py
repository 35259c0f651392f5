"""Distributed training: two real DDP processes on CPU (gloo), and the set-ups colorgan refuses up front."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra.utils import instantiate
from lightning.pytorch.accelerators import CPUAccelerator, CUDAAccelerator
from lightning.pytorch.strategies import DDPStrategy

from colorgan.checkpoints.reading import read_checkpoint
from colorgan.training.distributed import check_ddp_setup, launched_as_rank_zero, sync_batchnorm_where_it_runs

from helpers.fault_injection import (
    Deadlock,
    Pace,
    RankProgress,
    callback_overrides,
    read_json,
    start_training,
    wait_for,
)
from helpers.runs import SRC, TINY_WITH_BAR, run_job

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


# The progress bars users get: Lightning's default (RichProgressBar, rich being installed) and the TQDM one. Each asks
# rank 0 alone for the logged metrics at the end of every epoch; under DDP nothing may make that a collective.
PROGRESS_BARS = {
    "RichProgressBar": [],
    "TQDMProgressBar": ["+callbacks.progress_bar._target_=lightning.pytorch.callbacks.TQDMProgressBar"],
}


@pytest.mark.slow
@pytest.mark.parametrize("bar", sorted(PROGRESS_BARS))
def test_two_cpu_processes_train_the_same_weights(tmp_path: Path, bar: str) -> None:
    probe = tmp_path / "probe"
    proc = run_job(
        "colorgan.train",
        "+experiment=demo",
        *TINY_WITH_BAR,  # the default callbacks with the progress bar on, as the README's command has them
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",  # the README's command: BatchNorm, trainer=ddp's sync_batchnorm=true turned off on CPU
        "logger=wandb",
        "model.ema_decay=0.9",
        f"paths.root_dir={tmp_path}",
        *PROGRESS_BARS[bar],
        "+callbacks.probe._target_=helpers.probes.StateProbe",
        f"+callbacks.probe.dirpath={probe}",
        cwd=tmp_path,
        timeout=150,  # a deadlocked run fails here (both ranks killed) instead of hanging the test session
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
    # SyncBatchNorm is off on CPU processes, and the log says so once
    said = "trainer.sync_batchnorm=true is turned off"
    assert (run / "train.log").read_text().count(said) == 1 and said not in rank1_log.read_text()
    assert len(list((run / "wandb").glob("offline-run-*"))) == 1

    start = {r: torch.load(probe / f"start_rank{r}.pt", weights_only=True) for r in (0, 1)}
    end = {r: torch.load(probe / f"end_rank{r}.pt", weights_only=True) for r in (0, 1)}
    assert end[0]["world_size"] == end[1]["world_size"] == 2
    assert end[0]["progress_bar"] == bar  # the bar under test was the one on screen
    # two optimizer steps per batch, two batches per rank
    assert end[0]["global_step"] == end[1]["global_step"] == 4

    state = {r: end[r]["state_dict"] for r in (0, 1)}
    networks = [k for k in state[0] if k.startswith(("generator.", "discriminator."))]
    statistics = [k for k in networks if k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    weights = [k for k in networks if k not in statistics]
    assert statistics, "the networks must run BatchNorm"
    assert any(k.startswith("generator.") for k in weights) and any(k.startswith("discriminator.") for k in weights)
    differ_between_ranks = [k for k in weights if not torch.equal(state[0][k], state[1][k])]
    assert not differ_between_ranks, f"ranks disagree after training on: {differ_between_ranks[:5]}"
    # Without SyncBatchNorm the running statistics are each process's own: DDP copies rank 0's to the other ranks at
    # the start of every step (broadcast_buffers), and the checkpoint holds rank 0's.
    unchanged = [k for k in networks if torch.equal(start[0]["state_dict"][k], state[0][k])]
    assert not unchanged, f"not trained: {unchanged[:5]}"

    # The generator's moving average: each rank updates its own from the same all-reduced weights, so the averaged
    # weights agree; its BatchNorm statistics follow each rank's generator statistics, like those above.
    ema = [k for k in state[0] if k.startswith("generator_ema.module.") and k.removeprefix("generator_ema.module.")
           in {w.removeprefix("generator.") for w in weights}]
    assert len(ema) == sum(k.startswith("generator.") for k in weights)
    assert int(state[0]["generator_ema.n_averaged"]) == int(state[1]["generator_ema.n_averaged"]) == 2
    differ_between_ranks = [k for k in ema if not torch.equal(state[0][k], state[1][k])]
    assert not differ_between_ranks, f"ranks disagree on the average: {differ_between_ranks[:5]}"
    assert any(not torch.equal(state[0][k], state[0][k.replace("generator_ema.module.", "generator.")]) for k in ema)

    # The logged losses are means over both ranks' photos: every rank logs the same numbers.
    logged = [f"train/{name}_{when}" for name in ("d_loss", "d_real", "d_fake", "g_loss", "g_gan", "g_l1")
              for when in ("step", "epoch")]
    assert all(k in end[0]["metrics"] for k in logged), sorted(end[0]["metrics"])
    assert {k: end[0]["metrics"][k] for k in logged} == {k: end[1]["metrics"][k] for k in logged}


# The README's two-process command as a job of its own, with the default callbacks and progress bar.
DDP_JOB = ["+experiment=demo", *TINY_WITH_BAR, "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
           "logger=csv"]


def _gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait_after_sigterm(proc: subprocess.Popen, seconds: float, log_file: Path) -> tuple[int, float]:
    """The exit status of ``proc`` and how long after now it came, once every rank of its job has exited too; fails
    the test if ``proc`` takes over ``seconds``."""
    start = time.monotonic()
    try:
        status = proc.wait(seconds)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {seconds:.0f} s after SIGTERM\n--- log ---\n{log_file.read_text()[-5000:]}")
    took = time.monotonic() - start
    wait_for(lambda: _gone(proc.pid), 30, "every rank to exit")
    return status, took


@contextmanager
def _job_ends_with_the_test(proc: subprocess.Popen) -> Iterator[None]:
    """Kill whatever is left of the job ``proc`` leads (its process group) on the way out, so that a failed test
    leaves no rank behind."""
    try:
        yield
    finally:
        if not _gone(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.parametrize("to", ["job", "rank 1"])
def test_sigterm_stops_every_rank_after_the_same_batch_and_saves(tmp_path: Path, to: str) -> None:
    """A scheduler preempts a running DDP job (SIGTERM to every process of it, or to one that is not rank 0): the ranks
    agree to stop, after the same batch, last.ckpt holds that batch, and the job exits with status 143 well within
    its grace period."""
    progress = tmp_path / "progress"
    overrides = [*DDP_JOB, "trainer.max_epochs=3", "trainer.limit_train_batches=5", f"paths.root_dir={tmp_path}",
                 *callback_overrides("pace", Pace, seconds=0.5),
                 *callback_overrides("record", RankProgress, folder=str(progress))]
    log_file = tmp_path / "train.log"
    proc = start_training(overrides, tmp_path, log_file, start_new_session=True)  # a job: its own process group
    with _job_ends_with_the_test(proc):
        wait_for(lambda: all((p := read_json(progress / f"progress_rank{r}.json")) and p["batches_this_process"] >= 2
                             for r in (0, 1)), 150, "two training batches on both ranks", proc, log_file)
        if to == "job":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            os.kill(read_json(progress / "progress_rank1.json")["pid"], signal.SIGTERM)
        status, took = _wait_after_sigterm(proc, 60, log_file)
    log = log_file.read_text()
    assert status == 128 + signal.SIGTERM, log[-5000:]
    assert ("[rank 0] SIGTERM" in log) is (to == "job") and "[rank 1] SIGTERM" in log
    assert "did not stop within" not in log  # stopped cleanly, not by the watchdog
    assert "Stopped by SIGTERM" in log and "Resume with ckpt_path=last" in log
    done = [read_json(progress / f"progress_rank{r}.json") for r in (0, 1)]
    assert done[0]["batches_this_process"] == done[1]["batches_this_process"], done  # the same batch
    assert done[0]["global_step"] == done[1]["global_step"]
    [ckpt_path] = tmp_path.glob("logs/demo/runs/*/checkpoints/last.ckpt")
    ckpt = read_checkpoint(ckpt_path)
    assert ckpt["global_step"] == done[0]["global_step"] == 2 * done[0]["batches_this_process"], (ckpt_path, done)
    assert ckpt["global_step"] < 2 * 3 * 5, "stopped before the end of training"
    print(f"stopped {took:.1f} s after SIGTERM, after {done[0]['batches_this_process']} batches on each rank")


@pytest.mark.slow
def test_sigterm_ends_a_deadlocked_run(tmp_path: Path) -> None:
    """Ranks stuck waiting for one another run no Python code, Lightning's SIGTERM handler included: the job still
    ends within callbacks.stop_on_sigterm.grace_seconds of SIGTERM, says where each rank was, and exits with 143."""
    marks = tmp_path / "marks"
    overrides = [*DDP_JOB, "trainer.limit_train_batches=4", f"paths.root_dir={tmp_path}",
                 "++callbacks.stop_on_sigterm.grace_seconds=5",
                 *callback_overrides("deadlock", Deadlock, folder=str(marks), batch=1)]
    log_file = tmp_path / "train.log"
    proc = start_training(overrides, tmp_path, log_file, start_new_session=True)
    with _job_ends_with_the_test(proc):
        wait_for(lambda: all((marks / f"stuck_rank{r}").exists() for r in (0, 1)), 150, "both ranks to get stuck",
                 proc, log_file)
        time.sleep(1)  # well inside the wait
        os.killpg(proc.pid, signal.SIGTERM)
        status, took = _wait_after_sigterm(proc, 60, log_file)
    log = log_file.read_text()
    assert status == 128 + signal.SIGTERM, log[-5000:]
    assert 5 <= took < 30, took
    for rank in (0, 1):
        assert f"rank {rank} did not stop within 5 s of SIGTERM" in log, log[-5000:]
    assert log.count("in recv") == 2  # each rank's dump, whole: where its main thread was stuck
    assert not list(tmp_path.glob("logs/demo/runs/*/checkpoints/last.ckpt"))  # nothing half-saved from a stuck rank


@pytest.mark.parametrize(
    ("accelerator", "cuda", "kept"),
    [("cpu", True, False), ("cpu", False, False), ("auto", False, False), ("auto", True, True), ("gpu", True, True),
     ("cuda", True, True)],
)
def test_sync_batchnorm_stays_on_only_where_it_runs(compose_cfg, monkeypatch, caplog, accelerator, cuda, kept):
    """trainer=ddp asks for SyncBatchNorm, which runs on CUDA GPUs only: on CPU processes DDP runs without it."""
    monkeypatch.setattr(CUDAAccelerator, "is_available", staticmethod(lambda: cuda))
    cfg = compose_cfg("trainer=ddp", f"trainer.accelerator={accelerator}", "trainer.devices=2")
    assert cfg.trainer.sync_batchnorm is True
    with caplog.at_level(logging.INFO, logger="colorgan"):
        sync_batchnorm_where_it_runs(cfg)
    assert cfg.trainer.sync_batchnorm is kept
    said = [r.getMessage() for r in caplog.records if "sync_batchnorm" in r.getMessage()]
    if kept:
        assert not said
    else:
        assert said == [
            "trainer.sync_batchnorm=true is turned off: PyTorch's SyncBatchNorm runs on CUDA GPUs only, and this run "
            f"uses trainer.accelerator={accelerator} on this machine. Each process normalises its BatchNorm layers "
            "over its own data.batch_size photos."
        ]
        trainer = instantiate(cfg.trainer, logger=False)  # builds, and would train, as DDP on CPU processes
        assert trainer.world_size == 2 and isinstance(trainer.accelerator, CPUAccelerator)


def test_multirun_jobs_cannot_spawn_ddp_processes() -> None:
    with pytest.raises(ValueError, match=r"multirun.*trainer\.devices=2.*trainer\.devices=1"):
        check_ddp_setup(_ddp_trainer(), multirun=True)
    check_ddp_setup(_ddp_trainer(devices=1), multirun=True)
    check_ddp_setup(_ddp_trainer(), multirun=False)


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
