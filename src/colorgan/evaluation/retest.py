"""Testing a sweep job's checkpoint again exactly as its sweep tested it: the job's own config, Lightning's test loop
and :class:`~colorgan.training.results.TestRecord`, so that every per-photo score is computed as the table's were."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from colorgan.nn.classification import set_temperature
from colorgan.training.results import TEST_PHOTOS_FILE, TestRecord

log = logging.getLogger(__name__)

JOB_CONFIG_FILE = "config.yaml"  # written by colorgan.train into every run's folder


def job_config(output_dir: str | Path) -> DictConfig:
    """The resolved config a job of the sweep ran with (its ``config.yaml``)."""
    path = Path(output_dir) / JOB_CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: {output_dir} is not the folder of a colorgan.train job")
    config = OmegaConf.load(path)
    assert isinstance(config, DictConfig)
    return config


def generators(model: nn.Module) -> list[nn.Module]:
    """The generator and, when the model keeps one, its moving average (the copy that scores and colorizes)."""
    nets: list[nn.Module] = [model.get_submodule("generator")]
    ema = getattr(model, "generator_ema", None)
    if ema is not None:
        nets.append(ema.module)
    return nets


class _SetTemperature(L.Callback):
    """Sets the decoding temperature of a classification head once the checkpoint's weights are in."""

    def __init__(self, temperature: float) -> None:
        self.temperature = float(temperature)

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        for net in generators(pl_module):
            set_temperature(net, self.temperature)  # refuses a regression generator, and T outside [0, 1]


@contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Lightning's per-test banners (GPU available, the metrics table) once per checkpoint would bury the report."""
    names = ("lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def retest_checkpoint(
    config: DictConfig,
    ckpt_path: str | Path,
    out_dir: str | Path,
    temperature: float | None = None,
    accelerator: str | None = None,
) -> Path:
    """Test ``ckpt_path`` on the test split of the job ``config`` describes, as ``colorgan.train test=true`` does
    (the job's model, data, seed and precision; one device), and leave its test record in ``out_dir``
    (``test_metrics.json``, ``test_photos.json``, ``samples/test.{png,pt}``); returns ``out_dir``.

    ``temperature``: decode a classification head at this temperature (the generator and its moving average).
    ``accelerator``: instead of the job's ``trainer.accelerator``.
    """
    out = Path(out_dir)
    if config.get("seed") is not None:
        L.seed_everything(int(config.seed), workers=True, verbose=False)
    model = instantiate(config.model, _recursive_=False)
    datamodule = instantiate(config.data)
    callbacks: list[L.Callback] = [TestRecord(out, int(OmegaConf.select(config, "data.num_sample_images", default=8)))]
    if temperature is not None:
        callbacks.append(_SetTemperature(temperature))
    trainer = L.Trainer(
        accelerator=accelerator or OmegaConf.select(config, "trainer.accelerator", default="auto"),
        devices=1,
        precision=OmegaConf.select(config, "trainer.precision", default=None),
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
        default_root_dir=out,
    )
    with _quiet_lightning():
        trainer.test(model, datamodule=datamodule, ckpt_path=str(ckpt_path), weights_only=True, verbose=False)
    if not (out / TEST_PHOTOS_FILE).is_file():
        raise RuntimeError(f"testing {ckpt_path} left no {out / TEST_PHOTOS_FILE}: no test photo was scored")
    return out
