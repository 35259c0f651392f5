"""`python -m colorgan.train` end to end: every experiment, outputs on disk, W&B, overrides and resume."""

from __future__ import annotations

import csv
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.checkpoints.resume import ResumeError
from colorgan.config import config_dir
from colorgan.data import NoImagesError
from colorgan.metrics import SELECTION_METRIC
from colorgan.train import train
from colorgan.training.loggers import WANDB_ID_FILE

from helpers.fault_injection import Pace, callback_overrides
from helpers.photos import write_photos
from helpers.runs import run_module

EXPERIMENTS = sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))


def test_the_experiments_we_document_exist():
    assert {"demo", "demo_hints", "sports", "sports_lite0"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_and_trains(compose_cfg, photo_root, experiment):
    cfg = compose_cfg(f"data.root={photo_root}", experiment=experiment)
    assert cfg.experiment_name == experiment
    if cfg.model.generator.get("weights") is not None:
        cfg.model.generator.weights = None  # random encoder weights: no test downloads ImageNet weights
    metrics = train(cfg)
    out = Path(cfg.paths.output_dir)
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert torch.isfinite(torch.tensor(metrics["val/l1_ab"]))


def test_sports_experiment_is_the_pix2pix_setup(compose_cfg):
    cfg = compose_cfg(experiment="sports", tiny=False)
    assert cfg.data.image_size == 256 and cfg.data.batch_size == 12 and cfg.data.flip_p == 0.5
    assert cfg.model.generator.ngf == 64 and cfg.model.generator.num_downs == 8 and cfg.model.discriminator.ndf == 64
    assert cfg.model.optimizer_g.lr == 2e-4 and list(cfg.model.optimizer_g.betas) == [0.5, 0.999]
    assert cfg.model.optimizer_d.lr == 2e-4 and list(cfg.model.optimizer_d.betas) == [0.5, 0.999]
    assert cfg.model.gan_mode == "vanilla" and cfg.model.lambda_l1 == 100
    assert cfg.trainer.accelerator == "auto"


def test_sports_lite0_experiment_is_the_recipe_the_quality_table_supports(compose_cfg):
    cfg = compose_cfg(experiment="sports_lite0", tiny=False)
    recipe = compose_cfg("+recipe=lite0_unet_imagenet", tiny=False)
    assert cfg.data.image_size == 256 and cfg.data.batch_size == 12 and cfg.data.flip_p == 0.5
    g = cfg.model.generator
    assert g.name == recipe.model.generator.name == "encoder_unet"
    assert g.encoder == recipe.model.generator.encoder == "tf_efficientnet_lite0"
    assert g.weights == recipe.model.generator.weights == "lite0_imagenet"
    assert cfg.model.l1_warmup_epochs > 0 and cfg.model.ema_decay > 0 and cfg.model.discriminator.ndf == 64


def test_demo_outputs_checkpoints_samples_and_config(compose_cfg):
    cfg = compose_cfg("trainer.max_epochs=2")
    metrics = train(cfg)
    out = Path(cfg.paths.output_dir)
    ckpts = sorted(p.name for p in (out / "checkpoints").glob("*.ckpt"))
    assert "last.ckpt" in ckpts and any(name.startswith("best-epoch") for name in ckpts)
    assert Path(metrics["best_model_path"]).is_file()
    grids = sorted((out / "samples").glob("epoch*.png"))
    assert len(grids) == 2  # one per validation, sanity check excluded
    grid = Image.open(grids[-1])
    # three rows (gray | colorized | truth) of 64 px photos, 3 columns (data.num_sample_images=3) plus labels
    assert grid.height == 3 * 64 + 4 * 2 and grid.width > 3 * 64
    assert (out / "samples" / "latest.png").is_file()
    assert (out / "config.yaml").is_file() and "experiment_name: demo" in (out / "config.yaml").read_text()
    assert (out / "csv" / "version_0" / "metrics.csv").is_file()


def test_best_checkpoint_is_the_epoch_with_the_best_selection_metric(compose_cfg):
    cfg = compose_cfg("trainer.max_epochs=3")
    metrics = train(cfg)
    out = Path(cfg.paths.output_dir)
    with open(out / "csv" / "version_0" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get(f"val/{SELECTION_METRIC}")]
    scores = {int(r["epoch"]): float(r[f"val/{SELECTION_METRIC}"]) for r in rows}
    assert len(scores) == 3
    best = torch.load(metrics["best_model_path"], map_location="cpu", weights_only=True)
    [state] = [v for k, v in best["callbacks"].items() if k.startswith("ModelCheckpoint")]
    assert state["monitor"] == f"val/{SELECTION_METRIC}"
    assert Path(metrics["best_model_path"]).name == f"best-epoch{min(scores, key=scores.get):03d}.ckpt"


def test_sample_grid_shows_the_same_photos_every_time(compose_cfg):
    cfg = compose_cfg("trainer.max_epochs=2")
    train(cfg)
    first, second = sorted((Path(cfg.paths.output_dir) / "samples").glob("epoch*.png"))
    a, b = (torch.from_numpy(np.array(Image.open(p))) for p in (first, second))
    third = a.shape[0] // 3
    assert torch.equal(a[2 * third :], b[2 * third :])  # the ground-truth row is identical
    assert torch.equal(a[:third], b[:third])  # and so is the gray row


def test_wandb_offline_run_gets_the_sample_grids(compose_cfg):
    cfg = compose_cfg("logger=wandb")
    train(cfg)
    out = Path(cfg.paths.output_dir)
    run_id = (out / WANDB_ID_FILE).read_text().strip()
    runs = list((out / "wandb").glob(f"offline-run-*-{run_id}"))
    assert len(runs) == 1, list((out / "wandb").iterdir())
    images = list((runs[0] / "files" / "media" / "images").glob("samples_*.png"))
    assert images, "the sample grid must be logged to W&B"
    assert Image.open(images[0]).height == 3 * 64 + 4 * 2


class ResumeProbe(L.Callback):
    """Records what a resumed run starts from (used through a Hydra override below)."""

    seen: dict = {}

    def on_train_start(self, trainer, pl_module):
        opt_g = pl_module.optimizers()[0].optimizer
        first = next(iter(pl_module.generator.parameters()))
        ResumeProbe.seen = {
            "epoch": trainer.current_epoch,
            "global_step": trainer.global_step,
            "generator": {k: v.detach().clone() for k, v in pl_module.generator.state_dict().items()},
            "exp_avg": opt_g.state[first]["exp_avg"].clone() if first in opt_g.state else None,
            "epochs_run": 0,
        }

    def on_train_epoch_start(self, trainer, pl_module):
        ResumeProbe.seen["epochs_run"] += 1


def test_resume_from_last_trains_exactly_one_more_epoch(compose_cfg):
    first = compose_cfg("trainer.max_epochs=1")
    train(first)
    last = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    saved = torch.load(last, map_location="cpu", weights_only=True)
    assert saved["global_step"] == 4  # 2 batches x 2 optimizer steps
    assert saved["loops"]["fit_loop"]["epoch_progress"]["current"]["completed"] == 1

    second = compose_cfg("trainer.max_epochs=2", "ckpt_path=last", "+callbacks.probe._target_=test_train.ResumeProbe")
    train(second)
    seen = ResumeProbe.seen
    assert seen["epoch"] == 1 and seen["global_step"] == 4 and seen["epochs_run"] == 1
    state = {k[len("generator."):]: v for k, v in saved["state_dict"].items() if k.startswith("generator.")}
    assert all(torch.equal(seen["generator"][k], state[k]) for k in state), "starts from the saved weights"
    saved_exp_avg = saved["optimizer_states"][0]["state"][0]["exp_avg"]
    assert torch.equal(seen["exp_avg"], saved_exp_avg), "starts from the saved optimizer state"
    after = torch.load(last, map_location="cpu", weights_only=True)
    assert after["global_step"] == 8 and after["loops"]["fit_loop"]["epoch_progress"]["current"]["completed"] == 2


class BatchLog(L.Callback):
    """Every training batch a run takes, as ``(epoch, batch_idx)`` (used through a Hydra override below)."""

    batches: list = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        BatchLog.batches.append((trainer.current_epoch, batch_idx))


@pytest.mark.slow
@pytest.mark.parametrize(
    "stop, go_on",
    [
        # 4 batches an epoch, 2 optimizer steps a batch: max_steps=6 stops after the third batch of epoch 0
        (["trainer.max_steps=6"], ["trainer.max_steps=-1"]),
        # at least 0.6 s a batch: a 1-second budget runs out by the third batch (min_epochs=0: the default 1 would
        # finish epoch 0 whatever the time, and the same stop would come inside epoch 1)
        (["trainer.max_time=00:00:00:01", "trainer.min_epochs=0", *callback_overrides("pace", Pace, seconds=0.6)],
         ["trainer.max_time=00:00:10:00"]),
    ],
    ids=["max_steps", "max_time"],
)
def test_a_run_stopped_inside_an_epoch_resumes_where_it_stopped(compose_cfg, photo_root, stop, go_on):
    settings = (f"data.root={photo_root}", "trainer.limit_train_batches=4", "trainer.max_epochs=2",
                "+callbacks.batches._target_=test_train.BatchLog")
    BatchLog.batches = []
    first = compose_cfg(*settings, *stop)
    train(first)
    before = list(BatchLog.batches)
    assert 0 < len(before) < 4 and {epoch for epoch, _ in before} == {0}, "the test needs a stop inside epoch 0"
    saved = torch.load(Path(first.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["global_step"] == 2 * len(before)

    BatchLog.batches = []
    train(compose_cfg(*settings, *go_on, "ckpt_path=last"))
    # the rest of epoch 0, then epoch 1: no batch lost, none taken twice
    assert before + BatchLog.batches == [(epoch, i) for epoch in (0, 1) for i in range(4)]
    final = torch.load(Path(first.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert final["global_step"] == 16 and final["loops"]["fit_loop"]["epoch_progress"]["current"]["completed"] == 2


def test_resume_explicit_path_and_last_from_a_new_run_folder(compose_cfg, tmp_path):
    first = compose_cfg("trainer.max_epochs=1", output="runs/first")
    train(first)
    ckpt = Path(first.paths.output_dir) / "checkpoints" / "last.ckpt"
    # a new, time-stamped folder of the same experiment: `last` finds the newest sibling run and continues there
    again = compose_cfg("trainer.max_epochs=2", "ckpt_path=last", output="runs/second")
    (tmp_path / "runs" / "second").mkdir()  # as Hydra makes it before the job starts
    train(again)
    assert not (tmp_path / "runs" / "second" / "checkpoints").exists()
    assert (tmp_path / "runs" / "second" / "RESUMED_IN.txt").read_text().strip() == first.paths.output_dir
    assert torch.load(ckpt, map_location="cpu", weights_only=True)["global_step"] == 8
    explicit = compose_cfg("trainer.max_epochs=3", f"ckpt_path={ckpt}", output="runs/third")
    train(explicit)
    explicit_last = Path(explicit.paths.output_dir) / "checkpoints" / "last.ckpt"
    assert torch.load(explicit_last, weights_only=True)["global_step"] == 12


def test_resume_errors_are_loud(compose_cfg, tmp_path):
    with pytest.raises(ResumeError, match=r"no checkpoints/last\.ckpt in .*Nothing to resume"):
        train(compose_cfg("ckpt_path=last", output="fresh/run"))
    with pytest.raises(ResumeError, match="does not exist"):
        train(compose_cfg(f"ckpt_path={tmp_path / 'missing.ckpt'}"))
    cfg = compose_cfg(output="done")
    train(cfg)
    with pytest.raises(ResumeError, match="already holds .*last.ckpt.*ckpt_path=last"):
        train(compose_cfg(output="done"))
    with pytest.raises(ResumeError, match=r"(?s)another architecture.*model\.generator\.ngf: checkpoint 8, config 16"):
        train(compose_cfg("ckpt_path=last", "model.generator.ngf=16", output="done"))


def test_public_overrides(compose_cfg, photo_root, tmp_path):
    cfg = compose_cfg(
        f"data.root={photo_root}", "data.image_size=32", "data.batch_size=3", "data.num_workers=0",
        "model.generator.ngf=4", "model.discriminator.ndf=4", "model.lambda_l1=10", "model.gan_mode=hinge",
        "trainer.max_epochs=1", "trainer.limit_train_batches=1", "trainer.limit_val_batches=1",
        "trainer.accelerator=cpu", "trainer.devices=1", "logger=csv", f"paths.output_dir={tmp_path / 'o'}", "seed=7",
    )
    assert cfg.model.generator.num_downs == 5  # derived from data.image_size
    assert cfg.model.image_size == 32 and cfg.seed == 7
    train(cfg)
    hp = torch.load(tmp_path / "o" / "checkpoints" / "last.ckpt", weights_only=True)["hyper_parameters"]
    assert hp["generator"]["ngf"] == 4 and hp["discriminator"]["ndf"] == 4
    assert hp["lambda_l1"] == 10 and hp["gan_mode"] == "hinge" and hp["image_size"] == 32


def test_bad_photos_are_skipped_during_training(compose_cfg, tmp_path):
    root = tmp_path / "mixed"
    write_photos(root / "train", 8)
    write_photos(root / "test", 2, seed=4)
    (root / "train" / "zero.jpg").write_bytes(b"")
    (root / "train" / "junk.png").write_bytes(b"junk")
    # val_fraction=0: no bad photo is carved out of train/ for validation
    cfg = compose_cfg(f"data.root={root}", "trainer.limit_train_batches=3", "data.val_fraction=0")
    metrics = train(cfg)
    assert metrics["train/skipped_photos"] == 2


def test_empty_folder_is_a_clear_error(compose_cfg, tmp_path):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(NoImagesError, match=r"No images found in .*nothing.*\.jpg"):
        train(compose_cfg(f"data.root={tmp_path / 'nothing'}"))


@pytest.mark.slow
def test_command_line_entry_point(tmp_path):
    from helpers.runs import TINY

    out = tmp_path / "cli"
    proc = run_module(
        "colorgan.train", "+experiment=demo", *TINY, "logger=csv", f"paths.output_dir={out}", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "checkpoints" / "last.ckpt").is_file() and (out / ".hydra" / "config.yaml").is_file()
    assert "Output folder" in proc.stderr + proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("no_logger", ["~logger", "logger=null"])
def test_training_without_a_logger_as_the_docs_spell_it(tmp_path, no_logger):
    from helpers.runs import TINY

    docs = (Path(__file__).resolve().parents[1] / "docs" / "train" / "own-photos.md").read_text()
    assert f"`{no_logger}`" in docs
    out = tmp_path / "quiet"
    proc = run_module(
        "colorgan.train", "+experiment=demo", *TINY, no_logger, f"paths.output_dir={out}", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert not (out / "csv").exists() and not (out / "wandb").exists()  # no logger wrote anything
