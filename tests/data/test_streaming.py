"""colorgan-prepare and data=streaming: the same splits as the folder path, bad photos left out by name, an
interrupted prepare finished by a rerun, and a run resumed mid-epoch that reads exactly the photos an uninterrupted
run reads, in the same order."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from colorgan.config import config_dir
from colorgan.data.files import split_files
from colorgan.data.preparing import prepare_photos
from colorgan.data.storage import StorageError, check_reachable
from colorgan.prepare import main as prepare_main
from colorgan.train import train

from helpers.runs import TINY


class StepNames(L.Callback):
    """The photos of every training batch a run takes, as ``(epoch, batch_idx, names)``."""

    steps: list = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        StepNames.steps.append((trainer.current_epoch, batch_idx, list(batch["name"])))


@pytest.fixture(scope="module")
def prepared(photo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``photo_root`` prepared at 64 px (16 train / 4 val / 8 test photos)."""
    out = tmp_path_factory.mktemp("prepared")
    prepare_photos(photo_root, str(out), size=64, num_workers=1)
    return out


def _names(split_dir: Path) -> list[str]:
    from litdata import StreamingDataset

    dataset = StreamingDataset(str(split_dir))
    return sorted(dataset[i]["name"] for i in range(len(dataset)))


def test_prepare_splits_as_the_folder_path_and_leaves_bad_photos_out_by_name(photo_root, tmp_path, capsys):
    photos = tmp_path / "photos"
    shutil.copytree(photo_root, photos)
    (photos / "train" / "tennis" / "not_a_photo.jpg").write_bytes(b"this is text")
    good = next((photos / "train" / "football").glob("*.png")).read_bytes()
    (photos / "train" / "football" / "truncated.png").write_bytes(good[: len(good) // 3])

    out = tmp_path / "out"
    assert prepare_main([str(photos), str(out), "--size", "48", "--workers", "1"]) == 0
    printed = capsys.readouterr()
    assert "not_a_photo.jpg" in printed.err and "truncated.png" in printed.err
    assert "2 left out" in printed.out

    splits = split_files(photos, 0.1, 0, 0.1)
    for split in ("train", "val", "test"):
        expected = sorted(p.relative_to(photos).as_posix() for p in getattr(splits, split))
        expected = [n for n in expected if n not in ("train/tennis/not_a_photo.jpg", "train/football/truncated.png")]
        assert _names(out / split) == expected, split

    # the photos are stored once, centre-cropped and resized, as the folder path's loader makes them
    from litdata import StreamingDataset
    from torchvision.io import decode_image

    assert tuple(decode_image(StreamingDataset(str(out / "val"))[0]["image"]).shape) == (3, 48, 48)

    # an interrupted prepare: the split without its index.json is written anew, finished ones are kept
    (out / "train" / "index.json").unlink()
    kept_chunks = sorted(p.name for p in (out / "val").iterdir())
    assert prepare_main([str(photos), str(out), "--size", "48", "--workers", "1"]) == 0
    printed = capsys.readouterr()
    assert "already there: val, test" in printed.out and "train 16" in printed.out
    assert _names(out / "train") == sorted(
        p.relative_to(photos).as_posix() for p in splits.train if p.name not in ("not_a_photo.jpg", "truncated.png")
    )
    assert sorted(p.name for p in (out / "val").iterdir()) == kept_chunks


def test_prepare_refuses_bad_settings_with_the_option_named(photo_root, tmp_path, capsys):
    assert prepare_main([str(photo_root), str(tmp_path / "o"), "--size", "8"]) == 2
    assert "--size" in capsys.readouterr().err
    assert prepare_main([str(tmp_path / "missing"), str(tmp_path / "o")]) == 2
    assert "missing" in capsys.readouterr().err


def test_a_missing_set_is_named_before_training(compose_cfg, tmp_path):
    with pytest.raises(StorageError, match="data.input_dir"):
        check_reachable(str(tmp_path / "nowhere"))
    cfg = compose_cfg("data=streaming", f"data.input_dir={tmp_path}", experiment=None)
    with pytest.raises(FileNotFoundError, match=r"No prepared train split .*colorgan-prepare"):
        train(cfg)


STREAM = (
    "data=streaming",
    "data.image_size=64",
    "data.batch_size=4",
    "data.num_workers=0",
    "data.num_sample_images=3",
    "data.compile_lab=false",
    "trainer.limit_train_batches=null",
    "+callbacks.steps._target_=test_streaming.StepNames",
)


@pytest.fixture(scope="module")
def whole(prepared: Path, tmp_path_factory: pytest.TempPathFactory) -> list:
    """The batches of an uninterrupted streamed run (two epochs): one run that both stopped-and-resumed tests read."""
    out = tmp_path_factory.mktemp("whole")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                *TINY,
                "logger=csv",
                f"paths.output_dir={out / 'whole'}",
                f"paths.root_dir={out}",
                *STREAM,
                f"data.input_dir={prepared}",
                "trainer.max_epochs=2",
            ],
        )
    GlobalHydra.instance().clear()
    StepNames.steps = []
    train(cfg)
    whole = list(StepNames.steps)
    assert len(whole) == 8, "16 photos, batches of 4, two epochs"
    assert {n for _, _, names in whole[:4] for n in names} == {n for _, _, names in whole[4:] for n in names}
    assert [names for _, _, names in whole[:4]] != [names for _, _, names in whole[4:]], "each epoch reshuffles"
    return whole


@pytest.mark.slow
@pytest.mark.parametrize("batches", [3, 4], ids=["mid_epoch", "epoch_end"])
def test_a_streamed_run_stopped_and_resumed_reads_the_same_photos(compose_cfg, prepared, whole, batches):
    common = (*STREAM, f"data.input_dir={prepared}", "trainer.max_epochs=2")

    StepNames.steps = []
    # 2 optimizer steps a batch: stop after `batches` batches of epoch 0 (4: at its very end)
    first = compose_cfg(*common, f"trainer.max_steps={2 * batches}", experiment=None, output="cut")
    train(first)
    before = list(StepNames.steps)
    assert len(before) == batches
    saved = torch.load(Path(first.paths.output_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    loader_state = saved["loops"]["fit_loop"]["state_dict"]["combined_loader"][0]
    assert loader_state["num_samples_yielded"] == 4 * batches, json.dumps(loader_state, default=str)[:500]

    StepNames.steps = []
    train(compose_cfg(*common, "trainer.max_steps=-1", "ckpt_path=last", experiment=None, output="cut"))
    assert before + StepNames.steps == whole


def test_without_litdata_the_extra_to_install_is_named(photo_root, tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "litdata", None)  # as if not installed: importing it raises ImportError
    assert prepare_main([str(photo_root), str(tmp_path / "o"), "--size", "32", "--workers", "1"]) == 2
    assert "pip install 'colorgan[stream]'" in capsys.readouterr().err
    from colorgan.data import streaming

    monkeypatch.delitem(vars(streaming), "StreamingPhotos", raising=False)  # built by an earlier test: forget it
    with pytest.raises(ImportError, match=r"colorgan\[stream\]"):
        streaming.StreamingDataModule(input_dir=str(tmp_path))._make("train", train=True)


def test_the_streamed_dataset_pickles_for_spawned_decode_workers(prepared):
    import pickle

    from colorgan.data.streaming import StreamingDataModule

    dataset = StreamingDataModule(input_dir=str(prepared), image_size=64)._make("train", train=True)
    again = pickle.loads(pickle.dumps(dataset))  # what a DataLoader worker started by spawn receives
    assert type(again) is type(dataset) and again[0]["name"] == dataset[0]["name"]
