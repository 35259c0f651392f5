"""Train from a prepared photo set streamed by LitData (``data=streaming data.input_dir=DIR_OR_URL``).

``colorgan-prepare`` wrote each split as chunks of centre-cropped square photos; here LitData's
``StreamingDataset`` reads them (from a local folder or object storage, keeping at most ``max_cache_size`` of
chunks in ``cache_dir``), worker processes decode them to uint8 ``(3, S, S)``, and from there the batch takes the
folder path's way: the flip, LAB conversion and normalisation on the device (:class:`ColorizationDataModule`).

Resuming: ``StreamingDataLoader`` is stateful, and Lightning stores the training loader's state in every
checkpoint (``loops.fit_loop.state_dict.combined_loader``), so a run resumed mid-epoch reads exactly the photos an
uninterrupted run would have read next, in the same order. Under DDP each rank streams its own disjoint share.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from colorgan.data.datamodule import ColorizationDataModule
from colorgan.data.dataset import collate_photos
from colorgan.data.decode import resize_square
from colorgan.data.storage import check_reachable, has_index, require_stream, split_location, storage_options_of

log = logging.getLogger(__name__)


def __getattr__(name: str) -> type:
    """``StreamingPhotos`` and ``ResumingLoader``, built on first use (LitData is imported then). Decode workers
    started by spawn unpickle the dataset by this name."""
    if name == "StreamingPhotos":
        return _dataset_class()
    if name == "ResumingLoader":
        return _loader_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _module_level(cls: type) -> type:
    """Make ``cls`` picklable by name as ``colorgan.data.streaming.<its name>``, and build it once."""
    cls.__qualname__ = cls.__name__
    cls.__module__ = __name__
    globals()[cls.__name__] = cls
    return cls


def _dataset_class() -> type:
    if "StreamingPhotos" in globals():
        return globals()["StreamingPhotos"]
    StreamingDataset = require_stream().StreamingDataset  # noqa: N806

    class StreamingPhotos(StreamingDataset):
        """A prepared split as items ``{"image": uint8 (3, S, S), "skipped": [], "index": int, "name": str}``
        (``index``: the photo's place in the split, the same on every rank and every run)."""

        def __init__(self, *args: Any, image_size: int, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.image_size = int(image_size)

        def __getitem__(self, index: Any) -> dict[str, Any]:
            from torchvision.io import ImageReadMode, decode_image

            item = super().__getitem__(index)
            # a no-op where the set was prepared at image_size (resize_square leaves such a square as it is)
            image = resize_square(decode_image(item["image"], mode=ImageReadMode.RGB), self.image_size)
            position = getattr(index, "index", index)
            return {"image": image, "skipped": [], "index": int(position), "name": item["name"]}

        def stored(self, index: int) -> dict[str, Any]:
            """The item as stored (encoded image and name), without decoding."""
            return super().__getitem__(index)

    return _module_level(StreamingPhotos)


def _loader_class() -> type:
    if "ResumingLoader" in globals():
        return globals()["ResumingLoader"]
    StreamingDataLoader = require_stream().StreamingDataLoader  # noqa: N806

    class ResumingLoader(StreamingDataLoader):
        """LitData's loader, resumed the way Lightning iterates it.

        * Lightning ends an epoch after ``len(loader)`` batches without asking the iterator for one more, so the
          iterator of a resumed epoch never runs to its end, where LitData leaves restore mode; the next epoch
          would replay the restored position and yield nothing. Here restore mode ends when the next epoch's
          iteration begins.
        * A state saved after an epoch's last batch makes LitData start the next epoch at once, while Lightning
          still iterates the finished epoch (and takes a batch ahead) before it begins the next: the epochs would
          slip by one. Such a state yields nothing for the finished epoch, and the next iteration is the next
          epoch, as in a run that was never stopped.
        """

        def load_state_dict(self, obj: dict[str, Any]) -> None:
            self._yielded_since_restore = False
            self._finished_epoch = False
            batches = len(self)
            if batches and int(obj.get("num_samples_yielded", 0)) >= batches * int(self.batch_size or 1):
                self.current_epoch = int(obj["current_epoch"])
                self.restore = False
                self._finished_epoch = True
                return
            super().load_state_dict(obj)

        def __iter__(self) -> Any:
            if getattr(self, "_finished_epoch", False):
                self._finished_epoch = False
                return
            if self.restore and getattr(self, "_yielded_since_restore", False):
                self.restore = False
            self._yielded_since_restore = False
            for batch in super().__iter__():
                self._yielded_since_restore = True
                yield batch

    return _module_level(ResumingLoader)


class _Names(Sequence):
    """A split's photo names by index, read from the stored items when asked (the test record asks for those it
    scored)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return str(self.dataset.stored(int(i))["name"])


def collate_streamed(items: list[dict[str, Any]]) -> dict[str, Any]:
    """:func:`collate_photos` plus the photos' names (``name``: list of str, in batch order)."""
    batch = collate_photos(items)
    batch["name"] = [it["name"] for it in items if it["image"] is not None]
    return batch


class StreamingDataModule(ColorizationDataModule):
    """The photos ``colorgan-prepare`` wrote under ``input_dir`` as ``(L, ab)`` batches.

    Args:
        input_dir: the folder or URL ``colorgan-prepare`` wrote (``input_dir/train``, ``/val``, ``/test``).
        cache_dir: local folder for the chunks of a remote set; None: LitData's default cache folder. Chunks of a
            local set are read in place.
        max_cache_size: at most this much of ``cache_dir`` is used (e.g. ``"50GB"``); older chunks are evicted.
        endpoint_url, storage_options: where and how to reach object storage (boto3 client arguments for S3).
        shuffle_seed: seeds the order of the training photos (LitData shuffles chunks, then photos within them).
        image_size, batch_size, num_workers, flip_p, pin_memory, drop_last, num_sample_images: as
            :class:`ColorizationDataModule`.
        channels_last, compile_lab: as :class:`ColorizationDataModule`.
    """

    def __init__(
        self,
        input_dir: str | None = None,
        cache_dir: str | None = None,
        max_cache_size: str = "50GB",
        endpoint_url: str | None = None,
        storage_options: dict[str, Any] | None = None,
        shuffle_seed: int = 42,
        image_size: int = 256,
        batch_size: int = 12,
        num_workers: int = 4,
        flip_p: float = 0.5,
        pin_memory: bool = True,
        drop_last: bool = True,
        num_sample_images: int = 8,
        channels_last: bool = False,
        compile_lab: bool = False,
    ) -> None:
        super().__init__(
            root=input_dir,
            image_size=image_size,
            batch_size=batch_size,
            num_workers=num_workers,
            flip_p=flip_p,
            pin_memory=pin_memory,
            drop_last=drop_last,
            num_sample_images=num_sample_images,
            channels_last=channels_last,
            compile_lab=compile_lab,
        )
        # plain types only (Hydra hands a DictConfig): checkpoints hold primitives and load with weights_only
        storage_options = {str(k): v for k, v in dict(storage_options or {}).items()}
        # the base class saved its own arguments; these are the ones a streaming run was configured with
        self.save_hyperparameters(logger=False)
        self._checked = False

    @property
    def input_dir(self) -> str:
        value = self.hparams.input_dir
        if value in (None, "", "???"):
            raise ValueError(
                "data.input_dir is not set. Point it at what colorgan-prepare wrote: "
                "data=streaming data.input_dir=/path/or/s3://bucket/prefix"
            )
        return str(value)

    @property
    def root(self) -> Path:  # what logs and records call the data's place
        return Path(self.input_dir)

    def _options(self) -> dict[str, Any]:
        return storage_options_of(self.hparams.endpoint_url, dict(self.hparams.storage_options or {}))

    def _check(self, splits: Sequence[str]) -> None:
        if self._checked:
            return
        check_reachable(self.input_dir, self._options())
        for split in splits:
            where = split_location(self.input_dir, split)
            if not has_index(where, self._options()):
                raise FileNotFoundError(
                    f"No prepared {split} split at '{where}' (its index.json is missing): run "
                    f"colorgan-prepare PHOTOS {self.input_dir}, or finish an interrupted one by running it again."
                )
        self._checked = True

    def prepare_data(self) -> None:
        """Nothing to build: the set was prepared once by ``colorgan-prepare``. Fails early when it is not there."""
        self._check(["train", "val"])

    def _make(self, split: str, train: bool) -> Any:
        cls = _dataset_class()
        cache_dir = self.hparams.cache_dir
        return cls(
            split_location(self.input_dir, split),
            cache_dir=str(Path(cache_dir).expanduser()) if cache_dir else None,
            shuffle=train,
            drop_last=bool(self.hparams.drop_last) if train else False,
            seed=int(self.hparams.shuffle_seed),
            max_cache_size=self.hparams.max_cache_size,
            storage_options=self._options(),
            image_size=int(self.hparams.image_size),
        )

    def setup(self, stage: str | None = None) -> None:
        stage = getattr(stage, "value", stage)
        wanted = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("test",)}.get(
            str(stage), ("train", "val", "test")
        )
        self._check(wanted)
        for split in wanted:
            dataset = self._make(split, train=split == "train")
            setattr(self, f"{split}_set", dataset)
            if split == "train":
                stored = self._stored_size(dataset)
                if stored < int(self.hparams.image_size):
                    log.warning(
                        "The streamed photos are %d px and data.image_size is %d: they are upsampled. Prepare the set "
                        "with colorgan-prepare --size %d for full detail.",
                        stored,
                        self.hparams.image_size,
                        self.hparams.image_size,
                    )

    @staticmethod
    def _stored_size(dataset: Any) -> int:
        from torchvision.io import ImageReadMode, decode_image

        return int(decode_image(dataset.stored(0)["image"], mode=ImageReadMode.RGB).shape[-1])

    def _loader(self, dataset: Any, train: bool) -> Any:
        workers = int(self.hparams.num_workers)
        loader = _loader_class()(
            dataset,
            batch_size=int(self.hparams.batch_size),
            num_workers=workers,
            collate_fn=collate_streamed,
            pin_memory=bool(self.hparams.pin_memory) and torch.cuda.is_available(),
            persistent_workers=False,
            prefetch_factor=4 if workers > 0 else None,
        )
        trainer = getattr(self, "trainer", None)
        if train and trainer is not None:
            # LitData shuffles epoch k by its own counter (k + 1 once it begins). A run resumed after a finished
            # epoch gets no loader state from Lightning (only a run stopped inside an epoch does), so the counter
            # starts from the epochs the checkpoint has done, as an uninterrupted run's would stand
            loader.current_epoch = int(trainer.current_epoch)
        return loader

    def counting_loader(self) -> Any:
        """The training split once, in stored order (a loader of its own: the training loader's resumable state is
        not touched)."""
        return self._loader(self._make("train", train=False), train=False)

    def training_set_key(self) -> str:
        """The training split's place and its ``index.json`` (what LitData wrote when it was prepared), and the size."""
        dataset = self._make("train", train=False)
        return f"{self.input_dir}|{len(dataset)}|{self.hparams.image_size}|{getattr(dataset, 'input_dir', '')}"

    def _decode_workers(self) -> bool:
        return int(self.hparams.num_workers) > 0

    def photo_names(self, split: str) -> Sequence[str] | None:
        dataset = {"train": self.train_set, "val": self.val_set, "test": self.test_set}[split]
        return None if dataset is None else _Names(dataset)

    def sample_images(self, n: int | None = None) -> Tensor:
        """The first ``n`` validation photos, uint8 ``(n, 3, S, S)`` on CPU, the same on every call."""
        n = self.hparams.num_sample_images if n is None else n
        if self.val_set is None:
            self.setup("validate")
        assert self.val_set is not None
        count = min(int(n), len(self.val_set))
        if count == 0:
            size = int(self.hparams.image_size)
            return torch.empty((0, 3, size, size), dtype=torch.uint8)
        return torch.stack([self.val_set[i]["image"] for i in range(count)])
