"""The LightningDataModule: files on CPU workers, colour maths on the device."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from colorgan.color import rgb_to_model_lab, srgb_to_linear_table, uint8_to_float, uint8_to_model_lab
from colorgan.data.cache import PhotoCache, TensorPhotos, cache_key
from colorgan.data.dataset import PhotoFolderDataset, collate_photos
from colorgan.data.decode import DEFAULT_MAX_PIXELS
from colorgan.data.files import Splits, split_files
from colorgan.data.gray_filter import drop_gray
from colorgan.data.workers import init_worker

log = logging.getLogger(__name__)

# The splits each Lightning stage reads: a training run never opens the test photos.
_STAGE_SPLITS = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("test",)}


def random_hflip(images: Tensor, p: float = 0.5, inplace: bool = False) -> Tensor:
    """Flip each image of a batch ``(B, C, H, W)`` left-right with probability ``p``.

    The coin tosses happen on the host (torch's global CPU generator, so ``seed`` covers them): no device sync,
    and only the chosen images are touched (a batch-wide ``torch.where`` costs ten times more on a CPU). With
    ``inplace`` the chosen images are flipped in ``images`` itself, which saves copying the others: for a batch
    nobody else holds (a freshly collated one), not for a view of a cache.
    """
    if images.shape[0] == 0 or p <= 0:
        return images
    flip = (torch.rand(images.shape[0]) < p).tolist()
    if inplace:
        for img, f in zip(images, flip):
            if f:
                img.copy_(img.flip(-1))
        return images
    return torch.stack([img.flip(-1) if f else img for img, f in zip(images, flip)])


@contextlib.contextmanager
def _cpu_threads(threads: int | None) -> Iterator[None]:
    """torch's intra-op CPU threads set to ``threads`` inside the block (None: left as they are)."""
    previous = torch.get_num_threads()
    if threads is None or threads == previous:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class _FusedLab:
    """uint8 -> normalised LAB as one compiled kernel per device; falls back to kornia if compiling fails."""

    def __init__(self) -> None:
        self.fn: Any = None
        self.tables: dict[torch.device, Tensor] = {}
        self.broken = False

    def __call__(self, images: Tensor) -> tuple[Tensor, Tensor] | None:
        if self.broken:
            return None
        if self.fn is None:
            self.fn = torch.compile(uint8_to_model_lab)
        table = self.tables.get(images.device)
        if table is None:
            table = self.tables[images.device] = srgb_to_linear_table(images.device)
        try:
            return self.fn(images, table)
        except Exception as err:  # noqa: BLE001 - no compiler, unsupported device, ...: eager kornia still works
            log.warning("data.compile_lab: compiling the LAB conversion failed (%s); using eager kornia", err)
            self.broken = True
            return None


_fused_lab = _FusedLab()


def default_cache_dir() -> Path:
    """The cache folder used when ``cache_dir`` is not given: ``$XDG_CACHE_HOME/colorgan``, else
    ``~/.cache/colorgan``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "colorgan"


class ColorizationDataModule(L.LightningDataModule):
    """Photos from a folder as ``(L, ab)`` batches.

    CPU workers decode and resize to ``image_size`` (uint8). After the batch reaches the device,
    :meth:`on_after_batch_transfer` flips (training only), converts to float32 LAB with kornia and normalises:
    the batch becomes ``{"L": (B, 1, S, S) in [-1, 1], "ab": (B, 2, S, S) in ~[-1, 1], "rgb": (B, 3, S, S) in
    [0, 1], "skipped": [...]}``.

    Args:
        root: folder of photos (searched recursively), split by :func:`colorgan.data.files.split_files`: its
            ``train/``, ``val/`` and ``test/`` folders; a validation split carved out of ``train/`` when there is
            no ``val/`` beside ``test/``; or, without such folders, ``val_fraction`` and ``test_fraction`` of all
            photos held out by a hash of each file's path and ``split_seed``. Validation (and so the sample grid
            and the best checkpoint) sees only the validation split; the test split only ``trainer.test`` and
            ``colorgan.evaluate``.
        val_fraction, test_fraction: the share of photos held out for validation and test (see ``root``).
        split_seed: seeds the path hash that carves the held-out splits.
        image_size: side of the square training images.
        batch_size: photos per batch (per device under DDP).
        num_workers: CPU decode workers.
        flip_p: probability of a horizontal flip of each training photo.
        max_pixels: decompression-bomb guard for a single photo.
        cache: decode and resize every photo once (in ``prepare_data``) into a memory-mapped uint8 file under
            ``cache_dir``; later epochs and runs do no JPEG work.
        cache_on_device: with ``cache``, keep the whole cached set in GPU memory when it fits (``auto``: when it
            takes under half of the free memory), so batches are gathered on the GPU without CPU workers.
        compile_lab: run the uint8 -> LAB conversion as one ``torch.compile``-d kernel (same numbers as kornia's,
            ten times faster on a CPU; compiling takes seconds once per process).
        min_colorfulness: drop training photos whose colourfulness (Hasler & Süsstrunk, 0-255) is under this;
            validation and test photos are never dropped. Measured once per file and remembered under
            ``cache_dir`` (:mod:`colorgan.data.gray_filter`). None: keep every photo.
        cache_dir: where ``cache`` and ``min_colorfulness`` keep what they measure; None: the user's cache
            folder (:func:`default_cache_dir`). Nothing is ever written under ``root``.
    """

    def __init__(
        self,
        root: str | None = None,
        image_size: int = 256,
        batch_size: int = 12,
        num_workers: int = 4,
        val_fraction: float = 0.1,
        split_seed: int = 0,
        test_fraction: float = 0.1,
        flip_p: float = 0.5,
        pin_memory: bool = True,
        persistent_workers: bool = True,
        drop_last: bool = True,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        num_sample_images: int = 8,
        channels_last: bool = False,
        cache: bool = False,
        cache_dir: str | None = None,
        cache_on_device: bool | str = "auto",
        compile_lab: bool = False,
        min_colorfulness: float | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.splits: Splits | None = None
        self._train_files: list[Path] | None = None  # the train split without the photos min_colorfulness drops
        self.train_set: PhotoFolderDataset | TensorPhotos | None = None
        self.val_set: PhotoFolderDataset | TensorPhotos | None = None
        self.test_set: PhotoFolderDataset | TensorPhotos | None = None
        # Filled by on_after_batch_transfer, read and cleared once an epoch by the SkippedPhotosReport callback.
        self.skipped: dict[str, list[str]] = {"train": [], "val": []}
        self.seen: dict[str, int] = {"train": 0, "val": 0}

    # ------------------------------------------------------------------ files
    @property
    def root(self) -> Path:
        if self.hparams.root in (None, "", "???"):
            raise ValueError(
                "data.root is not set. Point it at a folder of photos: data.root=/path/to/photos "
                "(for training, `+experiment=demo` uses the photos that ship with colorgan)."
            )
        return Path(str(self.hparams.root)).expanduser()

    def _split_files(self) -> Splits:
        if self.splits is None:
            self.splits = split_files(
                self.root, self.hparams.val_fraction, self.hparams.split_seed, self.hparams.test_fraction
            )
            log.info(
                "Data: %d train / %d val / %d test photos under %s (split by %s)",
                len(self.splits.train), len(self.splits.val), len(self.splits.test), self.root, self.splits.source,
            )
        return self.splits

    @property
    def cache_dir(self) -> Path:
        """``cache_dir``, or the user's cache folder (``$XDG_CACHE_HOME/colorgan``, else ``~/.cache/colorgan``).

        Never the data root: photo folders are often read-only (a shared drive, a mounted data set), and what is
        cached there is keyed by file, so one folder serves every data root."""
        if self.hparams.cache_dir:
            return Path(str(self.hparams.cache_dir)).expanduser()
        return default_cache_dir()

    def _build_cache_if_missing(self, files: list[Path], split: str) -> None:
        size = self.hparams.image_size
        if not PhotoCache.exists(self.cache_dir, files, size):
            PhotoCache.build(
                self.cache_dir, files, size, int(self.hparams.num_workers), self.hparams.max_pixels,
                desc=f"Caching {split} photos at {size} px",
            )

    def _training_files(self) -> list[Path]:
        """The train split, less the nearly gray photos when ``min_colorfulness`` is set (measured once)."""
        if self._train_files is None:
            files = self._split_files().train
            threshold = self.hparams.min_colorfulness
            if threshold is not None:
                kept = drop_gray(files, float(threshold), self.cache_dir, int(self.hparams.num_workers),
                                 self.hparams.max_pixels)
                log.info("Dropped %d of %d training photos with colourfulness < %g (data.min_colorfulness)",
                         len(files) - len(kept), len(files), threshold)
                if not kept:
                    raise ValueError(
                        f"data.min_colorfulness={threshold:g} dropped all {len(files)} training photos under "
                        f"{self.root}: lower it (BigColor uses 15), or set it to null to keep every photo"
                    )
                files = kept
            self._train_files = files
        return self._train_files

    def _split_lists(self, stage: str | None = None) -> list[tuple[str, list[Path]]]:
        """The (split, files) pairs that ``stage`` reads: fit reads train and val; test and predict only test."""
        splits = self._split_files()
        stage = getattr(stage, "value", stage)  # Lightning passes its TrainerFn enum
        wanted = _STAGE_SPLITS.get(str(stage), ("train", "val", "test"))
        every = {"val": splits.val, "test": splits.test}
        return [(split, self._training_files() if split == "train" else every[split]) for split in wanted]

    def _trainer_stage(self) -> str | None:
        trainer = getattr(self, "trainer", None)
        fn = trainer.state.fn if trainer is not None else None
        return None if fn is None else str(getattr(fn, "value", fn))

    def prepare_data(self) -> None:
        """With ``cache=True``: build the decoded-photo caches of the splits this run reads, once (local rank 0 of
        each node). A training run does not decode the test photos; ``trainer.test`` does, when it comes."""
        if self.hparams.cache:
            for split, files in self._split_lists(self._trainer_stage()):
                self._build_cache_if_missing(files, split)

    def _device_for_cache(self, nbytes: int) -> torch.device | None:
        want = self.hparams.cache_on_device
        if not want or want == "false":
            return None
        trainer = getattr(self, "trainer", None)
        if trainer is not None:
            device = trainer.strategy.root_device
        else:  # used on its own (e.g. by the benchmark): the current GPU, if any
            device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else None
        if device is None or device.type != "cuda":
            return None
        if want == "auto":
            free, _ = torch.cuda.mem_get_info(device)
            if nbytes > free // 2:
                log.info("Photo cache (%.1f GB) stays in host memory: it would fill over half the GPU", nbytes / 1e9)
                return None
        return device

    def setup(self, stage: str | None = None) -> None:
        """Make the datasets ``stage`` needs (``fit``: train and val; ``validate``: val; ``test``, ``predict``:
        test; None: all three). Datasets of an earlier stage are kept."""
        size, guard = self.hparams.image_size, self.hparams.max_pixels
        wanted = self._split_lists(stage)
        if not self.hparams.cache:
            sets: dict[str, Any] = {
                split: PhotoFolderDataset(files, size, guard, replace_bad=split == "train") for split, files in wanted
            }
        else:
            opened: dict[tuple[Path, ...], PhotoCache] = {}  # splits may share their photos: one copy
            caches: dict[str, PhotoCache] = {}
            for split, files in wanted:
                if tuple(files) not in opened:
                    self._build_cache_if_missing(files, split)
                    cache = opened[tuple(files)] = PhotoCache.open(self.cache_dir, files, size)
                    if cache.skipped:
                        log.warning("%d unreadable %s photo(s) are not in the cache: %s", len(cache.skipped), split,
                                    "; ".join(cache.skipped[:10]))
                caches[split] = opened[tuple(files)]
            device = self._device_for_cache(sum(c.nbytes for c in opened.values()))
            if device is not None:
                log.info("Photo cache on %s: batches are gathered there, no CPU workers", device)
            tensors = {id(c): c.images if device is None else c.images.to(device) for c in opened.values()}
            sets = {split: TensorPhotos(tensors[id(c)], c.files) for split, c in caches.items()}
        self.train_set = sets.get("train", self.train_set)
        self.val_set = sets.get("val", self.val_set)
        self.test_set = sets.get("test", self.test_set)

    def _loader(self, dataset: Any, train: bool) -> DataLoader:
        workers = int(self.hparams.num_workers)
        batch = int(self.hparams.batch_size)
        drop_last = bool(self.hparams.drop_last) and train and len(dataset) >= batch
        if isinstance(dataset, TensorPhotos):
            on_host = dataset.images.device.type == "cpu"
            return DataLoader(dataset, batch_size=batch, shuffle=train, drop_last=drop_last, collate_fn=dataset.collate,
                              pin_memory=on_host and bool(self.hparams.pin_memory) and torch.cuda.is_available())
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
            worker_init_fn=init_worker if workers > 0 else None,
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

    def counting_loader(self) -> DataLoader:
        """The training photos once each, in order, not flipped: what the classification head's colour frequencies
        are counted from (:mod:`colorgan.training.classes`)."""
        if self.train_set is None:
            self.setup("fit")
        return self._loader(self.train_set, train=False)

    def training_set_key(self) -> str:
        """Names the training photos and their size (each file's path, size and modification time): what is
        measured of them once is kept under this key."""
        return cache_key(self._training_files(), int(self.hparams.image_size))

    # ------------------------------------------------------------ on device
    def to_lab_batch(self, images: Tensor, train: bool, owned: bool = False) -> dict[str, Tensor]:
        """uint8 RGB ``(B, 3, S, S)`` on any device -> the model's batch dict (see class docstring).

        Training batches are flipped and carry no ``rgb`` (the training step does not use it). ``owned``: ``images``
        is this batch's own tensor (as a data loader hands it over), so the flip may happen in place.
        """
        with _cpu_threads(1 if images.device.type == "cpu" and self._decode_workers() else None):
            if train:  # on uint8, before the conversion: a quarter of the bytes of a float flip
                images = random_hflip(images, self.hparams.flip_p, inplace=owned)
            lab = _fused_lab(images) if self.hparams.compile_lab and images.shape[0] else None
            if lab is None:
                lab = rgb_to_model_lab(images)
            L_, ab = lab
            if self.hparams.channels_last:
                L_, ab = (t.contiguous(memory_format=torch.channels_last) for t in (L_, ab))
            out = {"L": L_, "ab": ab}
            if not train:
                out["rgb"] = uint8_to_float(images)
        return out

    def _decode_workers(self) -> bool:
        """Whether batches come from decode worker processes. On a CPU they need the cores more than the LAB
        conversion does: with its idle threads spinning on both cores, the loader from files gave a quarter fewer
        photos per second on a 2-core CPU."""
        return int(self.hparams.num_workers) > 0 and not isinstance(self.train_set, TensorPhotos)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if not (isinstance(batch, dict) and "image" in batch):
            return batch
        trainer = getattr(self, "trainer", None)
        training = bool(trainer is not None and trainer.training)
        split = "train" if training else "val"
        self.skipped[split].extend(batch.get("skipped", []))
        self.seen[split] += int(batch["image"].shape[0])
        out = self.to_lab_batch(batch["image"], train=training, owned=True)
        out["skipped"] = batch.get("skipped", [])
        for key in ("index", "name"):  # which photos these are (name: streamed sets carry it)
            if key in batch:
                out[key] = batch[key]
        return out

    def photo_names(self, split: str) -> list[str] | None:
        """The photos of a split's dataset, by the ``index`` its batches carry: paths relative to ``root`` (as
        POSIX strings); None when the dataset is not set up or does not know its files."""
        dataset = {"train": self.train_set, "val": self.val_set, "test": self.test_set}[split]
        files = getattr(dataset, "files", None)
        if files is None:
            return None
        names = []
        for f in files:
            path = Path(f)
            try:
                names.append(path.relative_to(self.root).as_posix())
            except ValueError:
                names.append(path.as_posix())
        return names

    def pop_epoch_report(self, split: str) -> tuple[int, list[str]]:
        """(photos read, reasons for photos skipped, each file once) since the last call for ``split``; resets."""
        seen, skipped = self.seen[split], list(dict.fromkeys(self.skipped[split]))
        self.seen[split], self.skipped[split] = 0, []
        return seen, skipped

    # ---------------------------------------------------------------- samples
    def sample_images(self, n: int | None = None) -> Tensor:
        """The first ``n`` readable validation photos, uint8 ``(n, 3, S, S)`` on CPU, the same on every call."""
        n = self.hparams.num_sample_images if n is None else n
        if self.val_set is None:
            self.setup("validate")
        assert self.val_set is not None
        if isinstance(self.val_set, TensorPhotos):
            return self.val_set.images[:n].cpu()
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
