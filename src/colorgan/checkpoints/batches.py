"""``batches-NNNNNN.ckpt``: a checkpoint every N training batches, so that runs can be compared at equal steps."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import lightning as L

FILE_PATTERN = re.compile(r"^batches-(\d+)\.ckpt$")


def batches_file(dirpath: str | Path, batches: int) -> Path:
    """The checkpoint file written after ``batches`` training batches: ``DIR/batches-000050.ckpt``."""
    return Path(dirpath) / f"batches-{batches:06d}.ckpt"


def saved_batch_counts(dirpath: str | Path) -> dict[int, Path]:
    """batch count -> checkpoint file, for the ``batches-*.ckpt`` files in ``dirpath`` (empty when none)."""
    folder = Path(dirpath)
    if not folder.is_dir():
        return {}
    found = {}
    for path in folder.iterdir():
        match = FILE_PATTERN.match(path.name)
        if match:
            found[int(match.group(1))] = path
    return dict(sorted(found.items()))


class BatchCheckpoints(L.Callback):
    """Save the whole training state as ``batches-NNNNNN.ckpt`` in ``dirpath`` after every ``every_n_batches``-th
    training batch.

    It counts batches, not ``trainer.global_step``: under colorgan's manual optimization the step counter rises by
    two per batch while the GAN is on and by one in the generator pretraining, so equal steps would not be equal
    training. The count is part of the checkpoint's callback state: a run resumed from any of its checkpoints
    (``last.ckpt`` included) goes on counting where it stopped. ``every_n_batches=None`` (or 0) turns it off.

    The files hold the weights only (the generator, its moving average, the discriminator; no optimizer state),
    written through the trainer (atomically, with colorgan's checkpoint IO): a third of a full checkpoint, since a
    sweep leaves many of them. ``colorgan.evaluate ckpt_path=...`` and ``trainer.test(ckpt_path=...)`` read them;
    a run resumes from ``last.ckpt``, not from these.
    """

    def __init__(self, dirpath: str | Path, every_n_batches: int | None = None) -> None:
        if every_n_batches is not None and int(every_n_batches) < 0:
            raise ValueError(
                f"callbacks.batch_checkpoints.every_n_batches must be positive (or null: off), got {every_n_batches}"
            )
        self.dirpath = Path(dirpath)
        self.every_n_batches = int(every_n_batches or 0)
        self.batches = 0  # training batches seen by this run, over all its resumes

    @property
    def state_key(self) -> str:
        # N is not part of the identity: a run can be resumed with another N and still continue its count
        return type(self).__name__

    def state_dict(self) -> dict[str, Any]:
        return {"batches": self.batches}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.batches = int(state_dict.get("batches", 0))

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.batches += 1
        if self.every_n_batches <= 0 or self.batches % self.every_n_batches or getattr(trainer, "fast_dev_run", False):
            return
        # every rank calls it (a collective); rank 0 writes
        trainer.save_checkpoint(batches_file(self.dirpath, self.batches), weights_only=True)
