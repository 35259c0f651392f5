"""batches-NNNNNN.ckpt: saved every N training batches (not optimizer steps), counted on across a resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from colorgan.checkpoints.batches import BatchCheckpoints, saved_batch_counts
from colorgan.checkpoints.reading import read_checkpoint

from helpers.runs import train_tiny


def test_saves_every_n_batches_and_counts_on_after_a_resume(photo_root: Path, tmp_path: Path) -> None:
    # 16 training photos, 4 a batch: 4 batches an epoch; the GAN is on from the first batch (2 optimizer steps each)
    settings = [
        f"data.root={photo_root}",
        "trainer.limit_train_batches=4",
        "model.l1_warmup_epochs=0",
        "callbacks.batch_checkpoints.every_n_batches=3",
    ]
    last = train_tiny(tmp_path, *settings)
    folder = last.parent
    assert sorted(saved_batch_counts(folder)) == [3]
    assert read_checkpoint(last)["global_step"] == 8  # 2 steps a batch: a step count would have saved at 3 and 6

    train_tiny(tmp_path, *settings, "trainer.max_epochs=2", "ckpt_path=last")  # resumes epoch 1 from last.ckpt
    saved = saved_batch_counts(folder)
    assert sorted(saved) == [3, 6]  # a count restarted at the resume would have saved at batch 3 of the second run
    state = read_checkpoint(folder / "last.ckpt")["callbacks"]["BatchCheckpoints"]
    assert state == {"batches": 8}
    # weights only, readable by what tests and colorizes; the weights differ from one count to the next
    six = read_checkpoint(saved[6])
    assert "optimizer_states" not in six
    three = read_checkpoint(saved[3])["state_dict"]
    assert any(not torch.equal(three[k], v) for k, v in six["state_dict"].items() if k.startswith("generator."))


def test_off_by_default_and_refuses_a_negative_count(compose_cfg, tmp_path: Path) -> None:
    cfg = compose_cfg()
    assert cfg.callbacks.batch_checkpoints.every_n_batches is None
    assert BatchCheckpoints(tmp_path).every_n_batches == 0
    with pytest.raises(ValueError, match="every_n_batches"):
        BatchCheckpoints(tmp_path, every_n_batches=-1)
