"""Building the experiment loggers; W&B never prompts and a resumed run keeps its W&B run."""

from __future__ import annotations

import logging
import netrc
import os
import secrets
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from hydra.utils import instantiate
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf, open_dict

from colorgan.training.distributed import launched_as_rank_zero

log = logging.getLogger(__name__)

WANDB_ID_FILE = "wandb_run_id.txt"


def wandb_api_key_available() -> bool:
    """True when W&B could log in without asking: an API key in the environment or in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname or "api.wandb.ai"
    try:
        return netrc.netrc().authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_mode(requested: str | None) -> str:
    """``auto`` -> ``online`` with an account, else ``offline``; ``online`` without an account -> ``offline``."""
    requested = (requested or "auto").lower()
    if requested in ("offline", "disabled", "dryrun"):
        return requested
    if wandb_api_key_available():
        return "online"
    if requested == "online":
        log.warning("W&B: no API key (WANDB_API_KEY or ~/.netrc) found, logging offline; sync later with `wandb sync`")
    return "offline"


def new_wandb_run_id(length: int = 8) -> str:
    """A fresh W&B-style run id: ``length`` random lowercase letters and digits."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(length))


def wandb_run_id(output_dir: Path) -> str:
    """The W&B run id of this output folder: read from ``wandb_run_id.txt``, or made and written there.

    A new folder takes the id a W&B sweep agent assigned (``WANDB_RUN_ID``), so the run stays part of the sweep.
    """
    id_file = output_dir / WANDB_ID_FILE
    if id_file.is_file():
        run_id = id_file.read_text().strip()
        if run_id:
            return run_id
    run_id = os.environ.get("WANDB_RUN_ID") or new_wandb_run_id()
    output_dir.mkdir(parents=True, exist_ok=True)
    id_file.write_text(run_id + "\n")
    return run_id


def _is_wandb(cfg: Mapping[str, Any]) -> bool:
    return str(cfg.get("_target_", "")).endswith("WandbLogger")


def build_loggers(logger_cfg: DictConfig | None, output_dir: str | Path) -> list[Logger]:
    """Instantiate every logger of the ``logger`` config group (a dict of ``name: {_target_: ...}``)."""
    if not logger_cfg:
        return []
    output_dir = Path(output_dir)
    loggers: list[Logger] = []
    for name, cfg in logger_cfg.items():
        if not isinstance(cfg, (DictConfig, dict)) or "_target_" not in cfg:
            continue
        cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True)) if isinstance(cfg, DictConfig) else cfg
        if _is_wandb(cfg):
            with open_dict(cfg):
                cfg.mode = wandb_mode(cfg.get("mode"))
                # Only rank 0 logs to W&B, and only it may create the id file the other ranks would race on.
                if cfg.mode != "disabled" and launched_as_rank_zero():
                    cfg.id = cfg.get("id") or wandb_run_id(output_dir)
                    cfg.resume = cfg.get("resume") or "allow"
            os.environ.setdefault("WANDB_SILENT", "true")
            log.info("W&B logger: mode=%s, run id=%s, dir=%s", cfg.mode, cfg.get("id"), cfg.get("save_dir"))
        loggers.append(instantiate(cfg))
        log.debug("Logger %s ready", name)
    return loggers


def finish_wandb() -> None:
    """Close the W&B run (if any), so the next job of a multirun starts its own."""
    try:
        import wandb
    except ImportError:  # pragma: no cover - wandb is a dependency
        return
    if wandb.run is not None:
        wandb.finish()
