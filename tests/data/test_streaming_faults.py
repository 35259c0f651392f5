"""Streamed runs stopped the ways jobs are stopped, and streamed runs on two DDP processes.

Each run records the photo names of every training batch (per rank); a run stopped mid-epoch and resumed must read
exactly the photos, in the same order, that an uninterrupted run reads:

* SIGTERM (how schedulers preempt jobs): colorgan saves a checkpoint where it stopped, loader state included;
* SIGKILL after an interval checkpoint (callbacks.interval_checkpoint.train_time_interval): the run goes on from
  that checkpoint's batch, the batches trained after it are trained again, from the same photos;
* two DDP processes (gloo): each rank streams its own disjoint share of every epoch, and a 2-process run stopped
  mid-epoch and resumed on 2 processes reads per rank what an uninterrupted 2-process run reads.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
import torch

from colorgan.data.preparing import prepare_photos

from helpers.fault_injection import Pace, callback_overrides, start_training, wait_for
from helpers.photos import write_photos
from helpers.runs import TINY
from helpers.streaming import StreamedNames, read_names

REPO = Path(__file__).resolve().parents[2]
BATCH = 2  # 16 training photos: 8 batches an epoch on one process, 4 per rank on two


@pytest.fixture(scope="module")
def prepared(photo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prepared")
    prepare_photos(photo_root, str(out), size=64, num_workers=1)
    return out


def overrides(prepared: Path, output: Path, names: Path, *extra: str) -> list[str]:
    return [
        *TINY,
        "data=streaming",
        f"data.input_dir={prepared}",
        f"data.batch_size={BATCH}",
        "trainer.limit_train_batches=null",
        "trainer.max_epochs=2",
        "logger=csv",
        f"paths.output_dir={output}",
        f"paths.root_dir={output.parent}",
        *callback_overrides("names", StreamedNames, folder=str(names)),
        *extra,
    ]


def run(args: list[str], log: Path, timeout: float = 600) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = start_training(args, REPO, log)
    assert proc.wait(timeout) == 0, log.read_text()[-4000:]


def checkpoint_place(path: Path) -> int:
    """Training batches before the checkpoint's place: the finished epochs' and those of its epoch."""
    ckpt = torch.load(path, weights_only=True, map_location="cpu")
    in_epoch = ckpt["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]["processed"]
    return int(ckpt["epoch"]) * (16 // BATCH) + int(in_epoch)


@pytest.fixture(scope="module")
def whole(prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> list:
    """The batches of an uninterrupted one-process run (two epochs)."""
    tmp = tmp_path_factory.mktemp("whole")
    run(overrides(prepared, tmp / "run", tmp / "names"), tmp / "train.log")
    names = read_names(tmp / "names")
    assert len(names) == 16 and [b for _, b, _ in names] == list(range(8)) * 2
    return names


@pytest.mark.slow
def test_sigterm_mid_epoch_then_resume_reads_the_photos_of_an_uninterrupted_run(prepared, whole, tmp_path):
    args = overrides(prepared, tmp_path / "run", tmp_path / "names")
    log = tmp_path / "first.log"
    proc = start_training([*args, *callback_overrides("pace", Pace, seconds=0.3)], REPO, log, start_new_session=True)
    try:
        wait_for(lambda: len(read_names(tmp_path / "names")) >= 2, 300, "two training batches", proc, log)
        os.killpg(proc.pid, signal.SIGTERM)
        status = proc.wait(120)
    finally:
        proc.kill()
    assert status == 128 + signal.SIGTERM, log.read_text()[-4000:]
    before = read_names(tmp_path / "names")
    assert 2 <= len(before) < 8, "stopped inside the first epoch"
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert checkpoint_place(ckpt) == len(before), "saved where it stopped"

    (tmp_path / "names" / "names_rank0.jsonl").unlink()
    run([*args, "ckpt_path=last"], tmp_path / "resumed.log")
    assert before + read_names(tmp_path / "names") == whole


@pytest.mark.slow
def test_sigkill_after_an_interval_checkpoint_then_resume_reads_the_photos_of_an_uninterrupted_run(
    prepared, whole, tmp_path
):
    args = overrides(prepared, tmp_path / "run", tmp_path / "names")
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    log = tmp_path / "first.log"
    proc = start_training(
        [
            *args,
            "callbacks.interval_checkpoint.train_time_interval.minutes=0.01",
            *callback_overrides("pace", Pace, seconds=0.3),
        ],
        REPO,
        log,
    )
    try:
        wait_for(ckpt.exists, 300, "the first interval checkpoint", proc, log)
        wait_for(
            lambda: len(read_names(tmp_path / "names")) >= checkpoint_place(ckpt) + 1,
            60,
            "a batch after the checkpoint",
            proc,
            log,
        )
    finally:
        proc.kill()  # SIGKILL: nothing is saved on the way out
    assert proc.wait(60) == -signal.SIGKILL
    place = checkpoint_place(ckpt)
    before = read_names(tmp_path / "names")
    assert 0 < place < len(before) < 16, "batches after the checkpoint were lost with the kill"
    assert before == whole[: len(before)]

    (tmp_path / "names" / "names_rank0.jsonl").unlink()
    run([*args, "ckpt_path=last"], tmp_path / "resumed.log")
    assert read_names(tmp_path / "names") == whole[place:]  # the lost batches again, from the same photos


DDP = ("trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2")


@pytest.fixture(scope="module")
def prepared_ddp(photo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The DDP runs' set: 19 training photos, a number that 2 ranks in batches of 2 cannot divide (16 + 3 extra)."""
    photos = tmp_path_factory.mktemp("photos_ddp")
    shutil.copytree(photo_root, photos, dirs_exist_ok=True)
    write_photos(photos / "train" / "extra", 3, seed=5)
    out = tmp_path_factory.mktemp("prepared_ddp")
    assert prepare_photos(photos, str(out), size=64, num_workers=1).written["train"] == 19
    return out


@pytest.fixture(scope="module")
def whole_ddp(prepared_ddp: Path, tmp_path_factory: pytest.TempPathFactory) -> list:
    """Each rank's batches in an uninterrupted 2-process run (two epochs) on the 19 photos. One run serves the
    tests of the shares, of the set that does not divide and of stopping and resuming (a DDP start costs ~25 s)."""
    tmp = tmp_path_factory.mktemp("whole_ddp")
    # a rank left waiting in an all-reduce for the other (shares that do not divide evenly) hangs: 300 s fails it
    run(overrides(prepared_ddp, tmp / "run", tmp / "names", *DDP), tmp / "train.log", timeout=300)
    return [read_names(tmp / "names", r) for r in (0, 1)]


def _epoch_shares(ranks: list, epoch: int) -> list[list[str]]:
    return [[n for e, _, names in r if e == epoch for n in names] for r in ranks]


@pytest.mark.slow
def test_two_ddp_processes_stream_disjoint_shares_of_every_epoch(whole_ddp):
    assert [len(r) for r in whole_ddp] == [8, 8], "19 photos, 2 ranks, batches of 2: 4 batches a rank an epoch"
    for epoch in (0, 1):
        shares = _epoch_shares(whole_ddp, epoch)
        assert not set(shares[0]) & set(shares[1]), f"epoch {epoch}: the ranks' shares overlap"
        # together the ranks read every photo but the 19 % 4 = 3 that even batches leave over
        assert len(set(shares[0]) | set(shares[1])) == 16, f"epoch {epoch}: the ranks left out more than 3 photos"
        for share in shares:
            assert len(set(share)) == len(share) == 8
    assert [n for _, _, n in whole_ddp[0][:4]] != [n for _, _, n in whole_ddp[0][4:]], "each epoch reshuffles"


@pytest.mark.slow
@pytest.mark.parametrize("batches", [2, 4], ids=["mid_epoch", "epoch_end"])
def test_two_ddp_processes_stopped_and_resumed_read_what_an_uninterrupted_run_reads(
    prepared_ddp, whole_ddp, tmp_path, batches
):
    # 2 optimizer steps a batch: stop after `batches` of each rank's 4 batches of epoch 0 (4: at its very end)
    run(
        overrides(prepared_ddp, tmp_path / "run", tmp_path / "names", *DDP, f"trainer.max_steps={2 * batches}"),
        tmp_path / "first.log",
    )
    before = [read_names(tmp_path / "names", r) for r in (0, 1)]
    assert [len(b) for b in before] == [batches, batches]
    for r in (0, 1):
        (tmp_path / "names" / f"names_rank{r}.jsonl").unlink()
    run(overrides(prepared_ddp, tmp_path / "run", tmp_path / "names", *DDP, "ckpt_path=last"), tmp_path / "resumed.log")
    for r in (0, 1):
        assert before[r] + read_names(tmp_path / "names", r) == whole_ddp[r], f"rank {r}"


@pytest.mark.slow
def test_two_ddp_processes_take_equal_batches_from_a_set_that_does_not_divide(whole_ddp):
    # 19 training photos on 2 ranks in batches of 2: ranks that took 10 and 9 photos would take 5 and 4 batches, and
    # the rank with the extra batch would wait for the other in its gradient all-reduce for ever (whole_ddp's run
    # would time out). drop_last evens the shares: 4 batches each in both epochs, the 3 photos left over dropped
    for epoch in (0, 1):
        assert [[b for e, b, _ in r if e == epoch] for r in whole_ddp] == [[0, 1, 2, 3]] * 2, f"epoch {epoch}"
        shares = [set(s) for s in _epoch_shares(whole_ddp, epoch)]
        assert not shares[0] & shares[1] and len(shares[0] | shares[1]) == 16
