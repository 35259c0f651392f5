"""A tiny ColorGAN, its data and a quiet CPU Trainer, for tests that train a few batches in-process."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, Sampler

from colorgan.data import ColorizationDataModule
from colorgan.training.module import ColorGAN

TINY_G = {"ngf": 8, "num_downs": 6}
TINY_D = {"ndf": 8, "n_layers": 2}


def tiny_model(**kw) -> ColorGAN:
    return ColorGAN(generator=TINY_G, discriminator=TINY_D, image_size=64, **kw)


def tiny_data(root, **kw) -> ColorizationDataModule:
    return ColorizationDataModule(root=str(root), image_size=64, batch_size=4, num_workers=0, **kw)


def tiny_trainer(tmp_path, **kw) -> L.Trainer:
    args = dict(
        accelerator="cpu", devices=1, max_epochs=1, limit_train_batches=1, limit_val_batches=0,
        num_sanity_val_steps=0, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, default_root_dir=tmp_path,
    )
    args.update(kw)
    return L.Trainer(**args)


def params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and buffers, copied."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


class _EpochPermutation(Sampler[int]):
    """A shuffle that depends on the epoch alone, drawn when the epoch's first batch is."""

    def __init__(self, n: int, epoch) -> None:
        self.n, self.epoch = n, epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        yield from torch.randperm(self.n, generator=torch.Generator().manual_seed(self.epoch())).tolist()


class EpochSeededData(ColorizationDataModule):
    """Training batches that depend on the epoch alone. A resumed run creates its first loader before
    ``on_train_epoch_start`` and an uninterrupted one after; with torch's own shuffle that draw from the global
    generator lands on a different side of :class:`SeedEachEpoch`'s seeding, and the photos of the epoch differ."""

    def train_dataloader(self) -> DataLoader:
        plain = super().train_dataloader()
        return DataLoader(
            plain.dataset, batch_size=plain.batch_size, drop_last=plain.drop_last, collate_fn=plain.collate_fn,
            sampler=_EpochPermutation(len(plain.dataset), lambda: self.trainer.current_epoch),
            generator=torch.Generator(),  # the loader's base seed is not drawn from the global generator
        )


def epoch_seeded_data(root, **kw) -> EpochSeededData:
    return EpochSeededData(root=str(root), image_size=64, batch_size=4, num_workers=0, **kw)


class SeedEachEpoch(L.Callback):
    """Seeds torch at the start of every epoch (before the epoch's flips and dropout draw anything); with
    :class:`EpochSeededData` a run that resumes at epoch ``e`` trains on what an uninterrupted run trains on in
    epoch ``e``."""

    def on_train_epoch_start(self, trainer, pl_module):
        torch.manual_seed(1000 + trainer.current_epoch)


class StopAfterEpochs(L.Callback):
    """Ends ``fit`` after ``n`` epochs as an interrupted run would, whatever ``max_epochs`` says."""

    def __init__(self, n: int):
        self.n = n

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch + 1 >= self.n:
            trainer.should_stop = True
