"""StopOnSigterm in one process: it stops the run after the batch, and leaves the signal handling as it found it.

The DDP cases (every rank stops after the same batch; a deadlocked job still exits) are in test_ddp.py.
"""

from __future__ import annotations

import os
import signal

import lightning as L
import pytest
from lightning.pytorch.utilities.exceptions import SIGTERMException

from colorgan.training.sigterm import StopOnSigterm

from helpers.tiny import tiny_data, tiny_model, tiny_trainer


class SendSigterm(L.Callback):
    """Sends this process SIGTERM at the end of training batch ``batch``; records the SIGTERM handler it saw."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self.handler = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.handler = signal.getsignal(signal.SIGTERM)
        if batch_idx == self.batch:
            os.kill(os.getpid(), signal.SIGTERM)

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self.on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)


class CountTestBatches(L.Callback):
    def __init__(self) -> None:
        self.batches = 0

    def on_test_batch_end(self, *args, **kwargs) -> None:
        self.batches += 1


def _wakeup_fd() -> int:
    fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    return fd


def test_sigterm_stops_after_the_batch_and_the_signal_handling_is_put_back(tmp_path, photo_root) -> None:
    before = signal.getsignal(signal.SIGTERM), _wakeup_fd()
    # no watchdog in this test: it would end the test session grace_seconds after the signal
    stop, send = StopOnSigterm(grace_seconds=None), SendSigterm(batch=1)
    trainer = tiny_trainer(tmp_path, limit_train_batches=4, callbacks=[send, stop])
    with pytest.raises(SIGTERMException):
        trainer.fit(tiny_model(), datamodule=tiny_data(photo_root))
    assert trainer.global_step == 2 * 2  # stopped after the batch it was sent in: two optimizer steps a batch
    assert send.handler == stop._on_sigterm  # while training, SIGTERM only sets a flag the ranks agree on
    assert (signal.getsignal(signal.SIGTERM), _wakeup_fd()) == before


def test_sigterm_stops_a_test_run_after_the_batch(tmp_path, photo_root) -> None:
    count = CountTestBatches()
    trainer = tiny_trainer(tmp_path, limit_test_batches=2,
                           callbacks=[SendSigterm(batch=0), StopOnSigterm(grace_seconds=None), count])
    with pytest.raises(SIGTERMException):
        trainer.test(tiny_model(), datamodule=tiny_data(photo_root))
    assert count.batches == 1


def test_a_finished_run_puts_the_signal_handling_back(tmp_path, photo_root) -> None:
    before = signal.getsignal(signal.SIGTERM), _wakeup_fd()
    trainer = tiny_trainer(tmp_path, limit_train_batches=1, callbacks=[StopOnSigterm(grace_seconds=30)])
    trainer.fit(tiny_model(), datamodule=tiny_data(photo_root))
    assert (signal.getsignal(signal.SIGTERM), _wakeup_fd()) == before


def test_grace_seconds_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"callbacks\.stop_on_sigterm\.grace_seconds=0.*null"):
        StopOnSigterm(grace_seconds=0)
