"""The decoded-photo cache: built once, identical pixels, invalidated by changes, used by training."""

from __future__ import annotations

import os
import warnings

import torch

from colorgan.data import ColorizationDataModule, PhotoFolderDataset, find_images, split_files
from colorgan.data.cache import PhotoCache, TensorPhotos
from colorgan.train import train

from helpers.photos import write_photos


def test_cache_holds_the_same_pixels_and_leaves_bad_files_out(tmp_path):
    files = write_photos(tmp_path / "photos", 5)
    (tmp_path / "photos" / "photo_999.jpg").write_bytes(b"\xff\xd8\xffbroken")
    files = find_images(tmp_path / "photos")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cache = PhotoCache.build(tmp_path / "cache", files, 32, num_workers=2)
    assert cache.images.shape == (5, 3, 32, 32) and cache.images.dtype == torch.uint8
    assert len(cache.skipped) == 1 and "photo_999.jpg" in cache.skipped[0]
    direct = PhotoFolderDataset(files[:5], 32)
    for i in range(5):
        assert torch.equal(cache.images[i], direct.load(i))
    assert cache.path.stat().st_size == 5 * 3 * 32 * 32
    assert not list((tmp_path / "cache").glob("*.tmp*"))
    again = PhotoCache.open(tmp_path / "cache", files, 32)
    assert torch.equal(again.images, cache.images) and again.files == cache.files


def test_cache_key_follows_size_and_file_changes(tmp_path):
    files = write_photos(tmp_path / "p", 3)
    PhotoCache.build(tmp_path / "c", files, 32)
    assert PhotoCache.exists(tmp_path / "c", files, 32)
    assert not PhotoCache.exists(tmp_path / "c", files, 64)
    st = files[0].stat()
    os.utime(files[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert not PhotoCache.exists(tmp_path / "c", files, 32)


def test_datamodule_uses_the_cache(photo_root, tmp_path):
    dm = ColorizationDataModule(root=str(photo_root), image_size=32, batch_size=4, num_workers=0, cache=True,
                                cache_dir=str(tmp_path / "cache"))
    dm.prepare_data()
    assert len(list((tmp_path / "cache").glob("*.u8"))) == 3  # no trainer, no stage: train, val and test
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (4, 3, 32, 32) and batch["image"].dtype == torch.uint8
    plain = ColorizationDataModule(root=str(photo_root), image_size=32, batch_size=4, num_workers=0)
    assert torch.equal(dm.sample_images(3), plain.sample_images(3))


def test_tensor_photos_gather_batches_in_one_indexing_op():
    images = torch.arange(5 * 3 * 2 * 2, dtype=torch.uint8).reshape(5, 3, 2, 2)
    ds = TensorPhotos(images)
    batch = ds.collate([ds[4], ds[1]])
    assert torch.equal(batch["image"], images[[4, 1]]) and batch["skipped"] == []


def test_training_with_the_cache(compose_cfg, photo_root, tmp_path):
    cfg = compose_cfg(f"data.root={photo_root}", "data.cache=true", f"data.cache_dir={tmp_path / 'cache'}")
    cfg.data.flip_p = 1.0  # every training batch is flipped in place: never in the cache itself
    cfg.trainer.limit_train_batches = 1  # (a second flip of the same photos would hide a first)
    metrics = train(cfg)
    assert torch.isfinite(torch.tensor(metrics["val/l1_ab"]))
    splits = split_files(photo_root)
    size = cfg.data.image_size
    assert PhotoCache.exists(tmp_path / "cache", splits.val, size)
    assert not PhotoCache.exists(tmp_path / "cache", splits.test, size)  # a training run leaves test/ alone
    files = splits.train
    cached = PhotoCache.open(tmp_path / "cache", files, cfg.data.image_size)
    direct = PhotoFolderDataset(files, cfg.data.image_size)
    assert all(torch.equal(cached.images[i], direct.load(i)) for i in range(len(files)))
