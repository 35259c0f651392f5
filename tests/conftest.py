"""Shared fixtures: small synthetic photos, and the real Hydra config composed with tiny-model overrides."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SRC = Path(__file__).resolve().parents[1] / "src"

# Never talk to W&B's servers and never prompt; subprocesses import this checkout's colorgan.
os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
os.environ.setdefault("WANDB_DISABLE_GIT", "true")
os.environ["HYDRA_FULL_ERROR"] = "1"
os.environ["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])

from colorgan.config import config_dir  # noqa: E402

# A tiny model on 64 px photos: a couple of batches train in about a second on one CPU core.
TINY = [
    "data.image_size=64",
    "data.batch_size=4",
    "data.num_workers=0",
    "data.num_sample_images=3",
    "data.compile_lab=false",
    "model.generator.ngf=8",
    "model.discriminator.ndf=8",
    "trainer.accelerator=cpu",
    "trainer.devices=1",
    "trainer.precision=32-true",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.num_sanity_val_steps=0",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.log_every_n_steps=1",
]


def synthetic_photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A colourful structured picture: a smooth colour gradient with a few coloured rectangles, uint8 HxWx3."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    base = rng.uniform(0, 1, size=(3, 3))
    img = np.stack([base[c, 0] + base[c, 1] * xx + base[c, 2] * yy for c in range(3)], axis=-1)
    for _ in range(3):
        y0, x0 = rng.integers(0, height // 2), rng.integers(0, width // 2)
        img[y0 : y0 + height // 3, x0 : x0 + width // 3] = rng.uniform(0, 1, size=3)
    img = img + rng.normal(0, 0.02, size=img.shape)
    return (np.clip(img / img.max(), 0, 1) * 255).astype(np.uint8)


def write_photos(folder: Path, n: int, size: tuple[int, int] = (72, 88), ext: str = "png", seed: int = 0) -> list[Path]:
    """Write ``n`` synthetic photos into ``folder`` and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = folder / f"photo_{i:03d}.{ext}"
        Image.fromarray(synthetic_photo(rng, *size)).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def photo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sports-style data root: train/ (16 photos in two class folders) and test/ (8 photos)."""
    root = tmp_path_factory.mktemp("photos")
    write_photos(root / "train" / "football", 8, seed=1)
    write_photos(root / "train" / "tennis", 8, ext="jpg", seed=2)
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


def run_module(*args: str, cwd: Path, timeout: float = 600, env: dict | None = None):
    """Run ``python -m <args>`` in a subprocess with this checkout's colorgan; returns CompletedProcess."""
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


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
            overrides=[*TINY, "logger=csv", f"data.root={photo_root}", f"paths.output_dir={out}", f"paths.root_dir={out}"],
        )
    GlobalHydra.instance().clear()
    train(cfg)
    ckpt = out / "checkpoints" / "last.ckpt"
    assert ckpt.is_file(), f"training the tiny model wrote no {ckpt}"
    return ckpt
