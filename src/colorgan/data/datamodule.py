"""The LightningDataModule: files on CPU workers, colour maths on the device."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from colorgan.color import rgb_to_model_lab, uint8_to_float
from colorgan.data.dataset import PhotoFolderDataset, collate_photos
from colorgan.data.decode import DEFAULT_MAX_PIXELS
from colorgan.data.files import Splits, split_files

log = logging.getLogger(__name__)


def random_hflip(images: Tensor, p: float = 0.5, generator: torch.Generator | None = None) -> Tensor:
    """Flip each image of a batch ``(B, C, H, W)`` left-right with probability ``p``, on the images' device."""
    if images.shape[0] == 0 or p <= 0:
        return images
    flip = torch.rand(images.shape[0], device=images.device, generator=generator) < p
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


class ColorizationDataModule(L.LightningDataModule):
    """Photos from a folder as ``(L, ab)`` batches.

    CPU workers decode and resize to ``image_size`` (uint8). After the batch reaches the device,
    :meth:`on_after_batch_transfer` flips (training only), converts to float32 LAB with kornia and normalises:
    the batch becomes ``{"L": (B, 1, S, S) in [-1, 1], "ab": (B, 2, S, S) in ~[-1, 1], "rgb": (B, 3, S, S) in
    [0, 1], "skipped": [...]}``.

    Args:
        root: folder of photos (searched recursively). With ``train/`` and ``test/`` (or ``val/``) subfolders those
            are the splits; otherwise ``val_fraction`` of the photos is held out with ``split_seed``.
        image_size: side of the square training images.
        batch_size: photos per batch (per device under DDP).
        num_workers: CPU decode workers.
        flip_p: probability of a horizontal flip of each training photo.
        max_pixels: decompression-bomb guard for a single photo.
    """

    def __init__(
        self,
        root: str | None = None,
        image_size: int = 256,
        batch_size: int = 12,
        num_workers: int = 4,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        flip_p: float = 0.5,
        pin_memory: bool = True,
        persistent_workers: bool = True,
        drop_last: bool = True,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        num_sample_images: int = 8,
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.splits: Splits | None = None
        self.train_set: PhotoFolderDataset | None = None
        self.val_set: PhotoFolderDataset | None = None
        self.test_set: PhotoFolderDataset | None = None
        # Filled by on_after_batch_transfer, read and cleared once an epoch by the SkippedPhotosReport callback.
        self.skipped: dict[str, list[str]] = {"train": [], "val": []}
        self.seen: dict[str, int] = {"train": 0, "val": 0}

    # ------------------------------------------------------------------ files
    @property
    def root(self) -> Path:
        if self.hparams.root in (None, "", "???"):
            raise ValueError(
                "data.root is not set. Point it at a folder of photos, e.g. "
                "`python -m colorgan.train data.root=/path/to/photos`, or try `+experiment=demo`."
            )
        return Path(str(self.hparams.root)).expanduser()

    def setup(self, stage: str | None = None) -> None:
        if self.splits is None:
            self.splits = split_files(self.root, self.hparams.val_fraction, self.hparams.split_seed)
            log.info(
                "Data: %d train / %d val / %d test photos under %s (split by %s)",
                len(self.splits.train), len(self.splits.val), len(self.splits.test), self.root, self.splits.source,
            )
        size, guard = self.hparams.image_size, self.hparams.max_pixels
        self.train_set = PhotoFolderDataset(self.splits.train, size, guard)
        self.val_set = PhotoFolderDataset(self.splits.val, size, guard)
        self.test_set = PhotoFolderDataset(self.splits.test, size, guard)

    def _loader(self, dataset: PhotoFolderDataset, train: bool) -> DataLoader:
        workers = int(self.hparams.num_workers)
        batch = int(self.hparams.batch_size)
        drop_last = bool(self.hparams.drop_last) and train and len(dataset) >= batch
        return DataLoader(
            dataset,
            batch_size=batch,
            shuffle=train,
            num_workers=workers,
            collate_fn=collate_photos,
            pin_memory=bool(self.hparams.pin_memory) and torch.cuda.is_available(),
            persistent_workers=bool(self.hparams.persistent_workers) and workers > 0,
            drop_last=drop_last,
            prefetch_factor=4 if workers > 0 else None,
        )

    def train_dataloader(self) -> DataLoader:
        assert self.train_set is not None, "call setup() first"
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        assert self.val_set is not None, "call setup() first"
        return self._loader(self.val_set, train=False)

    def test_dataloader(self) -> DataLoader:
        assert self.test_set is not None, "call setup() first"
        return self._loader(self.test_set, train=False)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()

    # ------------------------------------------------------------ on device
    def to_lab_batch(self, images: Tensor, train: bool) -> dict[str, Tensor]:
        """uint8 RGB ``(B, 3, S, S)`` on any device -> the model's batch dict (see class docstring)."""
        if train:
            images = random_hflip(images, self.hparams.flip_p)
        rgb = uint8_to_float(images)
        L_, ab = rgb_to_model_lab(rgb)
        if self.hparams.channels_last:
            L_, ab = (t.contiguous(memory_format=torch.channels_last) for t in (L_, ab))
        return {"L": L_, "ab": ab, "rgb": rgb}

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if not (isinstance(batch, dict) and "image" in batch):
            return batch
        trainer = getattr(self, "trainer", None)
        training = bool(trainer is not None and trainer.training)
        split = "train" if training else "val"
        self.skipped[split].extend(batch.get("skipped", []))
        self.seen[split] += int(batch["image"].shape[0])
        out = self.to_lab_batch(batch["image"], train=training)
        out["skipped"] = batch.get("skipped", [])
        return out

    def pop_epoch_report(self, split: str) -> tuple[int, list[str]]:
        """(photos read, reasons for photos skipped) since the last call for ``split``; resets both."""
        seen, skipped = self.seen[split], self.skipped[split]
        self.seen[split], self.skipped[split] = 0, []
        return seen, skipped

    # ---------------------------------------------------------------- samples
    def sample_images(self, n: int | None = None) -> Tensor:
        """The first ``n`` readable validation photos, uint8 ``(n, 3, S, S)`` on CPU, the same on every call."""
        n = self.hparams.num_sample_images if n is None else n
        if self.val_set is None:
            self.setup("validate")
        assert self.val_set is not None
        picked = []
        for i in range(len(self.val_set)):
            item = self.val_set[i]
            if item["image"] is not None:
                picked.append(item["image"])
            if len(picked) == n:
                break
        if not picked:
            size = self.hparams.image_size
            return torch.empty((0, 3, size, size), dtype=torch.uint8)
        return torch.stack(picked)
