"""Sweeps on a cluster: the submitit launchers, Optuna workers that share one study, and the DDP script that refuses
sweeps."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from helpers.runs import TINY, run_module

REPO = Path(__file__).resolve().parents[2]
SLURM_DDP = REPO / "scripts" / "slurm_ddp.sbatch"


@pytest.mark.slow
def test_grid_runs_its_jobs_through_submitit_local_and_the_summaries_read_them(tmp_path: Path) -> None:
    proc = run_module(
        "colorgan.train",
        "-m",
        "hydra/launcher=colorgan_local",
        "+experiment=demo",
        *TINY,
        "logger=csv",
        f"paths.root_dir={tmp_path}",
        "test=true",
        "model.lambda_l1=50,100",
        cwd=tmp_path,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    [sweep] = (tmp_path / "logs" / "demo" / "multiruns").iterdir()

    # submitit ran the two jobs (each its own process with its own log), each in its own job folder
    job_logs = sorted(sweep.glob(".submitit/*/*_log.out"))
    assert len(job_logs) == 2, job_logs
    for log in job_logs:
        assert "Job completed successfully" in log.read_text()
    jobs = [sweep / "0", sweep / "1"]
    assert [OmegaConf.load(job / "config.yaml").model.lambda_l1 for job in jobs] == [50, 100]
    for job in jobs:
        assert (job / "checkpoints" / "last.ckpt").is_file()
        assert (job / "test_metrics.json").is_file()

    # the sweep summary: every job's result.yaml (written in the job's process), the best trial from the main one
    results = [OmegaConf.load(job / "result.yaml") for job in jobs]
    assert [r.status for r in results] == ["COMPLETED", "COMPLETED"]
    assert all(isinstance(r.value, float) and "test" in r for r in results)
    best = OmegaConf.load(sweep / "best_trial.yaml")
    assert best.value == min(r.value for r in results) and best.jobs == 2 and best.jobs_completed == 2

    # the quality table: both jobs next to the gray baseline
    table = (sweep / "quality.md").read_text()
    quality = json.loads((sweep / "quality.json").read_text())
    assert sorted(job["job"] for job in quality["jobs"]) == [0, 1], table
    assert (sweep / "quality.png").is_file()


def test_slurm_launcher_config_composes_with_colorgan_defaults(tmp_path: Path) -> None:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.utils import instantiate

    from colorgan.config import config_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=["+experiment=demo", "hydra/launcher=colorgan_slurm", "hydra.launcher.partition=gpu"],
            return_hydra_config=True,
        )
    GlobalHydra.instance().clear()
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("ColorganSlurmLauncher")
    assert (launcher.gpus_per_node, launcher.tasks_per_node, launcher.nodes) == (1, 1, 1)
    assert launcher.timeout_min == 24 * 60 and launcher.partition == "gpu"
    # the preemption signal leaves the SIGTERM grace period of colorgan's stop_on_sigterm callback to save
    assert launcher.signal_delay_s > cfg.callbacks.stop_on_sigterm.grace_seconds
    assert launcher.max_num_timeout > 0  # a job that reaches its time limit is requeued (and resumes)

    from hydra_plugins.colorgan_cluster.submitit_launcher import ColorganSlurmLauncher

    params = OmegaConf.to_container(launcher, resolve=False)  # its folder and name follow the sweep's, unset here
    built = instantiate(params | {"submitit_folder": str(tmp_path / "%j"), "name": "colorgan"}, _convert_="all")
    assert isinstance(built, ColorganSlurmLauncher)
    assert built.params["gpus_per_node"] == 1 and built.params["partition"] == "gpu"


def test_requeued_job_resumes_from_its_own_last_checkpoint_only(tmp_path: Path) -> None:
    from hydra_plugins.colorgan_cluster.submitit_launcher import ColorganLocalLauncher, resume_requeued_job

    def job_config(num: int):
        return OmegaConf.create(
            {
                "ckpt_path": None,
                "hydra": {"sweep": {"dir": str(tmp_path), "subdir": "${hydra.job.num}"}, "job": {"num": num}},
            }
        )

    # another trial's last.ckpt is no reason to resume (ckpt_path=last would have taken it)
    sibling = tmp_path / "0" / "checkpoints" / "last.ckpt"
    sibling.parent.mkdir(parents=True)
    sibling.write_bytes(b"ckpt")
    cfg = job_config(1)
    assert resume_requeued_job(cfg, "hydra.sweep.dir", restarted=True) is None and cfg.ckpt_path is None
    # a first start never resumes; a restart resumes from its own folder's last.ckpt
    cfg = job_config(0)
    assert resume_requeued_job(cfg, "hydra.sweep.dir", restarted=False) is None and cfg.ckpt_path is None
    assert resume_requeued_job(cfg, "hydra.sweep.dir", restarted=True) == sibling
    assert cfg.ckpt_path == str(sibling)
    # a checkpoint the user named is kept
    cfg = job_config(0)
    cfg.ckpt_path = "/elsewhere/x.ckpt"
    assert resume_requeued_job(cfg, "hydra.sweep.dir", restarted=True) is None and cfg.ckpt_path == "/elsewhere/x.ckpt"

    # what submitit requeues on preemption: the same job, marked as restarted
    launcher = ColorganLocalLauncher(submitit_folder=str(tmp_path / ".submitit"))
    args = (["model.lambda_l1=10"], "hydra.sweep.dir", 3, "job_id_for_3", {})
    delayed = launcher.checkpoint(*args)
    assert delayed.function is launcher and delayed.args == args and delayed.kwargs == {"restarted": True}


@pytest.mark.slow
def test_preempted_job_is_requeued_and_resumes_from_its_own_checkpoint(tmp_path: Path) -> None:
    import psutil
    import torch

    # one job of 3 short epochs; submitit's local executor requeues a job that its preemption signal stopped, as SLURM
    # does on a cluster
    sweep = tmp_path / "sweep"
    log_file = open(tmp_path / "sweep.log", "w")  # noqa: SIM115 - closed below, after the sweep has ended
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "colorgan.train",
            "-m",
            "hydra/launcher=colorgan_local",
            "+experiment=demo",
            *TINY,
            "trainer.max_epochs=3",
            "logger=csv",
            f"paths.root_dir={tmp_path}",
            f"hydra.sweep.dir={sweep}",
            "model.lambda_l1=50",
        ],
        cwd=tmp_path,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
    )
    try:
        last = sweep / "0" / "checkpoints" / "last.ckpt"
        deadline = time.monotonic() + 300
        while not last.is_file():  # the first epoch's end: the job is training its second epoch
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "sweep.log").read_text()[-5000:]
            time.sleep(0.1)
        commands = [(p, p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])]
        [task] = [p for p, cmd in commands if "submitit.core._submit" in cmd and str(sweep) in " ".join(cmd)]
        os.kill(task.pid, signal.SIGUSR2)  # submitit's preemption signal
        proc.wait(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
        log_file.close()
    output = (tmp_path / "sweep.log").read_text()
    assert proc.returncode == 0, output[-5000:]

    job_log = "".join(p.read_text() for p in sweep.glob(".submitit/*/*_log.*"))
    assert "Requeued job" in job_log, job_log[-5000:]  # submitit's words: the job was preempted and requeued
    assert f"resumes from {last}" in job_log and "RESUMING from" in job_log, job_log[-5000:]
    assert OmegaConf.load(sweep / "0" / "result.yaml").status == "COMPLETED"
    ckpt = torch.load(last, map_location="cpu", weights_only=False)
    print("final checkpoint:", ckpt["epoch"], ckpt["global_step"])
    assert ckpt["global_step"] == 3 * 2 * 2  # 3 epochs of 2 batches (2 optimizer steps each), none trained twice


def _prepare(storage: str, barrier, errors) -> None:
    from hydra_plugins.colorgan_cluster.optuna_sweeper import prepare_shared_study

    barrier.wait()
    try:
        prepare_shared_study(storage, "colorgan-shared", ["minimize"])
    except Exception as error:  # reported to the test
        errors.put(f"{type(error).__name__}: {error}")


def test_workers_preparing_a_new_storage_at_the_same_moment_share_one_study(tmp_path: Path) -> None:
    import optuna

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    ctx = multiprocessing.get_context("fork")
    barrier, errors = ctx.Barrier(4), ctx.Queue()
    workers = [ctx.Process(target=_prepare, args=(storage, barrier, errors)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * 4
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert not found, found
    [study] = optuna.get_all_study_summaries(storage)
    assert study.study_name == "colorgan-shared" and study.n_trials == 0


def _worker(root: Path, storage: str, sweep_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "colorgan.train",
            "-m",
            "+experiment=demo",
            *TINY,
            "logger=csv",
            f"paths.root_dir={root}",
            "+hparams_search=optuna",
            "hydra.sweeper.n_trials=1",
            f"hydra.sweeper.storage={storage}",
            "hydra.sweeper.study_name=colorgan-shared",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ),
    )


@pytest.mark.slow
def test_two_optuna_workers_started_together_share_one_new_study(tmp_path: Path) -> None:
    import optuna

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    sweep = tmp_path / "study"
    roots = [tmp_path / "worker0", tmp_path / "worker1"]
    for root in roots:
        root.mkdir()
    workers = [_worker(root, storage, sweep) for root in roots]  # started together, against a storage not yet made
    outputs = [w.communicate(timeout=400)[0] for w in workers]
    for w, out in zip(workers, outputs):
        assert w.returncode == 0, out[-6000:]

    # one study, two trials, each run once and finished: trial N trained in <sweep folder>/N
    study = optuna.load_study(study_name="colorgan-shared", storage=storage)
    assert sorted(t.number for t in study.trials) == [0, 1]
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    for trial in study.trials:
        result = OmegaConf.load(sweep / str(trial.number) / "result.yaml")
        assert result.status == "COMPLETED" and result.job == trial.number
        assert result.value == pytest.approx(trial.value)
        for name, value in trial.params.items():
            assert f"{name}={value}" in result.overrides
    assert sorted(p.parent.parent.name for p in sweep.glob("*/checkpoints/last.ckpt")) == ["0", "1"]


@pytest.fixture
def fake_slurm(tmp_path: Path) -> dict[str, str]:
    """The environment of a SLURM job whose ``srun`` only writes down the command it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    srun = bin_dir / "srun"
    srun.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {tmp_path / "srun_args"}\n')
    srun.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SLURM_JOB_ID": "77",
        "SLURM_SUBMIT_DIR": str(tmp_path),
        "SLURM_NTASKS_PER_NODE": "4",
        "SLURM_JOB_NUM_NODES": "2",
        "COLORGAN_ROOT": str(tmp_path),
    }


@pytest.mark.parametrize(
    "sweep_args",
    [["-m"], ["--multirun"], ["+hparams_search=optuna"], ["hydra.mode=MULTIRUN"], ["hydra/sweeper=optuna"]],
)
def test_slurm_ddp_script_refuses_a_sweep_and_points_at_the_launcher(
    tmp_path: Path, fake_slurm: dict[str, str], sweep_args: list[str]
) -> None:
    proc = subprocess.run(
        ["bash", str(SLURM_DDP), "sports", "data.root=/data/sports", *sweep_args],
        env=fake_slurm,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "cannot run a sweep" in proc.stderr and "hydra/launcher=colorgan_slurm" in proc.stderr
    assert not (tmp_path / "srun_args").exists(), "the sweep was started anyway"


def test_slurm_ddp_script_still_starts_a_single_ddp_run(tmp_path: Path, fake_slurm: dict[str, str]) -> None:
    proc = subprocess.run(
        ["bash", str(SLURM_DDP), "sports", "data.root=/data/sports", "model.lambda_l1=30"],
        env=fake_slurm,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    args = (tmp_path / "srun_args").read_text().splitlines()
    assert args[:3] == ["python", "-m", "colorgan.train"]
    assert "+experiment=sports" in args and "trainer.devices=4" in args and "trainer.num_nodes=2" in args
    assert f"paths.output_dir={tmp_path}/logs/sports/runs/slurm-77" in args
    assert args[-2:] == ["data.root=/data/sports", "model.lambda_l1=30"]
