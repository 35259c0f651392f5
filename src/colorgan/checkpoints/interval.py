"""``last.ckpt``: every few minutes (or steps) inside an epoch, also under manual optimization, and every epoch."""

from __future__ import annotations

import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint


class IntervalCheckpoint(ModelCheckpoint):
    """A :class:`~lightning.pytorch.callbacks.ModelCheckpoint` whose mid-epoch triggers work when the
    LightningModule optimizes by hand, as colorgan's GAN does.

    Lightning (up to at least 2.6) checks only ``every_n_train_steps`` in ``on_train_batch_end`` when
    ``automatic_optimization`` is off: a ``train_time_interval`` silently never saves mid-epoch, so a killed run
    loses the whole epoch, and ``every_n_train_steps`` warns at every save about a "pre-optimization state" that
    does not apply here. This class handles both triggers itself in that case and leaves everything else to
    ``ModelCheckpoint`` (same arguments, same files):

    * ``train_time_interval``: save when this much time has passed since the last save (decided on rank 0 and
      broadcast, since the ranks' clocks differ);
    * ``every_n_train_steps``: save when a batch carries ``trainer.global_step`` onto or past a multiple of it. It
      counts optimizer steps: one per batch in the generator pretraining, two per batch while the GAN loss is on.
      Lightning's own test (the step *is* a multiple) never fires again once an odd number of pretraining steps
      has put the counter on odd values.

    With ``save_last`` it also writes ``last.ckpt`` at the end of every training epoch (a monitoring
    ``ModelCheckpoint`` writes it only in the epochs where its metric improved), and once more when training ends,
    so that the final file records the last epoch as completed.

    A run that ``trainer.max_steps``, ``trainer.max_time`` or ``trainer.should_stop`` ends inside an epoch gets its
    ``last.ckpt`` after the batch it stopped on, as such a mid-epoch checkpoint, and not the epoch-end one Lightning
    would write next: Lightning closes the cut-short epoch as if it were complete (the epoch counter moves on, the
    epoch's learning-rate step is taken), and a run resumed from that file would skip the rest of the epoch.

    The checkpoint is taken after the batch's optimizer steps; resuming from it continues with the next batch of
    the same epoch. The interval is not part of the callback's identity in the checkpoint, so a run can be resumed
    with another interval without Lightning asking for "the callbacks used to create the checkpoint".
    """

    @property
    def state_key(self) -> str:
        return self._generate_state_key(monitor=self.monitor, mode=self.mode)

    # under DDP the ranks agree on the clock with a broadcast (a host sync): only every this many batches
    DDP_TIME_CHECK_EVERY = 16

    # the optimizer-step counter when the current batch started (-1: not seen yet)
    _step_before_batch = -1

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._step_before_batch = trainer.global_step

    def _due(self, trainer: L.Trainer, batch_idx: int) -> bool:
        if self._every_n_train_steps >= 1:
            n = self._every_n_train_steps
            before = self._step_before_batch if self._step_before_batch >= 0 else trainer.global_step - 1
            return trainer.global_step // n > before // n
        if self._train_time_interval is None:
            return False
        if trainer.world_size > 1 and (batch_idx + 1) % self.DDP_TIME_CHECK_EVERY:
            return False
        started = self._last_time_checked
        due = started is not None and time.monotonic() - started >= self._train_time_interval.total_seconds()
        return bool(trainer.strategy.broadcast(due))

    # set when the run stops inside an epoch: last.ckpt then holds the state after its last batch, for good
    _stopped_mid_epoch = False

    @staticmethod
    def _stops_mid_epoch(trainer: L.Trainer) -> bool:
        """True after a batch that ends the run while the epoch still has batches to go (checked in
        ``on_train_batch_end``, where Lightning has already counted the batch's steps and ``Timer`` has had its
        say: checkpoint callbacks run last)."""
        batches = trainer.fit_loop.epoch_loop.batch_progress
        if batches.is_last_batch or batches.current.ready >= trainer.num_training_batches:
            return False
        out_of_steps = trainer.max_steps >= 0 and trainer.global_step >= trainer.max_steps
        # should_stop (Timer, EarlyStopping, a user) ends the epoch only once trainer.min_epochs/min_steps are met
        min_epochs, min_steps = trainer.fit_loop.min_epochs or 0, trainer.fit_loop.min_steps or 0
        can_stop = trainer.current_epoch >= min_epochs and trainer.global_step >= min_steps
        return out_of_steps or (trainer.should_stop and can_stop)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._stopped_mid_epoch = False

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self.save_last and not self._stopped_mid_epoch and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.save_last and not trainer.fast_dev_run and not self._stopped_mid_epoch:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if pl_module.automatic_optimization:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
            return
        stopping = self.save_last and self._stops_mid_epoch(trainer)
        if stopping:
            self._stopped_mid_epoch = True
        if not (stopping or self._due(trainer, batch_idx)) or self._should_skip_saving_checkpoint(trainer):
            return
        self._last_time_checked = time.monotonic()
        candidates = self._monitor_candidates(trainer)
        self._save_topk_checkpoint(trainer, candidates)
        self._save_last_checkpoint(trainer, candidates)
