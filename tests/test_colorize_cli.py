"""colorgan-colorize: folders, globs, names, failures, no overwriting, and the exit code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorgan.colorize import main

from helpers.photos import synthetic_photo, write_photos
from helpers.runs import run_module


@pytest.fixture
def album(tmp_path: Path) -> Path:
    """A folder as people have them: nested folders, mixed formats, transparency, one broken file."""
    root = tmp_path / "album"
    write_photos(root, 2, size=(37, 51), ext="jpg", seed=4)  # photo_000.jpg, photo_001.jpg
    write_photos(root / "1950s" / "summer", 1, size=(65, 33), ext="png", seed=5)
    rgba = np.dstack([synthetic_photo(np.random.default_rng(6), 30, 40), np.full((30, 40), 200, np.uint8)])
    Image.fromarray(rgba, mode="RGBA").save(root / "1950s" / "logo.png")
    (root / "1950s" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not the rest of a JPEG")
    return root


def test_folder_with_one_broken_file(album: Path, tiny_ckpt: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main([str(album), "--ckpt", str(tiny_ckpt), "--output", str(out), "--device", "cpu"])
    assert code == 1
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["1950s/logo.png", "1950s/summer/photo_000.png", "photo_000.jpg", "photo_001.jpg"]
    assert Image.open(out / "photo_000.jpg").size == (51, 37)
    assert Image.open(out / "1950s/summer/photo_000.png").size == (33, 65)
    logo = Image.open(out / "1950s/logo.png")
    assert logo.mode == "RGBA" and np.asarray(logo)[..., 3].min() == 200
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "not a readable image" in err


def test_existing_outputs_are_kept_unless_asked(tiny_ckpt: Path, tmp_path: Path, capsys) -> None:
    src = write_photos(tmp_path / "in", 2, size=(40, 30), ext="png")
    out = tmp_path / "out"
    args = [str(tmp_path / "in"), "--ckpt", str(tiny_ckpt), "--output", str(out), "--device", "cpu"]
    assert main(args) == 0
    mine = out / src[0].name
    Image.new("RGB", (5, 5), "red").save(mine)  # the user's own edit of an output
    assert main(args) == 0
    assert Image.open(mine).size == (5, 5)
    assert "left 2 existing output(s) alone" in capsys.readouterr().out
    assert main([*args, "--overwrite"]) == 0
    assert Image.open(mine).size == (30, 40)


def test_globs_files_compare_and_format(tiny_ckpt: Path, tmp_path: Path) -> None:
    shots = write_photos(tmp_path / "scans" / "box1", 2, size=(20, 24), ext="jpg")
    single = write_photos(tmp_path / "loose", 1, size=(31, 17), ext="png", seed=9)[0]
    out = tmp_path / "out"
    pattern = str(tmp_path / "scans" / "*" / "*.jpg")
    code = main([pattern, str(single), "--ckpt", str(tiny_ckpt), "-o", str(out), "--compare", "--format", "png"])
    assert code == 0
    for shot in shots:
        colour = out / "box1" / f"{shot.stem}.png"
        assert Image.open(colour).size == (24, 20)
        compare = Image.open(out / "box1" / f"{shot.stem}_compare.png")
        assert compare.size == (2 * 24 + 8, 20)  # input | gap | colorized
    assert Image.open(out / "photo_000.png").size == (17, 31)


def test_names_never_collide_and_inputs_are_never_outputs(tiny_ckpt: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "photos"
    jpg = write_photos(folder, 1, ext="jpg")[0]
    png = write_photos(folder, 1, ext="png")[0]  # photo_000.jpg and photo_000.png: one name with --format png
    original = png.read_bytes()
    args = [str(jpg), str(png), "--ckpt", str(tiny_ckpt), "-o", str(folder), "--format", "png", "--overwrite"]
    assert main(args) == 0
    assert png.read_bytes() == original  # not even --overwrite replaces an input
    assert sorted(p.name for p in folder.iterdir()) == [
        "photo_000.jpg", "photo_000.png", "photo_000_jpg.png", "photo_000_png.png",
    ]
    assert main([str(folder), "--ckpt", str(tiny_ckpt), "-o", str(folder)]) == 2
    assert "is the input folder" in capsys.readouterr().err


def test_output_folder_inside_the_input_is_not_read_back(tiny_ckpt: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    write_photos(folder, 2, ext="png")
    out = folder / "colour"
    for _ in range(2):
        assert main([str(folder), "--ckpt", str(tiny_ckpt), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.rglob("*.png")) == ["photo_000.png", "photo_001.png"]


def test_inputs_that_match_nothing_are_reported(tiny_ckpt: Path, tmp_path: Path, capsys) -> None:
    write_photos(tmp_path / "in", 1)
    code = main([str(tmp_path / "in"), str(tmp_path / "nope.jpg"), str(tmp_path / "*.tif"), "--ckpt", str(tiny_ckpt),
                 "-o", str(tmp_path / "out")])
    assert code == 1
    err = capsys.readouterr().err
    assert "nope.jpg: no such file or folder" in err and "*.tif: no file matches" in err
    assert (tmp_path / "out" / "photo_000.png").is_file()


def test_decompression_bomb_guard(tiny_ckpt: Path, tmp_path: Path, capsys) -> None:
    write_photos(tmp_path / "in", 1, size=(40, 40))
    code = main([str(tmp_path / "in"), "--ckpt", str(tiny_ckpt), "-o", str(tmp_path / "out"), "--max-pixels", "1000"])
    assert code == 1
    assert "over the limit" in capsys.readouterr().err
    assert not (tmp_path / "out" / "photo_000.png").exists()


def test_bad_checkpoint_stops_before_any_work(tmp_path: Path, capsys) -> None:
    write_photos(tmp_path / "in", 1)
    other = tmp_path / "resnet.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, other)
    code = main([str(tmp_path / "in"), "--ckpt", str(other), "-o", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "resnet.pth" in err and "not a colorgan checkpoint" in err
    assert not (tmp_path / "out").exists()


def test_python_dash_m_entry_point(tiny_ckpt: Path, tmp_path: Path) -> None:
    photo = write_photos(tmp_path, 1, size=(21, 23), ext="jpg")[0]
    proc = run_module("colorgan.colorize", str(photo), "--ckpt", str(tiny_ckpt), "-o", str(tmp_path / "out"),
                      cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Colorized 1 photo(s)" in proc.stdout
    assert Image.open(tmp_path / "out" / "photo_000.jpg").size == (23, 21)


def test_transparency_forces_png_without_clobbering(tiny_ckpt: Path, tmp_path: Path) -> None:
    folder = tmp_path / "icons"
    folder.mkdir()
    rgba = np.dstack([synthetic_photo(np.random.default_rng(2), 16, 16), np.full((16, 16), 99, np.uint8)])
    Image.fromarray(rgba, mode="RGBA").save(folder / "icon.png")
    original = (folder / "icon.png").read_bytes()
    code = main([str(folder / "icon.png"), "--ckpt", str(tiny_ckpt), "-o", str(folder), "--format", "jpg"])
    assert code == 0
    assert (folder / "icon.png").read_bytes() == original
    out = Image.open(folder / "icon_png.png")  # icon.png is the input
    assert out.mode == "RGBA" and np.asarray(out)[..., 3].max() == 99
    assert not (folder / "icon.jpg").exists()


def test_an_input_in_the_output_folder_is_never_written(tiny_ckpt: Path, tmp_path: Path) -> None:
    """``colorgan-colorize in/a.png out/a.png out/a_alpha.png --output out --format jpg --overwrite`` with a
    transparent ``in/a.png``: its PNG output can be neither ``out/a.png`` nor ``out/a_alpha.png``."""
    out = tmp_path / "out"
    (tmp_path / "in").mkdir()
    out.mkdir()
    rgba = np.dstack([synthetic_photo(np.random.default_rng(2), 16, 20), np.full((16, 20), 99, np.uint8)])
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "in" / "a.png")
    write_photos(out, 1, size=(12, 14), ext="png")[0].rename(out / "a.png")
    write_photos(out, 1, size=(18, 10), ext="png", seed=3)[0].rename(out / "a_alpha.png")
    inputs = [tmp_path / "in" / "a.png", out / "a.png", out / "a_alpha.png"]
    before = {p: p.read_bytes() for p in inputs}
    args = [*map(str, inputs), "--ckpt", str(tiny_ckpt), "--output", str(out), "--format", "jpg", "--overwrite"]
    for _ in range(2):  # and again, over its own outputs
        assert main(args) == 0
        assert {p: p.read_bytes() for p in inputs} == before
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "a.png", "a_alpha.jpg", "a_alpha.png", "a_png.png"]
    colour = Image.open(out / "a_png.png")
    assert colour.mode == "RGBA" and colour.size == (20, 16) and np.asarray(colour)[..., 3].max() == 99
    assert Image.open(out / "a.jpg").size == (14, 12) and Image.open(out / "a_alpha.jpg").size == (10, 18)


@pytest.mark.parametrize("where", ["next to the inputs", "a separate folder"])
def test_one_naming_rule_next_to_the_inputs_and_elsewhere(tiny_ckpt: Path, tmp_path: Path, where: str) -> None:
    folder = tmp_path / "photos"
    jpg = write_photos(folder, 1, ext="jpg")[0]
    png = write_photos(folder, 1, ext="png")[0]
    out = folder if where == "next to the inputs" else tmp_path / "out"
    assert main([str(jpg), str(png), "--ckpt", str(tiny_ckpt), "-o", str(out), "--format", "png"]) == 0
    written = sorted(p.name for p in out.iterdir() if p not in (jpg, png))
    assert written == ["photo_000_jpg.png", "photo_000_png.png"]


def test_a_planning_mistake_still_cannot_write_an_input(tiny_ckpt: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """The last line of defence: whatever output plan_jobs gives, an input file is not written."""
    import dataclasses

    from colorgan import colorize

    photo = write_photos(tmp_path, 1, ext="png")[0]
    original = photo.read_bytes()
    plan = colorize.plan_jobs
    monkeypatch.setattr(
        colorize, "plan_jobs", lambda *a, **k: [dataclasses.replace(j, output=photo) for j in plan(*a, **k)]
    )
    code = main([str(photo), "--ckpt", str(tiny_ckpt), "-o", str(tmp_path / "out"), "--overwrite"])
    assert code == 1
    assert photo.read_bytes() == original
    assert "is an input photo" in capsys.readouterr().err


def test_quality_sets_the_jpeg_quantisation(tiny_ckpt: Path, tmp_path: Path) -> None:
    photo = write_photos(tmp_path / "in", 1, size=(96, 128), ext="jpg")[0]
    sizes = {}
    for quality in (50, 95):
        out = tmp_path / f"q{quality}"
        extra = ["--quality", "50"] if quality == 50 else []  # 95 is the default
        assert main([str(photo), "--ckpt", str(tiny_ckpt), "-o", str(out), "--compare", *extra]) == 0
        for name in ("photo_000.jpg", "photo_000_compare.jpg"):
            written = Image.open(out / name)
            reference = tmp_path / f"reference{quality}.jpg"  # what Pillow writes at that quality
            written.save(reference, quality=quality)
            assert written.quantization == Image.open(reference).quantization, (quality, name)
        sizes[quality] = (out / "photo_000.jpg").stat().st_size
    assert sizes[50] < sizes[95]


@pytest.mark.parametrize(("height", "width"), [(2600, 300), (300, 2600)])
def test_compare_is_capped_at_2048_px(tiny_ckpt: Path, tmp_path: Path, height: int, width: int) -> None:
    """A photo over 2048 px: the colour output keeps its size, each photo of the comparison is 2048 px long."""
    gray = np.tile(np.linspace(30, 220, width).astype(np.uint8), (height, 1))
    Image.fromarray(gray).save(tmp_path / "big.png")
    out = tmp_path / "out"
    assert main([str(tmp_path / "big.png"), "--ckpt", str(tiny_ckpt), "-o", str(out), "--compare"]) == 0
    assert Image.open(out / "big.png").size == (width, height)
    compare = Image.open(out / "big_compare.png")
    short = round(min(height, width) * 2048 / max(height, width))
    if height > width:  # side by side: the comparison is as tall as one photo
        assert compare.size == (2 * short + 8, 2048)
    else:  # two photos of 2048 px (less the rounding of their height) and the gap
        assert compare.height == short and 2 * 2040 + 8 <= compare.width <= 2 * 2048 + 8


def _camera_exif() -> Image.Exif:
    """EXIF as a camera writes it: maker, date taken, and an orientation (rotate 90° to show it upright)."""
    exif = Image.Exif()
    exif[0x010F] = "Kodak"  # Make
    exif[0x0112] = 6  # Orientation
    exif.get_ifd(0x8769)[0x9003] = "1962:07:14 10:30:00"  # DateTimeOriginal
    return exif


def test_results_keep_the_photos_exif_but_its_orientation(tiny_ckpt: Path, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    Image.fromarray(synthetic_photo(np.random.default_rng(0), 30, 40)).convert("L").save(
        tmp_path / "in" / "wedding.jpg", exif=_camera_exif()
    )
    assert main([str(tmp_path / "in"), "--ckpt", str(tiny_ckpt), "-o", str(tmp_path / "out"),
                 "--format", "png", "--compare"]) == 0
    for name in ("wedding.png", "wedding_compare.png"):
        out = Image.open(tmp_path / "out" / name)
        exif = out.getexif()
        assert exif.get(0x010F) == "Kodak" and exif.get_ifd(0x8769).get(0x9003) == "1962:07:14 10:30:00", name
        assert 0x0112 not in exif, name  # already applied: a viewer must not turn it again
    assert Image.open(tmp_path / "out" / "wedding.png").size == (30, 40)  # upright


def test_iphone_heic_photos_in_a_folder_are_colorized(tiny_ckpt: Path, tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif", reason='HEIC needs pillow-heif: pip install "colorgan[app]"')
    (tmp_path / "in").mkdir()
    picture = Image.fromarray(synthetic_photo(np.random.default_rng(1), 48, 64))
    pillow_heif.from_pillow(picture).save(tmp_path / "in" / "IMG_0003.HEIC", quality=90)
    assert main([str(tmp_path / "in"), "--ckpt", str(tiny_ckpt), "-o", str(tmp_path / "out")]) == 0
    assert Image.open(tmp_path / "out" / "IMG_0003.png").size == (64, 48)
