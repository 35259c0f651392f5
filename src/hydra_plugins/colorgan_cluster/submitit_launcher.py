"""submitit launchers (``hydra/launcher=colorgan_slurm``, ``colorgan_local``) whose preempted jobs stop cleanly and
resume when requeued.

On SLURM, submitit asks for a preemption signal (USR2, ``signal_delay_s`` seconds before the time limit); its handler
requeues the job and exits at once, from inside the signal handler: wherever training is, possibly between the
discriminator's and the generator's step of a batch, the same hazard colorgan's SIGTERM handling avoids. Here the
signal is handed to colorgan's SIGTERM handling instead while training runs (``callbacks.stop_on_sigterm``, or
Lightning's own handler): training stops after the current batch and writes ``last.ckpt``, and only then does
submitit requeue the job. A signal outside training goes to submitit directly.

The requeued job runs the same trial again in the same folder, where ``colorgan.train`` would refuse to start over
("already holds last.ckpt"). A job that was requeued (by submitit, or by SLURM: ``SLURM_RESTART_COUNT`` > 0) resumes
from its own folder's ``checkpoints/last.ckpt`` when there is one, and starts afresh when there is none. Never from
another job's folder: ``ckpt_path=last`` would look at sibling runs, which in a sweep are other trials.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

log = logging.getLogger(__name__)

try:  # the cluster extra: pip install "colorgan[cluster]"
    from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher, SlurmLauncher
except ImportError:  # Hydra imports every plugin module at start-up: without the extra there is no launcher to offer
    LocalLauncher = None  # type: ignore[assignment,misc]
    SlurmLauncher = None  # type: ignore[assignment,misc]

LAST = Path("checkpoints") / "last.ckpt"  # colorgan.checkpoints' last checkpoint, inside a run's folder


def slurm_restarted() -> bool:
    """True in a SLURM job that SLURM has started again (requeued after preemption or a node failure)."""
    return int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0) > 0


def resume_requeued_job(config: DictConfig, job_dir_key: str, restarted: bool) -> Path | None:
    """For a requeued job: set ``ckpt_path`` to its own folder's ``last.ckpt`` (returned), if the folder has one and
    the job names no checkpoint of its own. Does nothing for a job's first start."""
    if not restarted or config.get("ckpt_path"):
        return None
    job_dir = Path(str(OmegaConf.select(config, job_dir_key))) / str(OmegaConf.select(config, "hydra.sweep.subdir"))
    last = job_dir / LAST
    if not last.is_file():
        log.warning("Requeued job %s has no %s yet: it starts again from the beginning", job_dir, LAST)
        return None
    with open_dict(config):
        config.ckpt_path = str(last)
    log.warning("Requeued job %s resumes from %s", job_dir, last)
    return last


class _ResumingLauncher:
    """The part both launchers share: a requeued job resumes from its own ``last.ckpt``."""

    def __call__(
        self,
        sweep_overrides: list[str],
        job_dir_key: str,
        job_num: int,
        job_id: str,
        singleton_state: dict[Any, Any],
        restarted: bool = False,
    ) -> Any:
        # hydra-submitit-launcher 1.2's __call__, with the resume step between composing the job and running it
        import submitit
        from hydra.core.singleton import Singleton
        from hydra.core.utils import run_job, setup_globals

        Singleton.set_state(singleton_state)
        setup_globals()
        sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, sweep_overrides)
        with open_dict(sweep_config.hydra.job) as job:
            job.id = submitit.JobEnvironment().job_id
            sweep_config.hydra.job.num = job_num
        resume_requeued_job(sweep_config, job_dir_key, restarted or slurm_restarted())

        preempt_signal = submitit.JobEnvironment._usr_sig()
        requeue = signal.getsignal(preempt_signal)  # submitit's: checkpoint(), requeue, exit
        sigterm_outside_training = signal.getsignal(signal.SIGTERM)
        preempted: list[int] = []

        def stop_training_first(signum: int, frame: Any) -> None:
            preempted.append(signum)
            if signal.getsignal(signal.SIGTERM) is not sigterm_outside_training:
                log.warning("Preemption signal %s: training stops after this batch, then the job is requeued", signum)
                os.kill(os.getpid(), signal.SIGTERM)  # training's own SIGTERM handler: stop, write last.ckpt
            elif callable(requeue):
                requeue(signum, frame)

        if callable(requeue):
            signal.signal(preempt_signal, stop_training_first)
        try:
            return run_job(
                hydra_context=self.hydra_context,
                task_function=self.task_function,
                config=sweep_config,
                job_dir_key=job_dir_key,
                job_subdir_key="hydra.sweep.subdir",
            )
        except SystemExit:  # colorgan.train's exit after SIGTERM (status 143)
            if preempted and callable(requeue):
                requeue(preempted[0], None)  # requeues the job as checkpoint() describes it, and exits
            raise

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """What submitit requeues on preemption or time-out: the same job, marked as restarted."""
        import submitit

        return submitit.helpers.DelayedSubmission(self, *args, **{**kwargs, "restarted": True})


if SlurmLauncher is not None:

    class ColorganSlurmLauncher(_ResumingLauncher, SlurmLauncher):
        """hydra-submitit-launcher's SLURM launcher; a requeued job resumes from its own ``last.ckpt``."""

    class ColorganLocalLauncher(_ResumingLauncher, LocalLauncher):
        """hydra-submitit-launcher's local launcher (a grid's jobs at once, one process each, on this machine)."""
