"""The DDP launch as colorgan sees it: which process is rank 0 before the Trainer exists, and set-ups that fail."""

from __future__ import annotations

import os

import lightning as L
from lightning.pytorch.accelerators import CPUAccelerator
from lightning.pytorch.strategies.launchers import _SubprocessScriptLauncher
from torch import nn

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


def has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def check_ddp_setup(trainer: L.Trainer, model: nn.Module, *, multirun: bool, sync_batchnorm: bool) -> None:
    """Refuse, before any work, the DDP set-ups that cannot run, naming the setting to change.

    Raises:
        ValueError: a Hydra multirun whose jobs would each start worker processes (they would re-run the whole
            sweep), or ``trainer.sync_batchnorm=true`` with BatchNorm layers on several CPU processes (PyTorch's
            SyncBatchNorm runs on GPUs only).
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
    if sync_batchnorm and isinstance(trainer.accelerator, CPUAccelerator) and has_batchnorm(model):
        raise ValueError(
            "trainer.sync_batchnorm=true needs GPUs: PyTorch's SyncBatchNorm does not run on CPU processes. For DDP "
            "on CPU set trainer.sync_batchnorm=false (each process normalises its own batch) or replace BatchNorm "
            "with model.generator.norm=instance model.discriminator.norm=instance."
        )
