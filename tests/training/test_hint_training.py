"""A hinted model trains from the command line's config, and fine-tunes from an automatic checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from tests.helpers.runs import SRC, train_tiny

from colorgan.checkpoints.reading import load_generator, read_checkpoint
from colorgan.color import AB_SCALE, rgb_to_model_lab
from colorgan.inference.colorizer import Colorizer


@pytest.mark.slow
def test_a_hinted_model_trains_and_its_checkpoint_says_so(tiny_hinted_ckpt):
    # conftest's session checkpoint is this very run (the TINY model, data.root=photo_root, model.hints.enabled=true),
    # which the page's, the CLI's and the evaluation's tests read too: trained once for all of them
    ckpt = tiny_hinted_ckpt
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
    with pytest.raises(ResumeError, match=r"(?s)in_channels: checkpoint 1, config 4.*\+recipe=hints model.init_from="):
        resolve_ckpt_path(str(tiny_ckpt), tmp_path, dict(hinted.hparams))


def _b_star_under(image: Image.Image, x: int, y: int, half: int = 4) -> float:
    """The mean b* (CIE units) of the ``(2 half + 1)``-pixel square centred on ``(x, y)``."""
    rgb = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None].float() / 255
    return float(rgb_to_model_lab(rgb)[1][0, 1, y - half : y + half + 1, x - half : x + half + 1].mean() * AB_SCALE)


@pytest.mark.slow
def test_the_documented_hints_demo_follows_a_blue_point(tmp_path):
    # the command the docs give, as a person runs it (outputs under the working folder), on the demo photos
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "WANDB_MODE": "disabled"}
    run = subprocess.run(
        [sys.executable, "-m", "colorgan.train", "+experiment=demo_hints"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, env=env,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (ckpt,) = tmp_path.glob("logs/demo_hints/runs/*/checkpoints/last.ckpt")
    colorizer = Colorizer.from_checkpoint(ckpt, device="cpu")
    photo = Image.new("RGB", (256, 192), (128, 128, 128))
    without = _b_star_under(colorizer(photo), 128, 96)
    blue = _b_star_under(colorizer(photo, hints=[{"x": 128, "y": 96, "color": "#1040e0", "size": 9}]), 128, 96)
    print(f"b* in the 9x9 patch: {without:.2f} without the point, {blue:.2f} with it")
    assert without - blue >= 5, f"a blue point moved b* under it from {without:.2f} to {blue:.2f} only"


@pytest.mark.parametrize("overrides", [("+recipe=hints",), ()])
def test_the_hints_recipe_trains_the_generator_alone_on_l1_at_1e_3(compose_cfg, overrides):
    cfg = compose_cfg(*overrides, tiny=False, experiment=None if overrides else "demo_hints")
    assert cfg.model.hints.enabled and cfg.recipe_name == "hints"
    assert cfg.model.l1_warmup_epochs > 10 * cfg.trainer.max_epochs  # the GAN never switches on
    assert cfg.model.optimizer_g.lr == pytest.approx(1e-3)
