"""Training-step benchmarks of the same model: ColorGAN under Lightning, and a plain PyTorch loop."""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from colorgan.benchmark.timing import Throughput, sync, windows_from_marks
from colorgan.color import rgb_to_model_lab
from colorgan.config.resolvers import unet_depth
from colorgan.nn import GANLoss
from colorgan.training.module import ColorGAN

# the generators built on an encoder (``encoder``: a torchvision ResNet, or any timm model for encoder_unet)
ENCODER_GENERATORS = ("resnet_unet", "encoder_unet")


def generator_config(name: str, image_size: int, ngf: int, encoder: str = "resnet34") -> dict[str, Any]:
    """``model.generator`` of the benchmarked generator: ``unet`` (as deep as ``image_size`` allows), or
    ``resnet_unet`` / ``encoder_unet`` on ``encoder``, random weights."""
    if name in ENCODER_GENERATORS:
        return {"name": name, "encoder": encoder, "ngf": ngf}
    return {"name": name, "ngf": ngf, "num_downs": unet_depth(image_size)}


def make_model(
    image_size: int, ngf: int, ndf: int, compile: bool, channels_last: bool, generator: str = "unet",
    encoder: str = "resnet34",
) -> ColorGAN:
    return ColorGAN(
        generator=generator_config(generator, image_size, ngf, encoder),
        discriminator={"ndf": ndf},
        image_size=image_size,
        compile=compile,
        channels_last=channels_last,
    )


def synthetic_batch(batch_size: int, image_size: int, device: torch.device, channels_last: bool) -> dict[str, Tensor]:
    """A photo-like batch already in the model's LAB, on the device (for model-only timing)."""
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(batch_size, 3, image_size // 8, image_size // 8, generator=g)
    rgb = F.interpolate(rgb, size=(image_size, image_size), mode="bilinear", align_corners=False).to(device)
    L_, ab = rgb_to_model_lab(rgb)
    if channels_last:
        L_, ab = (t.contiguous(memory_format=torch.channels_last) for t in (L_, ab))
    return {"L": L_, "ab": ab, "rgb": rgb}


class RepeatedBatch:
    """An iterable that yields the same in-memory batch ``n`` times (model-only timing: no data loading)."""

    def __init__(self, batch: dict[str, Tensor], n: int):
        self.batch, self.n = batch, n

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        for _ in range(self.n):
            yield self.batch


class _StepClock(L.Callback):
    """Per-batch end times (device synchronised only at window edges) for the timed part of a fit."""

    def __init__(self, warmup: int, steps_per_window: int, device: torch.device):
        self.warmup, self.steps_per_window, self.device = warmup, steps_per_window, device
        self.marks: list[float] = []

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if batch_idx + 1 >= self.warmup and (batch_idx + 1 - self.warmup) % self.steps_per_window == 0:
            sync(self.device)
            self.marks.append(time.perf_counter())


def lightning_fit(
    model: ColorGAN,
    train_data: Any,
    *,
    accelerator: str,
    precision: str,
    batch_size: int,
    warmup: int,
    windows: int,
    steps_per_window: int,
    datamodule: L.LightningDataModule | None = None,
) -> Throughput:
    """Images/s of ``trainer.fit`` on ``train_data`` (an iterable of batches) or a DataModule, median over windows."""
    device = torch.device("cuda" if accelerator == "gpu" else "cpu")
    clock = _StepClock(warmup, steps_per_window, device)
    trainer = L.Trainer(
        accelerator=accelerator, devices=1, precision=precision, max_epochs=1,
        limit_train_batches=warmup + windows * steps_per_window, limit_val_batches=0, num_sanity_val_steps=0,
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[clock], benchmark=True,
    )
    if datamodule is not None:
        trainer.fit(model, datamodule=datamodule)
    else:
        trainer.fit(model, train_dataloaders=train_data)
    return windows_from_marks(clock.marks, batch_size, steps_per_window)


class PlainLoop:
    """The same Pix2Pix training step written as plain PyTorch: what colorgan's step is compared against."""

    def __init__(self, model: ColorGAN, device: torch.device, precision: str):
        self.g, self.d = model.generator.to(device), model.discriminator.to(device)
        if model.hparams.channels_last:
            self.g.to(memory_format=torch.channels_last)
            self.d.to(memory_format=torch.channels_last)
        if model.hparams.compile:
            self.g.compile()
            self.d.compile()
        adam = {"lr": 2e-4, "betas": (0.5, 0.999), "fused": True}
        self.opt_g = torch.optim.Adam(self.g.parameters(), **adam)
        self.opt_d = torch.optim.Adam(self.d.parameters(), **adam)
        self.loss = GANLoss(model.hparams.gan_mode)
        self.lambda_l1 = model.hparams.lambda_l1
        self.device = device
        self.autocast = precision.startswith("bf16")

    def step(self, batch: dict[str, Tensor]) -> int:
        L_, ab = batch["L"], batch["ab"]
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            fake = self.g(L_)
            self.d.requires_grad_(True)
            real_logits = self.d(torch.cat([L_, ab], 1))
            fake_logits = self.d(torch.cat([L_, fake.detach()], 1))
            d_loss = self.loss.discriminator_loss(real_logits, fake_logits)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        self.d.requires_grad_(False)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            g_loss = self.loss.generator_loss(self.d(torch.cat([L_, fake], 1))) + self.lambda_l1 * F.l1_loss(fake, ab)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return L_.shape[0]


def training_flops_per_image(model: ColorGAN, batch: dict[str, Tensor], device: torch.device) -> float:
    """FLOPs of one full training step (G forward, D step, G step) per image, counted by torch's FlopCounterMode."""
    loop = PlainLoop(model, device, "32-true")
    with FlopCounterMode(display=False) as counter:
        loop.step(batch)
    return counter.get_total_flops() / batch["L"].shape[0]
