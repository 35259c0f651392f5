"""What a test run leaves behind for comparisons: its test metrics and its first test photos, colorized.

After ``trainer.test`` (``test=true``) the run folder holds

- ``test_metrics.json``: ``{"metrics": {...}, "photos": N}``: every ``test/...`` number, the gray baseline's
  ``test/gray/...`` included, and the number of test photos;
- ``samples/test.png``: the first test photos as a grid (gray | colorized | truth);
- ``samples/test.pt``: the same pictures as uint8 tensors ``{"gray", "colorized", "truth"}`` of shape
  ``(N, 3, S, S)`` (``torch.load(weights_only=True)`` reads it), from which a sweep's quality grid is built;
- ``test_photos.json``: every test photo's own scores, ``{"photos": [{"photo": path relative to data.root,
  "scores": {...}, "gray": {...}}, ...]}`` (``colorgan.metrics.per_photo_scores``), from which a comparison
  computes intervals by resampling photos. Under DDP it holds rank 0's share of the photos, and says so.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor

from colorgan.checkpoints.writing import atomic_torch_save
from colorgan.training.grid import labelled_grid
from colorgan.training.sample_grid import colorized_rows

log = logging.getLogger(__name__)

TEST_METRICS_FILE = "test_metrics.json"
TEST_GRID_FILE = "samples/test.png"
TEST_IMAGES_FILE = "samples/test.pt"
TEST_PHOTOS_FILE = "test_photos.json"


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_uint8(rgb: Tensor) -> Tensor:
    """``(N, 3, H, W)`` float in [0, 1] -> uint8, rounded as colorize rounds its output."""
    return rgb.clamp(0.0, 1.0).mul(255.0).add_(0.5).to(torch.uint8)


class TestRecord(L.Callback):
    """Write ``test_metrics.json``, ``test_photos.json`` and ``samples/test.{png,pt}`` (the first ``num_images``
    test photos) into ``dirpath`` when testing ends. Rank 0 only; the metrics are already reduced over all ranks."""

    __test__ = False  # a callback, not a test class: pytest collects names that start with Test

    def __init__(self, dirpath: str | Path, num_images: int = 8) -> None:
        self.dirpath = Path(dirpath)
        self.num_images = int(num_images)
        self._photos: list[Tensor] = []
        self._per_photo: list[dict[str, Any]] = []

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._photos = []
        self._per_photo: list[dict[str, Any]] = []

    @rank_zero_only
    def on_test_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if isinstance(outputs, dict) and outputs.get("scores"):
            self._per_photo.append(outputs)
        room = self.num_images - sum(p.shape[0] for p in self._photos)
        if room > 0 and isinstance(batch, dict) and batch.get("rgb") is not None and batch["rgb"].shape[0]:
            self._photos.append(to_uint8(batch["rgb"][:room]).cpu())

    @rank_zero_only
    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/") and v.numel() == 1}
        test_set = getattr(trainer.datamodule, "test_set", None)
        photos = len(test_set) if test_set is not None else None
        write_json(self.dirpath / TEST_METRICS_FILE, {"metrics": metrics, "photos": photos})
        written = [self.dirpath / TEST_METRICS_FILE]
        if self._per_photo:
            write_json(self.dirpath / TEST_PHOTOS_FILE, self._photo_scores(trainer))
            written.append(self.dirpath / TEST_PHOTOS_FILE)
            self._per_photo = []
        if self._photos:
            photos = torch.cat(self._photos)
            rows = colorized_rows(pl_module, photos)
            (self.dirpath / TEST_GRID_FILE).parent.mkdir(parents=True, exist_ok=True)
            labelled_grid(rows).save(self.dirpath / TEST_GRID_FILE)
            atomic_torch_save({name: to_uint8(images).cpu() for name, images in rows}, self.dirpath / TEST_IMAGES_FILE)
            written += [self.dirpath / TEST_GRID_FILE, self.dirpath / TEST_IMAGES_FILE]
        self._photos = []
        log.info("Test results written to %s", ", ".join(str(p) for p in written))


    def _photo_scores(self, trainer: L.Trainer) -> dict[str, Any]:
        """The content of ``test_photos.json``: each photo's name and scores, in test-set order."""
        datamodule = getattr(trainer, "datamodule", None)
        names = datamodule.photo_names("test") if hasattr(datamodule, "photo_names") else None
        photos = []
        for out in self._per_photo:
            n = len(next(iter(out["scores"].values())))
            index = out.get("index")
            for i in range(n):
                k = int(index[i]) if index is not None and len(index) == n else None
                name = names[k] if names is not None and k is not None and 0 <= k < len(names) else None
                photos.append({
                    "photo": name if name is not None else f"#{len(photos)}",
                    "scores": {m: float(v[i]) for m, v in out["scores"].items()},
                    "gray": {m: float(v[i]) for m, v in out["gray"].items()},
                })
        record: dict[str, Any] = {"photos": photos}
        if trainer.world_size > 1:
            record["note"] = f"rank 0's share of the test photos ({trainer.world_size} processes)"
        return record


def read_test_record(folder: str | Path) -> tuple[dict[str, Any] | None, dict[str, Tensor] | None]:
    """``(content of test_metrics.json, test pictures)`` a run left in ``folder`` (None for what is missing)."""
    folder = Path(folder)
    metrics_file, images_file = folder / TEST_METRICS_FILE, folder / TEST_IMAGES_FILE
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else None
    images = torch.load(images_file, map_location="cpu", weights_only=True) if images_file.is_file() else None
    return metrics, images
