"""How each DataLoader worker process starts."""

from __future__ import annotations

import os
import signal


def init_worker(worker_id: int) -> None:
    """``worker_init_fn`` of colorgan's DataLoaders: leave SIGTERM to the training process, seed as Lightning does.

    A scheduler that preempts a job (SLURM's ``scancel``, a spot-instance shutdown) sends SIGTERM to every process
    of it, the decode workers included. PyTorch's workers die of it at once, and the training process then fails
    with "DataLoader worker ... is killed by signal: Terminated" in the middle of a batch, and again while it tries
    to save its checkpoint. Ignoring SIGTERM here lets the training process finish its batch, save ``last.ckpt``
    and shut the workers down itself; a worker still ends with its parent (PyTorch's watchdog) or on SIGKILL.

    Setting ``worker_init_fn`` stops Lightning from adding its own, so its per-worker seeding (``seed_everything(...,
    workers=True)``) is done here instead.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if int(os.environ.get("PL_SEED_WORKERS", 0)):
        from lightning.fabric.utilities.seed import pl_worker_init_function

        pl_worker_init_function(worker_id)
