"""Data: finding and splitting photos, decoding any format and mode, skipping bad files, device-side LAB."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from colorgan.color import rgb_to_model_lab
from colorgan.data import (
    IMAGE_EXTENSIONS,
    BadImageWarning,
    ColorizationDataModule,
    ImageDecodeError,
    NoImagesError,
    PhotoFolderDataset,
    array_channels,
    collate_photos,
    find_images,
    load_photo,
    load_rgb,
    random_hflip,
    resize_square,
    split_files,
)
from colorgan.data.files import Splits
from colorgan.train import train

from helpers.photos import synthetic_photo, write_photos

# ----------------------------------------------------------------------------------------------- finding photos


def test_find_images_recursive_any_case_sorted_hidden_skipped(tmp_path):
    write_photos(tmp_path / "b_class", 2)
    write_photos(tmp_path / "a_class" / "deeper", 1, ext="jpg")
    Image.new("RGB", (8, 8)).save(tmp_path / "UPPER.JPG")
    Image.new("RGB", (8, 8)).save(tmp_path / "mixed.Png", format="PNG")
    Image.new("RGB", (8, 8)).save(tmp_path / "._resource_fork.jpg", format="JPEG")
    (tmp_path / ".hidden").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / ".hidden" / "x.png")
    (tmp_path / "notes.txt").write_text("not a photo")
    found = [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)]
    assert found == [
        "UPPER.JPG",
        "a_class/deeper/photo_000.jpg",
        "b_class/photo_000.png",
        "b_class/photo_001.png",
        "mixed.Png",
    ]


def _touch(folder: Path, n: int, start: int = 0) -> list[Path]:
    """``n`` empty ``.jpg`` files: splitting looks at names only, so no pixels are needed."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"p{i:05d}.jpg" for i in range(start, start + n)]
    for path in paths:
        path.touch()
    return paths


def _assert_disjoint(s) -> None:
    """No file is in two splits (compared as resolved paths, so a file reached two ways would count)."""
    names = {split: {p.resolve() for p in getattr(s, split)} for split in ("train", "val", "test")}
    assert all(len(names[split]) == len(getattr(s, split)) for split in names)  # no file twice in one split
    assert not names["train"] & names["val"]
    assert not names["train"] & names["test"]
    assert not names["val"] & names["test"]


def test_split_by_train_and_test_folders_carves_validation_out_of_train(tmp_path):
    _touch(tmp_path / "train" / "football", 30)
    _touch(tmp_path / "train" / "tennis", 30)
    _touch(tmp_path / "test", 8)
    splits = split_files(tmp_path)
    _assert_disjoint(splits)
    assert splits.test == find_images(tmp_path / "test")  # test/ is the test split, all of it
    assert splits.val and all("train" in p.parts for p in splits.val)  # validation comes out of train/
    assert sorted(splits.train + splits.val) == find_images(tmp_path / "train")
    assert "train/ and test/" in splits.source and "of train/ by file-path hash, seed 0" in splits.source


def test_split_uses_all_three_folders_when_there_are(tmp_path):
    write_photos(tmp_path / "train", 4)
    write_photos(tmp_path / "valid", 2, seed=5)
    write_photos(tmp_path / "test", 3, seed=6)
    s = split_files(tmp_path)
    assert (len(s.train), len(s.val), len(s.test)) == (4, 2, 3)
    assert all("valid" in p.parts for p in s.val) and all("test" in p.parts for p in s.test)
    _assert_disjoint(s)


def test_a_val_folder_without_test_folder_is_the_test_split(tmp_path):
    _touch(tmp_path / "train", 40)
    held = _touch(tmp_path / "val", 5)
    s = split_files(tmp_path, val_fraction=0.2)
    assert s.test == held and s.val and all("train" in p.parts for p in s.val)
    _assert_disjoint(s)
    assert "val/ (as test)" in s.source


def test_split_without_folders_holds_out_val_and_test_by_path_hash(tmp_path):
    files = _touch(tmp_path / "a", 600) + _touch(tmp_path / "b" / "deeper", 400)
    s = split_files(tmp_path, val_fraction=0.1, seed=3, test_fraction=0.2)
    _assert_disjoint(s)
    assert sorted(s.train + s.val + s.test) == sorted(files)  # every photo lands in exactly one split
    assert 70 <= len(s.val) <= 130 and 160 <= len(s.test) <= 240  # the fractions, on average
    assert s == split_files(tmp_path, val_fraction=0.1, seed=3, test_fraction=0.2)  # deterministic
    other = split_files(tmp_path, val_fraction=0.1, seed=4, test_fraction=0.2)
    assert other.val != s.val and other.test != s.test  # the seed matters
    assert s.source == "file-path hash, seed 3: 10 % val, 20 % test"


@pytest.mark.parametrize("layout", ["no folders", "train and test folders"])
def test_adding_photos_moves_no_old_photo_to_another_split(tmp_path, layout):
    where = tmp_path if layout == "no folders" else tmp_path / "train"
    if layout != "no folders":
        _touch(tmp_path / "test", 10)
    _touch(where, 300)
    before = split_files(tmp_path, val_fraction=0.15, seed=7, test_fraction=0.15)
    _touch(where, 300, start=300)  # twice as many photos, the old ones untouched
    _touch(tmp_path / "new_class", 50) if layout == "no folders" else None
    after = split_files(tmp_path, val_fraction=0.15, seed=7, test_fraction=0.15)
    _assert_disjoint(after)
    for split in ("train", "val", "test"):
        old = set(getattr(before, split))
        assert old <= set(getattr(after, split)), split
    assert len(after.val) > len(before.val)  # new photos were held out too


def test_small_folders_still_get_one_photo_per_split(tmp_path):
    files = _touch(tmp_path, 3)
    s = split_files(tmp_path, val_fraction=0.1, test_fraction=0.1)
    assert (len(s.train), len(s.val), len(s.test)) == (1, 1, 1)
    _assert_disjoint(s)
    assert sorted(s.train + s.val + s.test) == files
    # the exception to "adding photos moves no old photo" is said where the user reads the split
    for split in ("val", "test"):
        [photo] = getattr(s, split)
        assert f"{split} borrowed {photo.name} from training" in s.source
    assert s.source.endswith("(a borrowed photo goes back to training when the folder grows)")


def test_a_borrowed_photo_is_the_only_old_photo_that_moves_when_the_folder_grows(tmp_path):
    _touch(tmp_path, 4)
    before = split_files(tmp_path, val_fraction=0.1, seed=2, test_fraction=0.1)
    borrowed = {p for p in before.val + before.test if f"borrowed {p.name}" in before.source}
    _touch(tmp_path, 400, start=4)
    after = split_files(tmp_path, val_fraction=0.1, seed=2, test_fraction=0.1)
    assert "borrowed" not in after.source
    for split in ("train", "val", "test"):
        moved = set(getattr(before, split)) - set(getattr(after, split))
        assert moved <= borrowed, (split, moved)


def test_the_split_is_the_same_wherever_the_folder_lies(tmp_path):
    """The hash reads paths relative to data.root: the same folder copied to another machine (another absolute
    path) splits the same, photo by photo."""
    first = tmp_path / "alice" / "photos"
    second = tmp_path / "mnt" / "shared" / "datasets" / "photos_copy"
    for root in (first, second):
        _touch(root / "a", 120)
        _touch(root / "b", 80)
    for kwargs in ({}, {"val_fraction": 0.2, "seed": 5, "test_fraction": 0.3}):
        one, two = split_files(first, **kwargs), split_files(second, **kwargs)
        for split in ("train", "val", "test"):
            assert [p.relative_to(first) for p in getattr(one, split)] == \
                [p.relative_to(second) for p in getattr(two, split)], split
    _touch(first / "train", 60)
    _touch(first / "test", 5)
    _touch(second / "train", 60)
    _touch(second / "test", 5)
    one, two = split_files(first), split_files(second)
    assert [p.relative_to(first) for p in one.val] == [p.relative_to(second) for p in two.val]


def test_one_photo_trains_validates_and_tests_on_itself(tmp_path):
    [photo] = _touch(tmp_path, 1)
    assert split_files(tmp_path) == Splits([photo], [photo], [photo], split_files(tmp_path).source)
    assert "val = the training photos" in split_files(tmp_path).source


def test_fraction_zero_holds_nothing_out(tmp_path):
    files = _touch(tmp_path, 50)
    s = split_files(tmp_path, val_fraction=0.0, test_fraction=0.0)
    assert s.train == s.val == s.test == files
    s = split_files(tmp_path, val_fraction=0.2, test_fraction=0.0)
    assert s.test == s.val and not set(s.val) & set(s.train)
    _touch(tmp_path / "train", 5)
    _touch(tmp_path / "test", 2)
    s = split_files(tmp_path, val_fraction=0.0)
    assert s.val == s.train and len(s.test) == 2  # never the test photos


@pytest.mark.parametrize(("val", "test", "match"), [(1.0, 0.1, "data.val_fraction"), (0.1, -0.1, "data.test_fraction"),
                                                    (0.6, 0.5, r"data.val_fraction \+ data.test_fraction")])
def test_bad_fractions_name_the_setting(tmp_path, val, test, match):
    _touch(tmp_path, 5)
    with pytest.raises(ValueError, match=match):
        split_files(tmp_path, val_fraction=val, test_fraction=test)


def test_empty_folder_error_names_folder_and_extensions(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(NoImagesError) as err:
        split_files(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(err.value)
    assert all(ext in str(err.value) for ext in IMAGE_EXTENSIONS)


def test_missing_root_and_unset_root_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="data.root"):
        split_files(tmp_path / "nope")
    dm = ColorizationDataModule(root=None)
    with pytest.raises(ValueError, match=r"data\.root is not set.*data\.root=/path/to/photos"):
        dm.setup("fit")


# ----------------------------------------------------------------------------------------------------- decoding


def _expected(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.array(ImageOps.exif_transpose(img).convert("RGB"))).permute(2, 0, 1)


@pytest.fixture
def rgb_array():
    return synthetic_photo(np.random.default_rng(0), 30, 44)


@pytest.mark.parametrize(
    ("mode", "ext"),
    [("RGB", "png"), ("RGB", "jpg"), ("RGB", "webp"), ("RGB", "bmp"), ("RGB", "tif"), ("L", "png"), ("L", "jpg"),
     ("LA", "png"), ("RGBA", "png"), ("RGBA", "webp"), ("P", "png"), ("P", "bmp"), ("CMYK", "jpg"), ("CMYK", "tiff")],
)
def test_decode_any_mode(tmp_path, rgb_array, mode, ext):
    img = Image.fromarray(rgb_array).convert(mode)
    path = tmp_path / f"x.{ext}"
    img.save(path, **({"quality": 95} if ext == "jpg" else {}))
    out = load_rgb(path)
    assert out.dtype == torch.uint8 and out.shape == (3, 30, 44)
    ref = _expected(Image.open(path))
    # torchvision and Pillow use slightly different JPEG upsampling/colour-transform rounding
    tol = 8 if ext == "jpg" else 1
    assert (out.int() - ref.int()).abs().float().mean() < tol / 4 and (out.int() - ref.int()).abs().max() <= 3 * tol


def test_decode_16_bit_png_and_tiff(tmp_path):
    arr = np.full((10, 12), 32768, dtype=np.uint16)
    arr[:, :6] = 65535
    Image.fromarray(arr).save(tmp_path / "g16.png")
    Image.fromarray(arr).save(tmp_path / "g16.tif")
    for name in ("g16.png", "g16.tif"):
        out = load_rgb(tmp_path / name)
        assert out.dtype == torch.uint8 and out.shape == (3, 10, 12)
        assert out[:, :, :6].min() == 255 and abs(int(out[0, 0, 8]) - 128) <= 1


@pytest.mark.parametrize("ext", ["png", "tif"])
@pytest.mark.parametrize("top", [255, 65535])
def test_a_16_bit_file_is_16_bit_for_training_and_colorize_alike(tmp_path, ext, top):
    """Scaled by its bit depth whatever its largest value: a dark 16-bit scan (nothing over 255) stays dark."""
    arr = np.linspace(0, top, 10 * 12).round().astype(np.uint16).reshape(10, 12)
    path = tmp_path / f"g16.{ext}"
    Image.fromarray(arr).save(path)
    assert Image.open(path).mode == "I;16"
    expected = (arr >> 8).astype(np.uint8)  # the high byte, as torchvision's 16-bit PNG decoding gives it
    training = load_rgb(path)
    colorize, alpha = load_photo(path)
    assert alpha is None
    np.testing.assert_array_equal(training.numpy(), np.broadcast_to(expected, (3, 10, 12)))
    np.testing.assert_array_equal(colorize.numpy(), expected[None])
    from_array, _ = array_channels(arr)  # the same samples handed to the Colorizer as a NumPy array
    np.testing.assert_array_equal(from_array.numpy(), expected[None])


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = (255, 0, 0)  # left half red
    arr[:, 20:] = (0, 0, 255)  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(arr).save(tmp_path / "rot.jpg", exif=exif, quality=95)
    out = load_rgb(tmp_path / "rot.jpg")
    assert out.shape == (3, 40, 20)  # portrait after rotation
    assert out[0, :15].float().mean() > 200 and out[2, -15:].float().mean() > 200  # red on top, blue at the bottom


def test_large_jpeg_reduced_scale_decode_matches_full_decode(tmp_path):
    arr = np.kron(synthetic_photo(np.random.default_rng(1), 40, 60), np.ones((20, 20, 1), np.uint8))  # 800x1200
    Image.fromarray(arr).save(tmp_path / "big.jpg", quality=95)
    fast = resize_square(load_rgb(tmp_path / "big.jpg", draft_size=64), 64)
    full = resize_square(load_rgb(tmp_path / "big.jpg"), 64)
    assert fast.shape == full.shape == (3, 64, 64)
    assert (fast.float() - full.float()).abs().mean() < 3.0


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("zero.jpg", b"", "empty file"),
        ("text.png", b"this is not an image at all", "not a readable image"),
    ],
)
def test_bad_files_raise_decode_error_naming_the_file(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageDecodeError, match=reason) as err:
        load_rgb(path)
    assert str(path) in str(err.value)


def test_truncated_jpeg_is_an_error(tmp_path, rgb_array):
    path = tmp_path / "cut.jpg"
    Image.fromarray(rgb_array).save(path, quality=90)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises((ImageDecodeError, OSError)):
        load_rgb(path)


def test_decompression_bomb_guard(tmp_path):
    Image.new("L", (300, 200)).save(tmp_path / "wide.png")
    with pytest.raises(ImageDecodeError, match="megapixels is over the limit"):
        load_rgb(tmp_path / "wide.png", max_pixels=50_000)
    assert load_rgb(tmp_path / "wide.png", max_pixels=None).shape == (3, 200, 300)


def test_resize_square_crops_centre_and_upscales():
    img = torch.zeros(3, 10, 30, dtype=torch.uint8)
    img[:, :, 10:20] = 200  # the centre square
    out = resize_square(img, 64)
    assert out.shape == (3, 64, 64) and out.dtype == torch.uint8
    assert out.float().mean() > 190  # only the centre survives the crop


# --------------------------------------------------------------------------------------------- dataset / batches


@pytest.fixture
def folder_with_bad_files(tmp_path):
    write_photos(tmp_path, 3)
    (tmp_path / "photo_000_zero.png").write_bytes(b"")  # sorts right after photo_000.png
    (tmp_path / "photo_001_junk.jpg").write_bytes(b"\xff\xd8\xff garbage")
    return find_images(tmp_path)


def test_eval_dataset_drops_bad_files_with_a_warning_naming_them(folder_with_bad_files):
    ds = PhotoFolderDataset(folder_with_bad_files, image_size=32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = collate_photos([ds[i] for i in range(len(ds))])
    assert batch["image"].shape == (3, 3, 32, 32) and batch["image"].dtype == torch.uint8
    assert len(batch["skipped"]) == 2
    assert any("zero.png" in s and "empty file" in s for s in batch["skipped"])
    assert any("junk.jpg" in s for s in batch["skipped"])
    messages = [str(w.message) for w in caught if issubclass(w.category, BadImageWarning)]
    assert any("zero.png" in m for m in messages) and any("junk.jpg" in m for m in messages)


def test_train_dataset_replaces_bad_files_so_batches_keep_their_shape(folder_with_bad_files):
    ds = PhotoFolderDataset(folder_with_bad_files, image_size=32, replace_bad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadImageWarning)
        items = [ds[i] for i in range(len(ds))]
    batch = collate_photos(items)
    assert batch["image"].shape == (5, 3, 32, 32)
    zero = folder_with_bad_files.index(next(p for p in folder_with_bad_files if "zero" in p.name))
    assert torch.equal(items[zero]["image"], ds.load(zero + 1))  # the next readable photo stood in
    assert items[zero]["skipped"] and "zero.png" in items[zero]["skipped"][0]


def test_all_bad_batch_is_empty_not_an_error():
    batch = collate_photos([{"image": None, "skipped": ["a: bad"]}])
    assert batch["image"].shape[0] == 0 and batch["skipped"] == ["a: bad"]


def test_random_hflip_is_per_sample():
    x = torch.arange(4 * 3 * 2 * 5, dtype=torch.float32).reshape(4, 3, 2, 5)
    assert torch.equal(random_hflip(x, p=1.0), x.flip(-1))
    assert torch.equal(random_hflip(x, p=0.0), x)
    torch.manual_seed(0)
    mixed = random_hflip(torch.stack([x[0]] * 64), p=0.5)
    flipped = (mixed == x[0].flip(-1)).flatten(1).all(1)
    assert 10 < int(flipped.sum()) < 54


def test_random_hflip_in_place_flips_the_same_images_without_a_new_tensor():
    x = torch.randint(0, 256, (16, 3, 4, 6), dtype=torch.uint8)
    torch.manual_seed(3)
    expected = random_hflip(x, p=0.5)
    torch.manual_seed(3)
    y = x.clone()
    out = random_hflip(y, p=0.5, inplace=True)
    assert out is y and torch.equal(out, expected) and not torch.equal(out, x)


def test_datamodule_batches_on_device(photo_root):
    dm = ColorizationDataModule(root=str(photo_root), image_size=32, batch_size=4, num_workers=0, flip_p=1.0)
    dm.setup("fit")
    raw = next(iter(dm.train_dataloader()))
    assert raw["image"].dtype == torch.uint8 and raw["image"].shape == (4, 3, 32, 32)
    out = dm.on_after_batch_transfer(raw, 0)  # no trainer: evaluation mode, no flip
    assert out["L"].shape == (4, 1, 32, 32) and out["ab"].shape == (4, 2, 32, 32) and out["rgb"].shape == (4, 3, 32, 32)
    assert out["L"].dtype == torch.float32 and -1 <= out["L"].min() and out["L"].max() <= 1
    assert out["ab"].abs().max() <= 1.0
    L_ref, ab_ref = rgb_to_model_lab(raw["image"])
    torch.testing.assert_close(out["L"], L_ref)
    flipped = dm.to_lab_batch(raw["image"], train=True)  # flip_p=1: every image mirrored
    torch.testing.assert_close(flipped["L"], L_ref.flip(-1))
    torch.testing.assert_close(flipped["ab"], ab_ref.flip(-1))


def test_datamodule_sample_images_are_fixed(photo_root):
    dm = ColorizationDataModule(root=str(photo_root), image_size=32, batch_size=4, num_workers=0, num_sample_images=2)
    a, b = dm.sample_images(), dm.sample_images()
    assert a.shape == (2, 3, 32, 32) and torch.equal(a, b)
    val = PhotoFolderDataset(split_files(photo_root).val, 32)
    assert torch.equal(a, torch.stack([val.load(0), val.load(1)]))  # the validation photos, never test ones


def test_datamodule_with_workers_skips_bad_photos(tmp_path):
    write_photos(tmp_path / "train", 6)
    write_photos(tmp_path / "test", 2, seed=9)
    (tmp_path / "train" / "broken.jpg").write_bytes(b"\xff\xd8\xffnot really a jpeg")
    dm = ColorizationDataModule(root=str(tmp_path), image_size=32, batch_size=7, num_workers=2, val_fraction=0)
    dm.setup("fit")
    (batch,) = list(dm.train_dataloader())
    assert batch["image"].shape == (7, 3, 32, 32)  # the broken photo was replaced by a readable one
    assert len(batch["skipped"]) == 1 and "broken.jpg" in batch["skipped"][0]
    dm.on_after_batch_transfer(batch, 0)
    assert dm.pop_epoch_report("val") == (7, [batch["skipped"][0]]) and dm.pop_epoch_report("val") == (0, [])


@pytest.mark.slow
def test_compiled_lab_path_gives_the_same_batches(photo_root):
    eager = ColorizationDataModule(root=str(photo_root), image_size=32, batch_size=4, num_workers=0, flip_p=1.0)
    fused = ColorizationDataModule(root=str(photo_root), image_size=32, batch_size=4, num_workers=0, flip_p=1.0,
                                   compile_lab=True)
    images = eager.sample_images(4)
    for training in (True, False):
        a, b = eager.to_lab_batch(images, training), fused.to_lab_batch(images, training)
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=1e-5)
    from colorgan.data.datamodule import _fused_lab

    assert _fused_lab.fn is not None and not _fused_lab.broken  # it really ran compiled


def test_cpu_conversion_leaves_the_cores_to_decode_workers_and_restores_threads(photo_root, monkeypatch):
    """The thread count is observed while the conversion runs: 1 next to decode workers, untouched without them,
    and put back afterwards, also when the conversion fails."""
    import colorgan.data.datamodule as datamodule

    seen: list[tuple[str, int]] = []
    convert = datamodule.rgb_to_model_lab

    def fused(images):  # the compiled kernel's place: record, then let the eager conversion do the work
        seen.append(("fused", torch.get_num_threads()))
        return None

    def eager(images):
        seen.append(("eager", torch.get_num_threads()))
        return convert(images)

    monkeypatch.setattr(datamodule, "_fused_lab", fused)
    monkeypatch.setattr(datamodule, "rgb_to_model_lab", eager)
    kw = dict(root=str(photo_root), image_size=32, batch_size=4, compile_lab=True)
    with_workers, without = ColorizationDataModule(num_workers=1, **kw), ColorizationDataModule(num_workers=0, **kw)
    with_workers.setup("fit")
    without.setup("fit")
    images = without.sample_images(4)
    original = torch.get_num_threads()
    torch.set_num_threads(3)  # not 1, whatever this machine has
    try:
        for train in (False, True):
            seen.clear()
            with_workers.to_lab_batch(images.clone(), train=train)
            assert seen == [("fused", 1), ("eager", 1)] and torch.get_num_threads() == 3
            seen.clear()
            without.to_lab_batch(images.clone(), train=train)
            assert seen == [("fused", 3), ("eager", 3)] and torch.get_num_threads() == 3

        def broken(images):
            raise RuntimeError("conversion failed")

        monkeypatch.setattr(datamodule, "rgb_to_model_lab", broken)
        with pytest.raises(RuntimeError, match="conversion failed"):
            with_workers.to_lab_batch(images, train=False)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(original)


def test_training_validates_on_val_and_reads_test_photos_only_for_test(compose_cfg, photo_root, monkeypatch, caplog):
    read: list[Path] = []
    load = PhotoFolderDataset.load

    def spy(self, index):
        read.append(self.files[index])
        return load(self, index)

    monkeypatch.setattr(PhotoFolderDataset, "load", spy)
    caplog.set_level(logging.INFO, logger="colorgan.data.datamodule")
    splits = split_files(photo_root)
    cfg = compose_cfg(f"data.root={photo_root}", "trainer.limit_val_batches=null", "test=true")
    train(cfg)
    line = (f"Data: {len(splits.train)} train / {len(splits.val)} val / {len(splits.test)} test photos under "
            f"{photo_root} (split by {splits.source})")
    assert line in caplog.text
    test = set(splits.test)
    first_test = next(i for i, f in enumerate(read) if f in test)
    fitting, testing = read[:first_test], read[first_test:]
    assert set(splits.val) <= set(fitting) <= set(splits.train) | set(splits.val)  # validation: the val split
    assert set(testing) == test  # trainer.test: the test split, and only after fitting
