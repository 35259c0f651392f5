"""What colorgan promises to survive. Every test injects its fault for real.

* Killed hard (SIGKILL) mid-epoch: ``ckpt_path=last`` resumes from the newest checkpoint, which is at most one
  checkpoint interval old, and continues the epoch, the step counter and the W&B run.
* Stopped by SIGTERM (how schedulers preempt jobs): a checkpoint is saved first, and the exit status says so.
* Checkpoint writes are atomic: a kill during a save leaves the previous ``last.ckpt`` whole.
* A NaN/Inf loss: the step is skipped (weights, running statistics and optimizer state untouched), counted and
  logged; too many in a row stop the run with advice, keeping the last good state.
* A truncated or foreign checkpoint as ``ckpt_path``: a clear error naming the file.
* Bad photo files are skipped and reported per epoch; an all-bad folder stops with a clear error; a missing
  ``data.root`` says how to set it; photos smaller than the training size are upscaled.
* A config with an unknown key or a wrongly typed value fails before anything is trained, with Hydra's message.
* Out of GPU memory while colorizing: the photo is retried one at a time, smaller, then on the CPU, and reported
  (injected ``torch.cuda.OutOfMemoryError``: the ``test_out_of_*memory*`` tests in ``tests/test_colorizer.py``).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from lightning.pytorch.loggers import CSVLogger

from colorgan.checkpoints.reading import CheckpointError, read_checkpoint
from colorgan.checkpoints.writing import AtomicCheckpointIO, partial_files
from colorgan.data.files import NoImagesError
from colorgan.train import train
from colorgan.training.nonfinite import NonFiniteLossError

from helpers.fault_injection import (
    DeleteFile,
    Pace,
    PoisonLoss,
    RecordProgress,
    callback_overrides,
    read_json,
    start_training,
    wait_for,
)
from helpers.photos import write_photos
from helpers.runs import TINY, run_module

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------- NaN / Inf
class WatchSteps(PoisonLoss):
    """Poison chosen batches (see PoisonLoss) and record, for every batch, whether the module's state (parameters
    and buffers) and the optimizers' state changed across it.

    The NaN sits in the targets: both losses are NaN, yet the generator's gradients stay finite (the gradient of
    L1 at a NaN target is 0), so a guard that looked only at gradients would let that step through."""

    def __init__(self, batches: list[int]) -> None:
        super().__init__(batches)
        self.changed: list[dict[str, bool]] = []
        self._before: tuple[dict, list] | None = None

    @staticmethod
    def _snapshot(trainer, pl_module) -> tuple[dict, list]:
        state = {k: v.detach().clone() for k, v in pl_module.state_dict().items()}
        optim = [
            {n: (s["step"].clone(), s["exp_avg"].clone()) for n, s in opt.state.items()} for opt in trainer.optimizers
        ]
        return state, optim

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._before = self._snapshot(trainer, pl_module)
        super().on_train_batch_start(trainer, pl_module, batch, batch_idx)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        (state0, optim0), (state1, optim1) = self._before, self._snapshot(trainer, pl_module)
        params = {n for n, _ in pl_module.named_parameters()}
        self.changed.append(
            {
                "parameters": any(not torch.equal(state0[k], state1[k]) for k in params),
                "buffers": any(not torch.equal(state0[k], state1[k]) for k in state0 if k not in params),
                "optimizers": any(
                    set(o0) != set(o1) or any(not torch.equal(o0[n][i], o1[n][i]) for n in o0 for i in (0, 1))
                    for o0, o1 in zip(optim0, optim1)
                ),
                "finite": all(torch.isfinite(v).all() for v in state1.values() if v.is_floating_point()),
            }
        )


@pytest.mark.parametrize("precision", ["32-true", "16-mixed"])
def test_nan_loss_step_is_skipped_counted_and_logged(compose_cfg, photo_root, tmp_path, caplog, precision):
    cfg = compose_cfg(
        f"data.root={photo_root}", "trainer.limit_train_batches=3", f"trainer.precision={precision}", experiment=None
    )
    model = instantiate(cfg.model, _recursive_=False)
    watch = WatchSteps(batches=[1])
    trainer = instantiate(cfg.trainer, callbacks=[watch], logger=CSVLogger(tmp_path, name="csv", version=""))
    with caplog.at_level(logging.WARNING, logger="colorgan"):
        trainer.fit(model, datamodule=instantiate(cfg.data))

    good, poisoned, after = watch.changed
    assert good["parameters"] and good["optimizers"] and good["buffers"]
    # the NaN batch left no trace: no optimizer update, no poisoned BatchNorm statistics
    assert poisoned == {"parameters": False, "buffers": False, "optimizers": False, "finite": True}
    assert after["parameters"] and after["finite"]
    assert model.nonfinite_steps == 2  # the discriminator's and the generator's step
    assert "Skipped 2 optimizer step(s) with a NaN/inf loss or gradients by epoch 0, batch 1" in caplog.text
    rows = (tmp_path / "csv" / "metrics.csv").read_text().splitlines()
    header = rows[0].split(",")
    skipped = [float(r.split(",")[header.index("train/nonfinite_skipped")] or "nan") for r in rows[1:]]
    assert [s for s in skipped if not math.isnan(s)] == [0.0, 2.0, 2.0]


def test_many_nan_steps_in_a_row_stop_the_run_with_advice(compose_cfg, photo_root, tmp_path):
    cfg = compose_cfg(
        f"data.root={photo_root}",
        "trainer.limit_train_batches=8",
        "model.max_nonfinite_batches=3",
        *callback_overrides("poison", PoisonLoss, batches=[1, 2, 3, 4, 5, 6, 7]),
        experiment=None,
    )
    with pytest.raises(NonFiniteLossError, match="3 batches in a row had NaN/inf losses") as err:
        train(cfg)
    for advice in ("model.optimizer_g.lr", "model.gradient_clip_val", "ckpt_path=last"):
        assert advice in str(err.value)
    ckpt = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")  # written as the run stopped
    assert ckpt["colorgan"]["nonfinite_steps"] == 6  # D and G of batches 1, 2 and 3; batch 0 trained
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())
    assert all(state["step"] == 1 for opt in ckpt["optimizer_states"] for state in opt["state"].values())


# --------------------------------------------------------------------------------------- killed processes
BATCH = 2


def run_overrides(photo_root: Path, root: Path, *extra: str) -> list[str]:
    """A tiny real training run on ``photo_root`` (8 batches an epoch), writing below ``root`` the way a user's
    runs are laid out: ``logs/faults/runs/<time>/``."""
    return [*TINY, f"data.root={photo_root}", f"data.batch_size={BATCH}", "trainer.limit_train_batches=null",
            f"paths.root_dir={root}", "experiment_name=faults", *extra]


def batches_per_epoch(photo_root: Path) -> int:
    return len(list((photo_root / "train").rglob("*.*"))) // BATCH


def last_checkpoints(root: Path) -> list[Path]:
    return sorted(root.glob("logs/faults/runs/*/checkpoints/last.ckpt"))


def batches_done(ckpt: dict) -> int:
    """Training batches of the current epoch a checkpoint has seen."""
    return ckpt["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]["processed"]


@pytest.mark.slow
def test_sigkill_mid_epoch_resumes_from_last_checkpoint(photo_root, tmp_path):
    import wandb

    # The command is started from a process that has a W&B service of its own, as a notebook or this test runner
    # after an earlier in-process run has: the child inherits WANDB_SERVICE. The killed run must not leave its
    # stream registered in that service, or the resume (same run id) is refused with "run ID ... is in use".
    wandb.setup()
    assert os.environ.get("WANDB_SERVICE")
    per_epoch, epochs = batches_per_epoch(photo_root), 2
    first = run_overrides(
        photo_root, tmp_path, f"trainer.max_epochs={epochs}",
        "callbacks.interval_checkpoint.train_time_interval.minutes=0.01",  # last.ckpt every 0.6 s of training
        *callback_overrides("pace", Pace, seconds=0.25),
    )
    log1 = tmp_path / "first.log"
    proc = start_training(first, REPO, log1)
    try:
        [ckpt_path] = wait_for(lambda: last_checkpoints(tmp_path), 300, "the first interval checkpoint", proc, log1)
    finally:
        proc.kill()  # SIGKILL: no handler runs, nothing is saved on the way out
    assert proc.wait(60) == -signal.SIGKILL
    run_dir = ckpt_path.parents[1]
    saved = read_checkpoint(ckpt_path)  # whole, even if the kill hit a save
    done = batches_done(saved)
    assert saved["epoch"] == 0 and 0 < done < per_epoch, "the test needs a mid-epoch checkpoint"
    assert saved["global_step"] == 2 * done  # two optimizer steps a batch
    run_id = (run_dir / "wandb_run_id.txt").read_text().strip()

    # the user reruns the same command with ckpt_path=last: a new run folder, but the newest run is found
    log2 = tmp_path / "resumed.log"
    second = run_overrides(photo_root, tmp_path, f"trainer.max_epochs={epochs}", "ckpt_path=last",
                           *callback_overrides("record", RecordProgress, folder=str(tmp_path / "resumed")))
    proc = start_training(second, REPO, log2)
    assert proc.wait(600) == 0, log2.read_text()[-4000:]
    log = log2.read_text()
    assert f"RESUMING the run in {run_dir} from {ckpt_path}" in log
    assert f"run id={run_id}" in log  # the same W&B run goes on
    assert "Please add the following callbacks" not in log  # another checkpoint interval is fine
    assert len(list(run_dir.glob(f"wandb/offline-run-*-{run_id}"))) == 2

    start = torch.load(tmp_path / "resumed" / "start.pt", weights_only=True)
    assert (start["epoch"], start["global_step"], start["batch_idx"]) == (0, saved["global_step"], done)
    for name, value in start["generator"].items():
        assert torch.equal(value, saved["state_dict"][f"generator.{name}"]), name
    saved_adam_steps = [[float(s["step"]) for s in o["state"].values()][:1] for o in saved["optimizer_states"]]
    assert start["optimizer_steps"] == saved_adam_steps == [[done], [done]]

    end = read_json(tmp_path / "resumed" / "progress.json")
    assert end["epoch"] == epochs - 1
    assert end["batches_this_process"] == epochs * per_epoch - done  # no batch lost, none done twice
    final = read_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert final["global_step"] == 2 * epochs * per_epoch
    assert last_checkpoints(tmp_path) == [ckpt_path]  # it went on in the killed run's folder


def job_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.slow
def test_sigterm_saves_a_checkpoint_before_exiting(photo_root, tmp_path):
    progress = tmp_path / "progress" / "progress.json"
    overrides = run_overrides(
        photo_root, tmp_path, "trainer.max_epochs=2", "logger=csv", "data.num_workers=2",
        *callback_overrides("pace", Pace, seconds=0.25),
        *callback_overrides("record", RecordProgress, folder=str(progress.parent)),
    )
    log_file = tmp_path / "train.log"
    proc = start_training(overrides, REPO, log_file, start_new_session=True)  # a job: its own process group
    try:
        seen = wait_for(lambda: (p := read_json(progress)) and p["batches_done_in_epoch"] >= 2 and p,
                        300, "two training batches", proc, log_file)
        assert not last_checkpoints(tmp_path), "no checkpoint may exist before the signal"
        os.killpg(proc.pid, signal.SIGTERM)  # as a scheduler does: every process of the job, workers included
        status = proc.wait(120)
    finally:
        proc.kill()
    assert status == 128 + signal.SIGTERM, log_file.read_text()[-4000:]  # not 0: the run did not finish
    [ckpt_path] = last_checkpoints(tmp_path)
    ckpt = read_checkpoint(ckpt_path)
    assert ckpt["epoch"] == 0 and ckpt["global_step"] >= seen["global_step"]
    assert batches_done(ckpt) < batches_per_epoch(photo_root)  # saved where it stopped, mid-epoch
    log = log_file.read_text()
    assert "Stopped by SIGTERM" in log and "Resume with ckpt_path=last" in log
    assert "killed by signal" not in log  # the decode workers left the shutdown to the training process
    wait_for(lambda: job_gone(proc.pid), 30, "the data workers to exit")


# ------------------------------------------------------------------------------------------ atomic saves
KILLED_SAVE = """
import os, signal, sys, torch
from colorgan.checkpoints.writing import AtomicCheckpointIO

target, where = sys.argv[1], sys.argv[2]
io = AtomicCheckpointIO()
io.save_checkpoint({"version": 1, "weights": torch.zeros(1000)}, target)

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if where == "mid-write":  # half of the new checkpoint's bytes are on disk when the process dies
    real_save = torch.save
    def half_then_die(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        f.flush()
        f.truncate(f.tell() // 2)
        die()
    torch.save = half_then_die
else:  # the new checkpoint is complete in its temporary file, but not yet renamed
    os.replace = die
io.save_checkpoint({"version": 2, "weights": torch.ones(100_000)}, target)
"""


@pytest.mark.parametrize("where", ["mid-write", "before-rename"])
def test_kill_during_checkpoint_save_leaves_last_ckpt_whole(tmp_path, where):
    target = tmp_path / "checkpoints" / "last.ckpt"
    proc = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(target), where], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert read_checkpoint(target)["version"] == 1  # the previous checkpoint, intact
    [leftover] = partial_files(target)  # the unfinished write, hidden next to it
    assert sorted(os.listdir(target.parent)) == sorted([leftover.name, "last.ckpt"])

    AtomicCheckpointIO().save_checkpoint({"version": 3}, target)  # the next save cleans up
    assert read_checkpoint(target)["version"] == 3
    assert partial_files(target) == []


def test_training_writes_checkpoints_atomically(compose_cfg):
    trainer = instantiate(compose_cfg().trainer)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


# ------------------------------------------------------------------------------------- bad checkpoint files
class NotAColorganThing:
    """Pickled into a checkpoint, it would run code on load: a weights-only load refuses it."""


def test_truncated_or_foreign_checkpoint_gives_clear_error_naming_it(compose_cfg, photo_root, tmp_path):
    train(compose_cfg(f"data.root={photo_root}", experiment=None, output="good"))
    good = (tmp_path / "good" / "checkpoints" / "last.ckpt").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    cases = {
        "truncated.ckpt": (good[: len(good) // 2], "is truncated"),
        "empty.ckpt": (b"", "is empty (0 bytes)"),
        "photo.ckpt": ((photo_root / "train" / "tennis" / "photo_000.jpg").read_bytes(), "is not a PyTorch checkpoint"),
        "notes.ckpt": (b"epoch: 3\n", "is not a PyTorch checkpoint"),
    }
    for name, (data, _) in cases.items():
        (bad / name).write_bytes(data)
    torch.save(torch.nn.Linear(2, 2).state_dict(), bad / "other_model.ckpt")
    cases["other_model.ckpt"] = (None, "is not a colorgan training checkpoint")
    torch.save({"state_dict": NotAColorganThing()}, bad / "objects.ckpt")
    cases["objects.ckpt"] = (None, "holds Python objects such as test_faults.NotAColorganThing")
    cases["missing.ckpt"] = (None, "does not exist")

    for name, (_, problem) in cases.items():
        path = bad / name
        with pytest.raises(CheckpointError) as err:
            train(compose_cfg(f"data.root={photo_root}", f"ckpt_path={path}", experiment=None, output=name))
        assert f"'{path}' {problem}" in str(err.value), name
        shown = "".join(traceback.format_exception(err.value))
        assert "serialization.py" not in shown and "direct cause" not in shown and "During handling" not in shown
        assert not (tmp_path / name).exists(), "nothing may start before the checkpoint is checked"


def test_truncated_checkpoint_on_the_command_line_is_one_clear_error(tmp_path):
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": {"generator.w": torch.zeros(10_000)}}, path)
    path.write_bytes(path.read_bytes()[:5000])
    proc = run_module("colorgan.train", "+experiment=demo", f"ckpt_path={path}", f"paths.root_dir={tmp_path}",
                      cwd=tmp_path, timeout=300, env={"HYDRA_FULL_ERROR": "0"})
    assert proc.returncode == 1
    assert f"CheckpointError: checkpoint '{path}' is truncated" in proc.stderr
    assert "serialization.py" not in proc.stderr  # not a traceback from the unpickler


# ----------------------------------------------------------------------------------------------- bad photos
def write_bad_files(folder: Path, good_jpeg: Path) -> list[Path]:
    """One file of each kind that cannot be a training photo."""
    folder.mkdir(parents=True, exist_ok=True)
    jpeg = good_jpeg.read_bytes()
    files = {
        "zero_bytes.jpg": b"",
        "empty.png": b"\x89PNG\r\n\x1a\n",  # a signature and nothing else: an image without a single pixel
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "notes.png": b"not a photo at all\n",
        "vanishes.jpg": jpeg,  # deleted after the file list is made: unreadable when its turn comes
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


def test_bad_photos_are_skipped_and_reported_every_epoch(compose_cfg, tmp_path, caplog):
    root = tmp_path / "photos"
    good = write_photos(root / "train", 11, ext="jpg")
    bad = write_bad_files(root / "train", good[0])
    write_photos(root / "val", 2, seed=2)
    write_photos(root / "test", 4, seed=1)
    cfg = compose_cfg(f"data.root={root}", "trainer.max_epochs=2", "trainer.limit_train_batches=null",
                      *callback_overrides("vanish", DeleteFile, path=str(root / "train" / "vanishes.jpg")),
                      experiment=None)  # 16 files, 4 a batch: every file comes up in every epoch
    with caplog.at_level(logging.WARNING, logger="colorgan"):
        train(cfg)
    reports = [r.getMessage() for r in caplog.records if "unreadable photo" in r.getMessage()]
    assert [r.split(":")[0] for r in reports] == ["Epoch 0 (train)", "Epoch 1 (train)"]
    for report in reports:
        assert "skipped 5 unreadable photo(s)" in report
        for path in bad:
            assert str(path) in report
    [metrics] = (tmp_path / "run" / "csv").glob("*/metrics.csv")
    rows = metrics.read_text().splitlines()
    header = rows[0].split(",")
    counts = [r.split(",")[header.index("train/skipped_photos")] for r in rows[1:]]
    assert [float(c) for c in counts if c] == [5.0, 5.0]
    assert read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")["global_step"] > 0


def test_folder_of_only_bad_files_stops_with_a_clear_error(compose_cfg, tmp_path):
    root = tmp_path / "photos"
    [photo] = write_photos(tmp_path / "elsewhere", 1, ext="jpg")
    write_bad_files(root, photo)
    cfg = compose_cfg(f"data.root={root}", "trainer.limit_train_batches=null", "data.val_fraction=0.2",
                      *callback_overrides("vanish", DeleteFile, path=str(root / "vanishes.jpg")), experiment=None)
    with pytest.raises(NoImagesError, match="Every photo of the training epoch was unreadable") as err:
        train(cfg)
    assert str(root) in str(err.value) and "data.root" in str(err.value)
    assert not (tmp_path / "run" / "checkpoints" / "last.ckpt").exists()  # nothing was learned, nothing saved


@pytest.mark.parametrize("root", ["null", "does/not/exist", "empty_folder"])
def test_missing_data_root_says_how_to_set_it(compose_cfg, tmp_path, root):
    (tmp_path / "empty_folder").mkdir()
    cfg = compose_cfg(f"data.root={tmp_path / root if root != 'null' else root}", experiment=None)
    with pytest.raises((ValueError, FileNotFoundError), match=r"data\.root") as err:
        train(cfg)
    if root != "empty_folder":
        assert "data.root=/path/to/photos" in str(err.value)
    assert not (tmp_path / "run" / "checkpoints").exists()  # no untrained last.ckpt for ckpt_path=last to find


def test_photos_smaller_than_the_training_size_are_upscaled(compose_cfg, tmp_path):
    root = tmp_path / "photos"
    write_photos(root / "train", 4, size=(20, 24))
    write_photos(root / "train" / "strip", 4, size=(2, 90), seed=1)  # two pixels high
    write_photos(root / "val", 2, size=(9, 7), seed=2)
    write_photos(root / "test", 2, size=(9, 7), seed=3)
    train(compose_cfg(f"data.root={root}", "data.image_size=64", "trainer.limit_train_batches=null",
                      experiment=None))
    ckpt = read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert ckpt["global_step"] == 2 * 2  # both batches of 4 photos trained, nothing skipped
    assert (tmp_path / "run" / "samples" / "latest.png").is_file()


# ------------------------------------------------------------------------------------------------ bad config
@pytest.mark.parametrize(
    "override, message",
    [
        ("data.batch_size=abc", "Value 'abc' of type 'str' could not be converted to Integer"),
        ("trainer.max_epochs=x", "Value 'x' of type 'str' could not be converted to Integer"),
        ("model.lambda_l1=foo", "Value 'foo' of type 'str' could not be converted to Float"),
        ("model.generator.ngf=1.5", "Value '1.5' of type 'float' could not be converted to Integer"),
        ("data.pin_memory=maybe", "Value 'maybe' is not a valid bool"),
        ("data.batch_sise=4", "Could not override 'data.batch_sise'"),
        ("trainer.max_epoch=3", "Could not override 'trainer.max_epoch'"),
    ],
)
def test_bad_override_fails_while_composing_the_config(compose_cfg, override, message):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException) as err:
        compose_cfg(override)
    assert message in f"{err.value} {err.value.__cause__}"
    assert override.split("=")[0] in f"{err.value} {err.value.__cause__}"  # names the setting


def test_bad_override_on_the_command_line_stops_before_anything_starts(tmp_path):
    proc = run_module("colorgan.train", "+experiment=demo", "data.batch_size=abc", f"paths.root_dir={tmp_path}",
                      cwd=tmp_path, timeout=300, env={"HYDRA_FULL_ERROR": "0"})
    assert proc.returncode == 1
    assert "Value 'abc' of type 'str' could not be converted to Integer" in proc.stderr
    assert "full_key: data.batch_size" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # no run folder, no log, no checkpoint
