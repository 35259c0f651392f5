"""A hinted model trains from the command line's config, and fine-tunes from an automatic checkpoint."""

from __future__ import annotations

import pytest
import torch
from tests.helpers.runs import train_tiny

from colorgan.checkpoints.reading import load_generator, read_checkpoint


@pytest.mark.slow
def test_a_hinted_model_trains_and_its_checkpoint_says_so(tmp_path, photo_root):
    ckpt = train_tiny(tmp_path / "hinted", f"data.root={photo_root}", "model.hints.enabled=true")
    generator, weights = load_generator(ckpt)
    assert weights.generator["in_channels"] == 4 and generator.downs[0].in_channels == 4
    hp = read_checkpoint(ckpt)["hyper_parameters"]
    assert hp["hints"]["enabled"] and hp["hints"]["p"] == 0.125


@pytest.mark.slow
def test_d_can_see_the_hints(tmp_path, photo_root):
    ckpt = train_tiny(tmp_path / "d", f"data.root={photo_root}", "model.hints.enabled=true",
                      "model.hints.discriminator=true")
    state = read_checkpoint(ckpt)["state_dict"]
    assert state["discriminator.model.0.weight"].shape[1] == 6


def test_a_hinted_model_fine_tunes_from_an_automatic_checkpoint(tmp_path, photo_root, tiny_ckpt):
    auto = read_checkpoint(tiny_ckpt)["state_dict"]["generator.downs.0.weight"]
    ckpt = train_tiny(tmp_path / "tuned", f"data.root={photo_root}", "model.hints.enabled=true",
                      f"model.init_from={tiny_ckpt}", "trainer.limit_train_batches=3")
    tuned = read_checkpoint(ckpt)["state_dict"]["generator.downs.0.weight"]
    assert tuned.shape[1] == 4 and auto.shape[1] == 1
    # it started from the automatic weights (three Adam steps of lr 2e-4 move each weight by at most about 6e-4) ...
    assert (tuned[:, :1] - auto).abs().max() < 1e-3
    # ... and the hint channels, which started at zero, have learned something
    assert tuned[:, 1:].abs().max() > 0
    assert torch.count_nonzero(tuned[:, 1:]) > tuned[:, 1:].numel() // 2


def test_resuming_an_automatic_run_with_hints_points_to_init_from(tmp_path, tiny_ckpt):
    from tests.helpers.tiny import TINY_D

    from colorgan.checkpoints.resume import ResumeError, resolve_ckpt_path
    from colorgan.training.module import ColorGAN

    hp = read_checkpoint(tiny_ckpt)["hyper_parameters"]
    generator = {k: v for k, v in hp["generator"].items() if k != "in_channels"}  # as the config derives it
    hinted = ColorGAN(generator=generator, discriminator=TINY_D, image_size=64, hints={"enabled": True})
    with pytest.raises(ResumeError, match=r"(?s)in_channels: checkpoint 1, config 4.*model.init_from="):
        resolve_ckpt_path(str(tiny_ckpt), tmp_path, dict(hinted.hparams))
