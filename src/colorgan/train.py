"""Train a colorizer: ``python -m colorgan.train +experiment=sports data.root=DIR``.

Hydra composes ``conf/train.yaml``; this file only instantiates the pieces, fits, and returns the metric a sweeper
optimises (``optimized_metric``).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf, open_dict

from colorgan.checkpoints.resume import resolve_ckpt_path
from colorgan.config import config_dir, in_multirun
from colorgan.data.host_memory import keep_freed_memory
from colorgan.training.distributed import check_ddp_setup, launched_as_rank_zero, sync_batchnorm_where_it_runs
from colorgan.training.loggers import build_loggers, finish_wandb

log = logging.getLogger(__name__)


def _instantiate_callbacks(cfg: DictConfig | None) -> list[L.Callback]:
    if not cfg:
        return []
    return [instantiate(c) for c in cfg.values() if isinstance(c, DictConfig) and "_target_" in c]


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit the model ``cfg`` describes. Returns the final callback metrics as floats, plus ``best_model_path``."""
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)

    model = instantiate(cfg.model, _recursive_=False)
    ckpt_path, output_dir = resolve_ckpt_path(cfg.get("ckpt_path"), cfg.paths.output_dir, dict(model.hparams))
    if ckpt_path is None:  # a new run: read pretrained weights now, before the data is prepared (resumes need none)
        model.load_pretrained_weights()
    if str(output_dir) != str(cfg.paths.output_dir):
        if launched_as_rank_zero() and Path(cfg.paths.output_dir).is_dir():
            # Hydra already made this command's own folder (its .hydra/ record and log): say where the run went
            (Path(cfg.paths.output_dir) / "RESUMED_IN.txt").write_text(f"{output_dir}\n")
        with open_dict(cfg):
            cfg.paths.output_dir = str(output_dir)  # everything that interpolates it now follows the resumed run
    output_dir.mkdir(parents=True, exist_ok=True)
    sync_batchnorm_where_it_runs(cfg)
    if launched_as_rank_zero():
        OmegaConf.save(cfg, output_dir / "config.yaml", resolve=True)

    datamodule = instantiate(cfg.data)
    callbacks = _instantiate_callbacks(cfg.get("callbacks"))
    loggers = build_loggers(cfg.get("logger"), output_dir)
    if not loggers:
        # Lightning's LR monitor refuses to start without a logger; with none there is nowhere to log the rates
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
        log.info("No logger (~logger): metrics and learning rates are not logged; checkpoints and samples/ are written")
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    check_ddp_setup(trainer, multirun=in_multirun())
    if trainer.world_size > 1 and launched_as_rank_zero():
        log.info(
            "DDP on %d processes: effective batch %d photos per optimizer step (data.batch_size=%d per process)",
            trainer.world_size, trainer.world_size * int(cfg.data.batch_size), int(cfg.data.batch_size),
        )
    for lg in loggers:
        lg.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))

    log.info("Output folder: %s", output_dir)
    try:
        trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
        metrics: dict[str, Any] = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        best = getattr(trainer.checkpoint_callback, "best_model_path", "") or ""
        metrics["best_model_path"] = best
        if best:
            log.info("Best checkpoint: %s", best)
        if cfg.get("test"):
            trainer.test(model, datamodule=datamodule, ckpt_path=best or None, weights_only=True)
            metrics.update({k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1})
    except SIGTERMException as stop:
        # Lightning ends a run stopped by SIGTERM with SystemExit(None), i.e. exit status 0 as if it had finished:
        # a scheduler would mark the job done and `train && evaluate` would go on. Exit as killed by SIGTERM.
        log.warning(
            "Stopped by SIGTERM at epoch %d, global step %d. Resume with ckpt_path=last (output folder %s).",
            trainer.current_epoch, trainer.global_step, output_dir,
        )
        raise SIGTERMException(128 + signal.SIGTERM) from stop
    finally:
        finish_wandb()
    return metrics


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def _hydra_entry(cfg: DictConfig) -> float | None:
    metrics = train(cfg)
    name = cfg.get("optimized_metric")
    if name and name not in metrics:
        log.warning("optimized_metric '%s' was not logged; known: %s", name, ", ".join(sorted(metrics)))
        return None
    return metrics.get(name) if name else None


def removals_spelled_as_null(args: list[str]) -> list[str]:
    """``logger=null`` -> ``~logger`` for every config group of ``conf/`` (``logger``, ``callbacks``, ...).

    Hydra 1.1 and later remove a group from the defaults list only with ``~group`` and stop at ``group=null`` with
    "Config group override must be a string or a list. Got NoneType"; ``group=null`` is the older spelling, which
    many Lightning + Hydra projects still document.
    """
    groups = {p.name for p in config_dir().iterdir() if p.is_dir()}
    out = []
    for arg in args:
        name, sep, value = arg.partition("=")
        out.append(f"~{name}" if sep and value == "null" and name in groups else arg)
    return out


def main() -> None:
    """Console entry point (``colorgan-train``)."""
    sys.argv[1:] = removals_spelled_as_null(sys.argv[1:])
    keep_freed_memory()
    # A W&B service inherited from the process that started this command (a notebook, a test runner, a script
    # that ran wandb itself) keeps this run's stream registered when the command is killed hard, and resuming the
    # run under its id is then refused ("run ID ... is in use"). Each training command talks to a service of its own.
    os.environ.pop("WANDB_SERVICE", None)
    # Lightning's own use of a torch API that torch now deprecates: nothing a user can act on
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    _hydra_entry()


if __name__ == "__main__":
    main()
