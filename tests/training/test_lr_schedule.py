"""model.lr_decay_epochs: Pix2Pix's constant-then-linear learning rate, from the config, resumed where it stopped."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from colorgan.train import train
from colorgan.training.lr_schedule import LinearDecay, linear_decay


def test_linear_decay_is_the_pix2pix_rule():
    # Pix2Pix (n_epochs=100, n_epochs_decay=100, epoch_count=1): lr_l = 1 - max(0, epoch + 1 - 100) / 101
    f = LinearDecay(total_epochs=200, decay_epochs=100)
    assert [f(e) for e in (0, 98, 99)] == [1.0, 1.0, 1.0]
    assert f(100) == pytest.approx(1 - 1 / 101) and f(199) == pytest.approx(1 / 101)
    lrs = []
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2e-4)
    sched = linear_decay(opt, 200, 100)
    for _ in range(200):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:100] == [2e-4] * 100 and all(a > b for a, b in zip(lrs[99:], lrs[100:]))


@pytest.mark.parametrize("total, decay", [(4, 0), (4, 5)])
def test_a_decay_that_does_not_fit_names_the_settings(total, decay):
    with pytest.raises(ValueError, match=rf"model.lr_decay_epochs={decay} .*trainer.max_epochs={total}"):
        LinearDecay(total, decay)


def test_a_run_without_an_epoch_count_is_refused():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="needs trainer.max_epochs"):
        linear_decay(opt, -1, 2)


def _state(run_dir: Path) -> dict:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


def _lrs(ckpt: dict) -> list[float]:
    return [opt["param_groups"][0]["lr"] for opt in ckpt["optimizer_states"]]


def _logged_lrs(run_dir: Path, version: int = 0) -> list[float]:
    """The rates of G and D (G, D, G, D, ...) that the default callbacks' LR monitor logged at the start of each
    epoch, as the CSV logger wrote them."""
    with open(run_dir / "csv" / f"version_{version}" / "metrics.csv", newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["lr-Adam"]]
    return [float(row[name]) for row in rows for name in ("lr-Adam", "lr-Adam-1")]


@pytest.mark.slow
@pytest.mark.parametrize("first_half", ["model.lr_decay_epochs=2", "model.lr_decay_epochs=0"], ids=["decayed", "none"])
def test_the_schedule_runs_from_the_config_and_resumes_where_it_stopped(compose_cfg, first_half):
    settings = ("model.lr_decay_epochs=2", "trainer.max_epochs=4")
    full = compose_cfg(*settings, output="full")
    train(full)
    whole = _state(Path(full.paths.output_dir))
    # G and D: 4 epochs stepped; after the last one (epoch 3 trained at 1/3 of 2e-4) the rate is 0
    assert [s["last_epoch"] for s in whole["lr_schedulers"]] == [4, 4]
    assert [s["lr_lambdas"][0] for s in whole["lr_schedulers"]] == [{"total_epochs": 4, "decay_epochs": 2}] * 2
    assert _lrs(whole) == pytest.approx([0.0, 0.0], abs=1e-12)
    trained = _logged_lrs(Path(full.paths.output_dir))
    assert trained[::2] == pytest.approx([2e-4, 2e-4, 2e-4 * 2 / 3, 2e-4 / 3])

    # two epochs (a 2-epoch run with the decay decays over its own 2 epochs; one without keeps 2e-4), then the user
    # reruns with ckpt_path=last and trainer.max_epochs=4, model.lr_decay_epochs=2: the schedule goes on from epoch 2
    # (not from the start), its length follows the resumed run's config, and epochs 2 and 3 train at the rates of
    # the run in one go
    mid = compose_cfg(*settings, "trainer.max_epochs=2", first_half, output="half")
    train(mid)
    expected_half = [0.0, 0.0] if first_half.endswith("=2") else [2e-4, 2e-4]
    assert _lrs(_state(Path(mid.paths.output_dir))) == pytest.approx(expected_half, abs=1e-12)
    resumed = compose_cfg(*settings, "ckpt_path=last", output="half")
    train(resumed)
    after = _state(Path(resumed.paths.output_dir))
    assert [s["last_epoch"] for s in after["lr_schedulers"]] == [4, 4]
    assert _logged_lrs(Path(resumed.paths.output_dir), version=1) == pytest.approx(trained[4:], abs=1e-12)
    assert _lrs(after) == pytest.approx(_lrs(whole), abs=1e-12)


def test_a_schedule_set_twice_is_refused():
    from colorgan.training.module import ColorGAN

    step = {"_target_": "torch.optim.lr_scheduler.StepLR", "_partial_": True, "step_size": 1}
    with pytest.raises(ValueError, match="model.lr_decay_epochs=2 and model.scheduler_g/scheduler_d"):
        ColorGAN(lr_decay_epochs=2, scheduler_d=step, image_size=64, generator={"ngf": 8, "num_downs": 4})
