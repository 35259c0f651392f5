"""The Hydra callback that sums up a multirun: every job's result next to its outputs, the best job, the quality table.

Registered as a Hydra callback in ``conf/hydra/default.yaml``, so it works with any sweeper (the basic grid
sweeper, Optuna) and launcher:

- after each job: ``<job folder>/result.yaml`` (job number, status, ``optimized_metric`` and its value, overrides,
  and with ``test=true`` the job's test metrics);
- after the sweep: ``<sweep folder>/best_trial.yaml`` (the best job's value, folder, overrides and the command that
  trains it again) and ``<sweep folder>/best_config.yaml`` (that job's full resolved config), both also printed;
  when jobs were tested (``test=true``), the quality table of :mod:`colorgan.evaluation.quality_report`
  (``quality.md``, ``quality.json``, ``quality.png``), also printed.
"""

from __future__ import annotations

import logging
import shlex
import shutil
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from colorgan.evaluation.quality_report import write_quality_report
from colorgan.metrics import metric_direction
from colorgan.training.results import read_test_record

log = logging.getLogger(__name__)

RESULT_FILE = "result.yaml"
BEST_TRIAL_FILE = "best_trial.yaml"
BEST_CONFIG_FILE = "best_config.yaml"
RUN_CONFIG_FILE = "config.yaml"  # written by colorgan.train into every run's output folder


def sweep_direction(config: DictConfig) -> str:
    """``minimize`` / ``maximize``: the sweeper's own ``direction`` when it has a single one (Optuna), else the
    natural direction of ``optimized_metric``."""
    direction = OmegaConf.select(config, "hydra.sweeper.direction", default=None)
    if isinstance(direction, str) and direction in ("minimize", "maximize"):
        return direction
    if direction is not None and getattr(direction, "name", None) in ("minimize", "maximize"):
        return direction.name
    return metric_direction(config.get("optimized_metric") or "")


def best_result(results: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    """The finished job with the best value (the lowest number for ``minimize``, the first job on ties)."""
    scored = [r for r in results if r.get("status") == "COMPLETED" and isinstance(r.get("value"), (int, float))]
    if not scored:
        return None
    sign = -1.0 if direction == "maximize" else 1.0
    return min(scored, key=lambda r: (sign * float(r["value"]), int(r["job"])))


def rerun_overrides(overrides: list[str]) -> list[str]:
    """A job's overrides minus the ones that start a sweep (``+hparams_search=...``): they train that job alone."""
    return [o for o in overrides if o.lstrip("+~").split("=", 1)[0] != "hparams_search"]


def read_results(sweep_dir: Path) -> list[dict[str, Any]]:
    """The ``result.yaml`` of every job of the sweep in ``sweep_dir``, in the order of their folders."""
    return [OmegaConf.to_container(OmegaConf.load(p))  # type: ignore[misc]
            for p in sorted(Path(sweep_dir).glob(f"*/{RESULT_FILE}"))]


class SweepSummary(Callback):
    """Hydra callback writing each multirun job's ``result.yaml`` and the sweep's ``best_trial.yaml`` /
    ``best_config.yaml`` (and its quality table when the jobs were tested). Does nothing in a single run."""

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        job_dir = Path(config.hydra.runtime.output_dir)
        value = None
        if job_return.status == JobStatus.COMPLETED and isinstance(job_return.return_value, (int, float)):
            value = float(job_return.return_value)
        record = {
            "job": int(config.hydra.job.num),
            "status": job_return.status.name,
            "metric": config.get("optimized_metric"),
            "value": value,
            "overrides": list(job_return.overrides or []),
            "output_dir": str(job_dir),
        }
        tested, _ = read_test_record(job_dir)
        if tested:
            record["test"] = tested.get("metrics", {})
        job_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(OmegaConf.create(record), job_dir / RESULT_FILE)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        results = read_results(sweep_dir)
        write_quality_report(sweep_dir, results)
        direction = sweep_direction(config)
        metric = config.get("optimized_metric")
        best = best_result(results, direction)
        if best is None:
            log.warning(
                "Sweep %s: none of its %d job(s) returned a value of optimized_metric=%s; no best trial to report. "
                "Check the jobs' train.log files.", sweep_dir, len(results), metric,
            )
            return
        summary = {
            "metric": metric,
            "direction": direction,
            "value": best["value"],
            "job": best["job"],
            "overrides": best["overrides"],
            "command": shlex.join(["python", "-m", "colorgan.train", *rerun_overrides(best["overrides"])]),
            "output_dir": best["output_dir"],
            "jobs": len(results),
            "jobs_completed": sum(r["status"] == "COMPLETED" for r in results),
        }
        run_config = Path(best["output_dir"]) / RUN_CONFIG_FILE
        if run_config.is_file():
            shutil.copyfile(run_config, sweep_dir / BEST_CONFIG_FILE)
            summary["config"] = str(sweep_dir / BEST_CONFIG_FILE)
        OmegaConf.save(OmegaConf.create(summary), sweep_dir / BEST_TRIAL_FILE)
        log.info(
            "Best of %d job(s): %s = %s (%s) from job %d in %s\n  train it again: %s\n  summary: %s",
            len(results), metric, best["value"], direction, best["job"], best["output_dir"], summary["command"],
            sweep_dir / BEST_TRIAL_FILE,
        )
        if run_config.is_file():
            log.info("Its config (saved as %s):\n%s", sweep_dir / BEST_CONFIG_FILE, run_config.read_text())
        else:
            log.warning("The best job's %s is missing from %s", RUN_CONFIG_FILE, best["output_dir"])
