"""Where the Hydra configs are, and the few OmegaConf resolvers they use (importing it also registers the
config schemas of :mod:`colorgan.config.schema`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

import colorgan.config.schema  # noqa: F401 - registers the config schemas with Hydra
from colorgan.metrics import metric_direction

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the colorgan package folder


def config_dir() -> Path:
    """The ``conf/`` folder: inside the installed package, or at the top of a source checkout."""
    for candidate in (PACKAGE_DIR / "conf", PACKAGE_DIR.parents[1] / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise FileNotFoundError(
        f"colorgan's Hydra configs were not found next to {PACKAGE_DIR}; reinstall the package (pip install colorgan)"
    )


def asset_path(name: str) -> str:
    """Absolute path of a file or folder shipped in ``colorgan/assets`` (``${asset:demo}`` in configs)."""
    path = PACKAGE_DIR / "assets" / name
    if not path.exists():
        raise FileNotFoundError(f"colorgan asset '{name}' is missing from {path.parent}")
    return str(path)


def auto_precision() -> str:
    """``bf16-mixed`` on a CUDA device that supports it, otherwise full ``32-true`` precision."""
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def _hydra_job() -> Any:
    """Hydra's config of the running job, or None outside a Hydra app (e.g. the compose API in tests)."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def in_multirun() -> bool:
    """True inside a job of a Hydra multirun (``-m``, or a sweeper config such as ``+hparams_search=optuna``)."""
    from hydra.types import RunMode

    hc = _hydra_job()
    return hc is not None and hc.mode == RunMode.MULTIRUN


def on_cuda() -> bool:
    """True when a CUDA GPU is visible (``${on_cuda:}``: GPU-only speed switches such as channels-last)."""
    return torch.cuda.is_available()


def run_output_dir(default: str) -> str:
    """The output folder of this run: the folder Hydra made for the job, else ``default``.

    In a multirun that is the job's own sweep sub-folder. In a single run it is ``default`` itself, except in
    the DDP worker processes Lightning starts: they get the first process's folder as ``hydra.run.dir``, so all
    ranks share one output folder although ``default`` holds the time they started.
    """
    hc = _hydra_job()
    if hc is not None:
        # unset while Hydra resolves hydra.run.dir (= this very value) for the first time
        job_dir = OmegaConf.select(hc, "runtime.output_dir", default=None)
        if job_dir:
            return str(job_dir)
    return default


def run_group(experiment: str) -> str:
    """The W&B group: ``experiment`` for a single run; ``<experiment>-sweep-<sweep folder>`` for every job of a
    multirun (``<sweep folder>`` is its start time by default), so a sweep's runs sit together."""
    if in_multirun():
        return f"{experiment}-sweep-{Path(str(_hydra_job().sweep.dir)).name}"
    return experiment


def run_name(experiment: str) -> str:
    """The W&B run name: ``experiment``, with the job number appended in a multirun (``sports-3``)."""
    if in_multirun():
        return f"{experiment}-{_hydra_job().job.num}"
    return experiment


def cpu_workers(limit: int = 8) -> int:
    """A sensible default number of data workers: the CPUs this process may use, at most ``limit``."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(0, min(limit, n))


def unet_depth(image_size: int, max_depth: int = 8) -> int:
    """Number of U-Net down blocks for ``image_size``: as many halvings as it allows, at most ``max_depth``."""
    size, depth = int(image_size), 0
    while size % 2 == 0 and depth < max_depth:
        size //= 2
        depth += 1
    if depth < 5:
        raise ValueError(f"data.image_size={image_size} must be a multiple of 32 (the U-Net halves it 5+ times)")
    return depth


def hint_channels(enabled: bool) -> int:
    """``model.generator.in_channels`` for ``model.hints.enabled``: 4 (L, ab hints, mask) or 1 (L)."""
    from colorgan.nn.hints import input_channels

    return input_channels(bool(enabled))


def d_channels(hints: bool, sees_hints: bool) -> int:
    """``model.discriminator.in_channels``: L and ab (3), plus the hint map (3) when D sees the hints."""
    from colorgan.nn.hints import HINT_CHANNELS

    return 3 + (HINT_CHANNELS if hints and sees_hints else 0)


def head_channels(head: str) -> int:
    """``model.generator.out_channels`` for ``model.head``: 2 (ab) for regression, the classification head's
    feature channels (:class:`colorgan.nn.classification.ClassificationHead`) for classification."""
    if head == "classification":
        from colorgan.nn.classification import ClassificationHead

        return ClassificationHead.FEATURES
    if head != "regression":
        raise ValueError(f"model.head must be regression or classification, got {head!r}")
    return 2


def register_resolvers() -> None:
    for name, fn in (
        ("asset", asset_path),
        ("cwd", os.getcwd),
        ("unet_depth", unet_depth),
        ("auto_precision", auto_precision),
        ("on_cuda", on_cuda),
        ("run_output_dir", run_output_dir),
        ("run_group", run_group),
        ("run_name", run_name),
        ("metric_direction", metric_direction),
        ("cpu_workers", cpu_workers),
        ("hint_channels", hint_channels),
        ("d_channels", d_channels),
        ("head_channels", head_channels),
    ):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


register_resolvers()
