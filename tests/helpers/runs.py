"""Running colorgan in a subprocess with this checkout's code, and the tiny-model overrides every test uses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
SRC = TESTS_DIR.parent / "src"

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


def run_module(*args: str, cwd: Path, timeout: float = 600, env: dict | None = None):
    """Run ``python -m <args>`` in a subprocess with this checkout's colorgan; returns CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def run_job(*args: str, cwd: Path, timeout: float, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m <args>`` as a job of its own (a new process group, like a scheduler's job) and fail the test
    if it takes longer than ``timeout`` seconds.

    A DDP run is several processes (Lightning starts the other ranks itself); a deadlock leaves all of them waiting.
    On timeout every process of the group is killed (SIGKILL: a deadlocked rank answers nothing else), so a hang
    fails the test with the run's output instead of hanging the test session.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})}, start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        raise AssertionError(
            f"python -m {' '.join(args)} did not finish within {timeout:.0f} s (killed): hung?\n"
            f"--- stdout ---\n{stdout[-3000:]}\n--- stderr ---\n{stderr[-5000:]}"
        ) from None
    finally:
        try:  # the other ranks, should rank 0 have ended without them
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


# TINY without its progress-bar override: the default callbacks, progress bar included, as users run them.
TINY_WITH_BAR = [o for o in TINY if not o.startswith("trainer.enable_progress_bar=")]

# The ResNet U-Net at the TINY size: resnet18 encoder, random weights (no test downloads ImageNet weights).
TINY_RESNET = ["model/generator=resnet_unet", "model.generator.encoder=resnet18"]
# The timm-encoder U-Net at the TINY size: EfficientNet-Lite0 (3.4 M encoder parameters), random weights.
TINY_ENCODER = ["model/generator=encoder_unet", "model.generator.encoder=tf_efficientnet_lite0"]


def train_tiny(out: Path, *overrides: str) -> Path:
    """Train the TINY model (plus ``overrides``, which may replace TINY's settings) for one short epoch with outputs in
    ``out``; returns last.ckpt."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from colorgan.config import config_dir
    from colorgan.train import train

    given = {o.split("=", 1)[0] for o in overrides}
    base = [o for o in TINY if o.split("=", 1)[0] not in given]  # an override of a TINY setting replaces it
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose(
            "train", overrides=[*base, "logger=csv", f"paths.output_dir={out}", f"paths.root_dir={out}", *overrides]
        )
    GlobalHydra.instance().clear()
    train(cfg)
    ckpt = out / "checkpoints" / "last.ckpt"
    assert ckpt.is_file(), f"training the tiny model wrote no {ckpt}"
    return ckpt


def tiny_job(sweep: Path, num: int, recipe: str, *overrides: str) -> Path:
    """A tested job of a sweep as the multirun leaves it: its folder ``sweep/num`` with config.yaml, checkpoints
    (the TINY model trained with ``overrides``, then tested) and result.yaml."""
    from omegaconf import OmegaConf

    from colorgan.evaluation.sweep_summary import RESULT_FILE

    folder = sweep / str(num)
    train_tiny(folder, f"recipe_name={recipe}", "seed=0", "test=true", *overrides)
    result = {"job": num, "status": "COMPLETED", "overrides": [f"+recipe={recipe}"], "output_dir": str(folder)}
    OmegaConf.save(OmegaConf.create(result), folder / RESULT_FILE)
    return folder
