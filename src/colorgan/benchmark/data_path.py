"""Data-path benchmarks: colorgan's loader (from files, from the cache) against the classic per-sample pipeline."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from colorgan.benchmark.timing import Throughput, time_iterations
from colorgan.color import rgb_to_model_lab, srgb_to_linear_table, uint8_to_model_lab
from colorgan.data import ColorizationDataModule, find_images


def make_photos(folder: Path, count: int, width: int, height: int, seed: int = 0) -> list[Path]:
    """Write ``count`` JPEG photos of ``width`` x ``height`` made from the demo photos (crops, scaled up, with
    sensor-like noise), so benchmarks run on real photo content without any download."""
    from colorgan.config import asset_path

    sources = find_images(asset_path("demo"))
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"bench_{width}x{height}_{i:05d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        src = Image.open(rng.choice(sources)).convert("RGB")
        w, h = src.size
        side = rng.randint(w // 2, w)
        x, y = rng.randint(0, w - side), rng.randint(0, h - side)
        img = src.crop((x, y, x + side, y + side)).resize((width, height), Image.Resampling.BICUBIC)
        arr = np.asarray(img, dtype=np.float32) + noise.normal(0, 4, size=(height, width, 3))
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, quality=90)
    return paths


class ClassicColorizationDataset(Dataset):
    """The classic per-sample CPU pipeline of Pix2Pix colorization code: PIL decode, resize, random flip,
    float64 scikit-image ``rgb2lab`` per image, normalise — all inside the worker."""

    def __init__(self, files: list[Path], image_size: int):
        self.files, self.image_size = files, image_size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        from skimage.color import rgb2lab

        img = Image.open(self.files[i]).convert("RGB").resize((self.image_size, self.image_size), Image.BICUBIC)
        if random.random() < 0.5:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        lab = rgb2lab(np.array(img)).astype("float32")
        lab = torch.from_numpy(lab).permute(2, 0, 1)
        return {"L": lab[[0]] / 50.0 - 1.0, "ab": lab[[1, 2]] / 110.0}


def _drain(loader: DataLoader, transform: Any, device: torch.device):
    """An endless iterator over ``loader``: each next() moves a batch to ``device``, converts it, returns its size."""
    while True:
        for batch in loader:
            out = transform(batch)
            yield int(out["L"].shape[0])


def classic_loader(files: list[Path], image_size: int, batch_size: int, workers: int, device: torch.device,
                   warmup: int, windows: int, steps: int) -> Throughput:
    loader = DataLoader(ClassicColorizationDataset(files, image_size), batch_size=batch_size, shuffle=True,
                        num_workers=workers, drop_last=True, persistent_workers=workers > 0,
                        pin_memory=device.type == "cuda")

    def to_device(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(device, non_blocking=True) for k, v in batch.items()}

    return time_iterations(_drain(loader, to_device, device), device, warmup, windows, steps)


def lab_conversion_ms(images: Tensor, device: torch.device, windows: int, compiled: bool = True) -> dict[str, float]:
    """Milliseconds to turn one batch of uint8 photos into the model's LAB: colorgan's compiled kernel (unless
    ``compiled`` is false) and kornia's eager conversion, both on ``device``; and scikit-image's float64
    ``rgb2lab`` per photo on the CPU."""
    from skimage.color import rgb2lab

    batch = images.to(device)
    fused = torch.compile(uint8_to_model_lab)
    table = srgb_to_linear_table(device)
    photos = [img.permute(1, 2, 0).numpy() for img in images]
    runs = {
        **({"compiled": lambda: fused(batch, table) and 1} if compiled else {}),
        "kornia_eager": lambda: rgb_to_model_lab(batch) and 1,
        "skimage_per_photo": lambda: [rgb2lab(p) for p in photos] and 1,
    }
    batches = max(1, 40 // len(images))  # about 40 photos a window
    out = {}
    for name, run in runs.items():
        t = time_iterations(run, device, 2, windows, batches)  # batches per second
        out[name] = 1000.0 / t.median
    out["skimage_per_photo"] /= len(images)
    return out


def colorgan_loader(datamodule: ColorizationDataModule, device: torch.device, warmup: int, windows: int,
                    steps: int) -> Throughput:
    """Images/s of colorgan's training loader: workers decode (or the cache serves) uint8, then the batch moves to
    the device and becomes float32 LAB there (flip included), exactly as in training."""
    loader = datamodule.train_dataloader()

    def to_lab(batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        images = batch["image"].to(device, non_blocking=True)
        return datamodule.to_lab_batch(images, train=True, owned=True)

    return time_iterations(_drain(loader, to_lab, device), device, warmup, windows, steps)
