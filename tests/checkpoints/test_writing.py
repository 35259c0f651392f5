"""When and how checkpoints are written: mid-epoch on a time interval, atomically, with the usual permissions."""

from __future__ import annotations

import os

import lightning as L
import pytest
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint

from colorgan.checkpoints.interval import IntervalCheckpoint
from colorgan.checkpoints.reading import read_checkpoint
from colorgan.checkpoints.writing import AtomicCheckpointIO


class LastCheckpointSteps(L.Callback):
    """Before every training batch, the global step that ``last.ckpt`` holds (None: no file yet)."""

    def __init__(self, path) -> None:
        self.path = path
        self.steps: list[int | None] = []

    def on_train_batch_start(self, *args) -> None:
        self.steps.append(read_checkpoint(self.path)["global_step"] if self.path.exists() else None)


TIME = ["callbacks.interval_checkpoint.train_time_interval.minutes=0"]  # due after every batch
STEPS = [
    "callbacks.interval_checkpoint.train_time_interval=null",
    "callbacks.interval_checkpoint.every_n_train_steps=4",
]


@pytest.mark.parametrize(
    "interval_cls, trigger, expected",
    [
        (IntervalCheckpoint, TIME, [None, 2, 4, 6]),
        (IntervalCheckpoint, STEPS, [None, None, 4, 4]),  # every 4 optimizer steps = every 2 batches
        (ModelCheckpoint, TIME, [None] * 4),  # Lightning's own ignores the time when optimizing by hand
    ],
)
def test_interval_checkpoint_fires_mid_epoch_with_manual_optimization(
    compose_cfg, photo_root, tmp_path, interval_cls, trigger, expected
):
    cfg = compose_cfg(
        f"data.root={photo_root}",
        "trainer.limit_train_batches=4",
        f"callbacks.interval_checkpoint._target_={interval_cls.__module__}.{interval_cls.__name__}",
        *trigger,
        experiment=None,
    )
    interval = instantiate(cfg.callbacks.interval_checkpoint)
    steps = LastCheckpointSteps(tmp_path / "run" / "checkpoints" / "last.ckpt")
    trainer = instantiate(cfg.trainer, callbacks=[interval, steps], logger=False)
    trainer.fit(instantiate(cfg.model, _recursive_=False), datamodule=instantiate(cfg.data))
    assert steps.steps == expected


def test_step_interval_keeps_saving_after_an_odd_number_of_pretraining_steps(compose_cfg, photo_root, tmp_path):
    # one epoch of generator pretraining on 3 batches takes 3 optimizer steps; the GAN epochs then take 2 per batch
    # (5, 7, 9, 11, 13, 15), so the step counter never lands on a multiple of 4 again: the save is due whenever a
    # batch carries it past one (4 at step 5, 8 at step 9, 12 at step 13)
    cfg = compose_cfg(
        f"data.root={photo_root}", "trainer.limit_train_batches=3", "trainer.max_epochs=3",
        "model.l1_warmup_epochs=1", *STEPS, experiment=None,
    )
    steps = LastCheckpointSteps(tmp_path / "run" / "checkpoints" / "last.ckpt")
    trainer = instantiate(cfg.trainer, callbacks=[instantiate(cfg.callbacks.interval_checkpoint), steps], logger=False)
    trainer.fit(instantiate(cfg.model, _recursive_=False), datamodule=instantiate(cfg.data))
    # before each batch: epoch 0 (none yet), epoch 1 (epoch 0's end, then the save at 5), epoch 2 (the save at 9,
    # which was epoch 1's last batch, then the save at 13)
    assert steps.steps == [None, None, None, 3, 5, 5, 9, 9, 13]


class ValidationGetsWorse(L.Callback):
    """Report a worse value of the monitored metric after every epoch, so the best-checkpoint callback never saves
    again."""

    def __init__(self, monitor: str) -> None:
        self.monitor = monitor

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.callback_metrics[self.monitor] = torch.tensor(float(trainer.current_epoch))


def test_last_checkpoint_is_written_every_epoch_even_without_improvement(compose_cfg, photo_root, tmp_path):
    cfg = compose_cfg(f"data.root={photo_root}", "trainer.limit_train_batches=1", "trainer.max_epochs=3",
                      experiment=None)
    steps = LastCheckpointSteps(tmp_path / "run" / "checkpoints" / "last.ckpt")
    callbacks = [
        ValidationGetsWorse(cfg.callbacks.model_checkpoint.monitor),
        instantiate(cfg.callbacks.model_checkpoint),
        instantiate(cfg.callbacks.interval_checkpoint),  # 10 minutes: only its epoch-end saves happen here
        steps,
    ]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=False)
    trainer.fit(instantiate(cfg.model, _recursive_=False), datamodule=instantiate(cfg.data))
    assert steps.steps == [None, 2, 4]  # before each epoch's single batch: the previous epoch's end
    assert [p.name for p in (tmp_path / "run" / "checkpoints").glob("best-*")] == ["best-epoch000.ckpt"]


def test_atomic_checkpoint_gets_the_usual_file_permissions(tmp_path):
    mask = os.umask(0o027)
    try:
        AtomicCheckpointIO().save_checkpoint({"a": 1}, tmp_path / "x" / "last.ckpt")
    finally:
        os.umask(mask)
    assert (tmp_path / "x" / "last.ckpt").stat().st_mode & 0o777 == 0o640
    assert read_checkpoint(tmp_path / "x" / "last.ckpt") == {"a": 1}
