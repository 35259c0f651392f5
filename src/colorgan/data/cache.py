"""A decoded-photo cache: every photo decoded and resized once into one memory-mapped uint8 file.

Later epochs (and later runs) read raw pixels instead of decoding JPEGs. The file is ``<key>.u8`` with an index
``<key>.json`` beside it; the key hashes the image size and every file's path, size and modification time, so a
changed folder gets a new cache instead of stale pixels. Writes go to a temporary file that is renamed into place,
so a killed build never leaves a half-written cache behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from colorgan.data.dataset import BadImageWarning, PhotoFolderDataset
from colorgan.data.decode import DEFAULT_MAX_PIXELS
from colorgan.data.workers import init_worker

log = logging.getLogger(__name__)

CACHE_FORMAT = 1


def cache_key(files: Sequence[Path], image_size: int) -> str:
    """A hash of the image size and each file's absolute path, size and mtime."""
    h = hashlib.sha1(f"colorgan-cache-{CACHE_FORMAT}-{image_size}".encode())
    for f in files:
        st = f.stat()
        h.update(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


def _collate_indexed(items: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    return items


class _Indexed(Dataset):
    def __init__(self, dataset: PhotoFolderDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[int, dict[str, Any]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BadImageWarning)  # listed once, after the build
            return i, self.dataset[i]


@dataclass
class PhotoCache:
    """``images``: uint8 ``(N, 3, S, S)`` backed by the memory-mapped file; ``files``: the N photos in order;
    ``skipped``: why the other photos of the folder are not in it."""

    images: Tensor
    files: list[str]
    skipped: list[str]
    path: Path

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def nbytes(self) -> int:
        return self.images.numel()

    @staticmethod
    def paths(cache_dir: str | Path, files: Sequence[Path], image_size: int) -> tuple[Path, Path]:
        key = cache_key(files, image_size)
        cache_dir = Path(cache_dir)
        return cache_dir / f"{key}.u8", cache_dir / f"{key}.json"

    @classmethod
    def exists(cls, cache_dir: str | Path, files: Sequence[Path], image_size: int) -> bool:
        data, index = cls.paths(cache_dir, files, image_size)
        return data.is_file() and index.is_file()

    @classmethod
    def open(cls, cache_dir: str | Path, files: Sequence[Path], image_size: int) -> PhotoCache:
        """Map an existing cache (no pixel is read until used)."""
        data, index = cls.paths(cache_dir, files, image_size)
        meta = json.loads(index.read_text())
        n, s = int(meta["count"]), int(meta["image_size"])
        expected = n * 3 * s * s
        if data.stat().st_size != expected:
            raise OSError(f"photo cache {data} has {data.stat().st_size} bytes, expected {expected}; delete it")
        if n == 0:
            images = torch.empty((0, 3, s, s), dtype=torch.uint8)
        else:
            images = torch.from_file(str(data), shared=True, size=expected, dtype=torch.uint8).view(n, 3, s, s)
        return cls(images=images, files=list(meta["files"]), skipped=list(meta["skipped"]), path=data)

    @classmethod
    def build(
        cls,
        cache_dir: str | Path,
        files: Sequence[Path],
        image_size: int,
        num_workers: int = 0,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        desc: str = "Caching photos",
    ) -> PhotoCache:
        """Decode and resize every photo once (in ``num_workers`` processes) and write the cache."""
        files = [Path(f) for f in files]
        data, index = cls.paths(cache_dir, files, image_size)
        data.parent.mkdir(parents=True, exist_ok=True)
        tmp = data.with_suffix(f".u8.tmp{os.getpid()}")
        frame = 3 * image_size * image_size
        dataset = PhotoFolderDataset(files, image_size, max_pixels, replace_bad=False)
        loader = DataLoader(
            _Indexed(dataset), batch_size=32, num_workers=num_workers, collate_fn=_collate_indexed,
            worker_init_fn=init_worker,
        )
        kept: list[str] = []
        skipped: list[str] = []
        try:
            out = np.memmap(tmp, dtype=np.uint8, mode="w+", shape=(max(1, len(files)), frame))
            for items in tqdm(loader, total=len(loader), desc=desc, unit="batch", leave=False):
                for i, item in items:
                    if item["image"] is None:
                        skipped.extend(item["skipped"])
                        continue
                    out[len(kept)] = item["image"].reshape(-1).numpy()
                    kept.append(str(files[i]))
            out.flush()
            del out
            os.truncate(tmp, len(kept) * frame)
            os.replace(tmp, data)
        finally:
            if tmp.exists():
                tmp.unlink()
        meta = {"format": CACHE_FORMAT, "image_size": image_size, "count": len(kept), "files": kept, "skipped": skipped}
        tmp_index = index.with_suffix(f".json.tmp{os.getpid()}")
        tmp_index.write_text(json.dumps(meta))
        os.replace(tmp_index, index)
        log.info("Cached %d photos (%.1f MB) in %s", len(kept), len(kept) * frame / 1e6, data)
        if skipped:
            log.warning("%d unreadable photo(s) left out of the cache: %s", len(skipped), "; ".join(skipped[:10]))
        return cls.open(cache_dir, files, image_size)


class TensorPhotos(Dataset):
    """Cached photos served straight from a uint8 ``(N, 3, S, S)`` tensor: the memory-mapped cache file, or a copy
    of it in GPU memory. Items are indices; :meth:`collate` gathers a whole batch in one indexing operation, so no
    worker processes and no per-photo Python work are needed."""

    def __init__(self, images: Tensor, files: Sequence[str | Path] | None = None):
        self.images = images
        self.files = [Path(f) for f in files] if files is not None else None  # the photo of each row, when known

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> int:
        return index

    def collate(self, indices: list[int]) -> dict[str, Any]:
        idx = torch.as_tensor(indices, device=self.images.device)
        return {"image": self.images.index_select(0, idx), "skipped": [], "index": idx.cpu()}
