"""Shared fixtures: small synthetic photos, and the real Hydra config composed with tiny-model overrides."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers.photos import write_photos
from helpers.runs import SRC, TINY

# Never talk to W&B's servers and never prompt; subprocesses import this checkout's colorgan.
os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
os.environ.setdefault("WANDB_DISABLE_GIT", "true")
os.environ["HYDRA_FULL_ERROR"] = "1"
os.environ["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])

from colorgan.config import config_dir  # noqa: E402


@pytest.fixture(autouse=True)
def _no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test downloads model weights: torch.hub's downloader, which torchvision's weights API uses, refuses."""
    import urllib.error

    import torch.hub

    def refuse(url: str, dst: str, *args: object, **kwargs: object) -> None:
        raise urllib.error.URLError(f"tests do not download ({url})")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


@pytest.fixture(scope="session")
def photo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root with split folders: train/ (16 photos in two class folders), val/ (4) and test/ (8)."""
    root = tmp_path_factory.mktemp("photos")
    write_photos(root / "train" / "football", 8, seed=1)
    write_photos(root / "train" / "tennis", 8, ext="jpg", seed=2)
    write_photos(root / "val" / "tennis", 4, ext="jpg", seed=5)
    write_photos(root / "test" / "football", 8, seed=3)
    return root


@pytest.fixture
def compose_cfg(tmp_path: Path) -> Iterator[Callable[..., object]]:
    """``compose_cfg(*overrides, experiment="demo")`` -> the composed train config, outputs under tmp_path."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):

        def _compose(*overrides: str, experiment: str | None = "demo", tiny: bool = True, output: str = "run"):
            base = [f"+experiment={experiment}"] if experiment else []
            base += TINY if tiny else []
            base += ["logger=csv", f"paths.output_dir={tmp_path / output}", f"paths.root_dir={tmp_path}"]
            return compose("train", overrides=[*base, *overrides])

        yield _compose
    GlobalHydra.instance().clear()


@pytest.fixture
def compose_eval(tmp_path: Path) -> Iterator[Callable[..., object]]:
    """``compose_eval(*overrides)`` -> the composed evaluate config on the CPU, outputs under tmp_path."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        yield lambda *overrides: compose(
            "evaluate",
            overrides=[f"paths.output_dir={tmp_path / 'eval'}", f"paths.root_dir={tmp_path}", "data.num_workers=0",
                       "device=cpu", *overrides],
        )
    GlobalHydra.instance().clear()


@pytest.fixture(scope="session")
def tiny_ckpt(photo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``last.ckpt`` of the TINY model trained for one short epoch on ``photo_root`` (64 px, ngf=8)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from colorgan.train import train

    out = tmp_path_factory.mktemp("tiny_run")
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                *TINY, "logger=csv", f"data.root={photo_root}", f"paths.output_dir={out}", f"paths.root_dir={out}"
            ],
        )
    GlobalHydra.instance().clear()
    train(cfg)
    ckpt = out / "checkpoints" / "last.ckpt"
    assert ckpt.is_file(), f"training the tiny model wrote no {ckpt}"
    return ckpt


@pytest.fixture(scope="session")
def tiny_hinted_ckpt(photo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``last.ckpt`` of the TINY model trained with colour hints (``model.hints.enabled=true``) on ``photo_root``."""
    from helpers.runs import train_tiny

    return train_tiny(tmp_path_factory.mktemp("tiny_hinted_run"), f"data.root={photo_root}", "model.hints.enabled=true")


@pytest.fixture(scope="session")
def hint_following_ckpt(photo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``last.ckpt`` of the TINY hinted model trained long enough to follow its points: 30 epochs of L1 alone at a
    high learning rate (about half a minute on one core). A blue point makes its colours bluer, a red one redder."""
    from helpers.runs import train_tiny

    return train_tiny(
        tmp_path_factory.mktemp("hint_following_run"), f"data.root={photo_root}", "model.hints.enabled=true",
        "trainer.max_epochs=30", "trainer.limit_train_batches=1.0", "model.l1_warmup_epochs=1000000",
        "model.optimizer_g.lr=2e-3",
    )


@pytest.fixture(scope="session")
def cpu_benchmark(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One run of the whole benchmark on the CPU at tiny sizes (two windows of every section), made once for the
    benchmark's own test and for the GPU check's targets, which read its JSON: ``{"result": what main returned,
    "saved": the JSON it wrote, "printed": what it printed}``."""
    import contextlib
    import io
    import json

    from colorgan.benchmark.run import main

    work = tmp_path_factory.mktemp("bench")
    out = work / "bench.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = main([
            "--device", "cpu", "--image-size", "64", "--ngf", "8", "--ndf", "8", "--batch-size", "2",
            "--photos", "24", "--photo-size", "96x80", "--work-dir", str(work), "--output", str(out),
            "--warmup", "1", "--windows", "2", "--steps", "1", "--loader-batch-size", "4", "--loader-steps", "2",
            "--workers", "0", "--compile-lab", "off", "--overhead-windows", "2", "--overhead-steps", "1",
        ])
    return {"result": result, "saved": json.loads(out.read_text()), "printed": printed.getvalue()}
