"""The DDP launch as colorgan sees it: which process is rank 0 before the Trainer exists, and the set-ups it adapts
or refuses."""

from __future__ import annotations

import logging
import os
from typing import Any

import lightning as L
from lightning.pytorch.accelerators import Accelerator, CUDAAccelerator
from lightning.pytorch.strategies.launchers import _SubprocessScriptLauncher
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)

# Set by torchrun (RANK, LOCAL_RANK, GROUP_RANK), SLURM's srun (SLURM_PROCID) and Lightning's own launcher
# (LOCAL_RANK, NODE_RANK) before any process group exists.
RANK_VARIABLES = ("RANK", "LOCAL_RANK", "GROUP_RANK", "NODE_RANK", "SLURM_PROCID")


def launched_as_rank_zero() -> bool:
    """True unless a launcher announced this process as another rank than global rank 0.

    Usable before the Trainer starts, e.g. to let only one process write the run's ``config.yaml`` or create its
    W&B run id. Every rank variable that is set must be 0.
    """
    return all(int(os.environ.get(name, "0") or 0) == 0 for name in RANK_VARIABLES)


def spawns_worker_processes(trainer: L.Trainer) -> bool:
    """True when ``trainer.fit`` will start the other ranks itself by running this command line again."""
    strategy = trainer.strategy
    env = getattr(strategy, "cluster_environment", None)
    return (
        trainer.world_size > 1
        and isinstance(getattr(strategy, "launcher", None), _SubprocessScriptLauncher)
        and env is not None
        and not env.creates_processes_externally
    )


def sync_batchnorm_runs_on(accelerator: Any) -> bool:
    """Whether PyTorch's SyncBatchNorm can run on ``trainer.accelerator``: CUDA GPUs only.

    ``auto`` means a CUDA GPU when there is one (Lightning's own choice); ``cpu`` (and ``mps``, ``tpu``) cannot.
    """
    if isinstance(accelerator, Accelerator):
        return isinstance(accelerator, CUDAAccelerator)
    name = str(accelerator).lower()
    if name == "auto":
        return CUDAAccelerator.is_available()
    return name in ("gpu", "cuda")


def sync_batchnorm_where_it_runs(cfg: DictConfig) -> None:
    """Turn ``cfg.trainer.sync_batchnorm`` off where SyncBatchNorm cannot run, and say so in one log line.

    ``trainer=ddp`` asks for SyncBatchNorm (BatchNorm statistics over the whole effective batch), which PyTorch runs
    on CUDA GPUs only. A user who asks for DDP on CPU processes gets DDP on CPU processes, each normalising its own
    batch, instead of an error.
    """
    trainer = cfg.trainer
    if not trainer.get("sync_batchnorm") or sync_batchnorm_runs_on(trainer.get("accelerator", "auto")):
        return
    with open_dict(trainer):
        trainer.sync_batchnorm = False
    if launched_as_rank_zero():
        log.info(
            "trainer.sync_batchnorm=true is turned off: PyTorch's SyncBatchNorm runs on CUDA GPUs only, and this run "
            "uses trainer.accelerator=%s on this machine. Each process normalises its BatchNorm layers over its own "
            "data.batch_size photos.", trainer.get("accelerator", "auto"),
        )


def check_ddp_setup(trainer: L.Trainer, *, multirun: bool) -> None:
    """Refuse, before any work, the DDP set-ups that cannot run, naming the setting to change.

    Raises:
        ValueError: a Hydra multirun whose jobs would each start worker processes (they would re-run the whole
            sweep).
    """
    if trainer.world_size <= 1:
        return
    if multirun and spawns_worker_processes(trainer):
        raise ValueError(
            "A Hydra multirun (-m, or +hparams_search=...) cannot train each job on several devices with "
            f"trainer.devices={trainer.num_devices}: Lightning would start the other ranks by re-running the whole "
            "sweep command. Sweep with trainer.devices=1 (run several sweep workers side by side to use more "
            "GPUs, sharing an Optuna storage), or train the chosen configuration with trainer=ddp as a single run."
        )
