"""What the page does with dropped photos, without a browser: sizes, formats, error rows, the guard, the zip, models."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorgan.app.handlers import Models, checkpoint_labels, colorize_uploads, prune_jobs
from colorgan.checkpoints.reading import CheckpointError

from helpers.app import constant_colour_model, photo


@pytest.fixture(scope="module")
def models(tiny_ckpt: Path) -> Models:
    return Models([tiny_ckpt], device="cpu")


def test_each_photo_at_its_own_size_in_the_format_colorize_picks(models, drop, tmp_path: Path) -> None:
    files = [
        drop("scan.jpg", photo(37, 51, "L")),  # a gray JPEG
        drop("street.png", photo(65, 33)),  # a colour PNG: made gray, colorized
        drop("logo.png", photo(30, 40, "RGBA")),  # transparency kept
        drop("tiny.tif", photo(3, 70, "L")),  # a sliver, a TIFF
        drop("mislabelled.jpg", photo(20, 24, "RGBA"), fmt="PNG"),  # a PNG named .jpg, with transparency
    ]
    batch = colorize_uploads(files, models, tmp_path / "results")

    assert [r.error for r in batch.rows] == [None] * 5
    names = [r.output.name for r in batch.rows]
    assert names == ["scan.jpg", "street.png", "logo.png", "tiny.png", "mislabelled.png"]
    expected = [(51, 37), (33, 65), (40, 30), (70, 3), (24, 20)]
    for row, size in zip(batch.rows, expected):
        out = Image.open(row.output)
        assert out.size == size == row.size, row.name
        assert Image.open(row.before).size == size, row.name  # the slider's halves match
        assert row.output.parent == batch.folder and batch.folder.parent == tmp_path / "results"
    assert Image.open(batch.rows[0].output).format == "JPEG"
    assert Image.open(batch.rows[1].output).format == "PNG"
    for i in (2, 4):
        out = Image.open(batch.rows[i].output)
        assert out.format == "PNG" and out.mode == "RGBA" and np.asarray(out)[..., 3].min() == 200
    # the lightness is the input's: the gray JPEG's result turned gray again is (nearly) the input
    gray_in = np.asarray(Image.open(files[0]).convert("L"), dtype=np.float32)
    gray_out = np.asarray(Image.open(batch.rows[0].output).convert("L"), dtype=np.float32)
    assert np.abs(gray_in - gray_out).mean() < 4
    assert batch.summary() == "Colorized 5 of 5 photo(s) with last.ckpt."


def test_a_broken_file_gets_its_own_error_row_and_the_others_are_done(models, drop, tmp_path: Path) -> None:
    files = [
        drop("good_1.png", photo(30, 40)),
        drop("broken.jpg", data=b"\xff\xd8\xff\xe0 this is not the rest of a JPEG"),
        drop("empty.png", data=b""),
        drop("notes.txt", data=b"shopping list"),
        drop("good_2.jpg", photo(20, 28)),
    ]
    batch = colorize_uploads(files, models, tmp_path / "results")

    assert [r.name for r in batch.rows] == ["good_1.png", "broken.jpg", "empty.png", "notes.txt", "good_2.jpg"]
    assert [r.error is None for r in batch.rows] == [True, False, False, False, True]
    assert Image.open(batch.rows[0].output).size == (40, 30)
    assert Image.open(batch.rows[4].output).size == (28, 20)
    broken, empty, text = batch.rows[1:4]
    assert broken.error.startswith("broken.jpg: ") and "not a readable image" in broken.error
    assert empty.error.startswith("empty.png: ") and "empty file" in empty.error
    assert text.error.startswith("notes.txt: ")
    for row in (broken, empty, text):
        assert str(tmp_path) not in row.error  # named as the user dropped it, not by the server's temp path
        assert row.output is None and row.before is None
    assert batch.summary() == "Colorized 2 of 5 photo(s) with last.ckpt; 3 could not be done (see their rows)."


def test_a_photo_over_max_pixels_is_refused_with_the_reason(tiny_ckpt: Path, drop, tmp_path: Path) -> None:
    guarded = Models([tiny_ckpt], device="cpu", max_pixels=1000)
    files = [drop("big.png", photo(30, 40)), drop("small.png", photo(20, 25))]  # 1,200 and 500 pixels
    batch = colorize_uploads(files, guarded, tmp_path / "results")

    big, small = batch.rows
    assert big.output is None and big.error.startswith("big.png: 40x30")
    assert "over the limit" in big.error and "decompression bomb" in big.error
    assert small.error is None and Image.open(small.output).size == (25, 20)


def test_the_zip_holds_every_result_and_side_by_side(models, drop, tmp_path: Path) -> None:
    files = [drop("a.jpg", photo(30, 40, "L")), drop("b.png", photo(24, 18)), drop("bad.png", data=b"x")]
    batch = colorize_uploads(files, models, tmp_path / "results", compare=True)

    a, b, bad = batch.rows
    assert a.compare.name == "a_compare.jpg" and b.compare.name == "b_compare.png" and bad.compare is None
    side = Image.open(a.compare)
    assert side.height == 30 and side.width > 2 * 40  # input | gap | colorized
    with zipfile.ZipFile(batch.zip) as archive:
        top = f"colorized-{batch.folder.name}/"
        assert sorted(archive.namelist()) == [top + n for n in ("a.jpg", "a_compare.jpg", "b.png", "b_compare.png")]
        assert archive.read(top + "a.jpg") == a.output.read_bytes()
        assert archive.read(top + "b_compare.png") == b.compare.read_bytes()
        assert archive.testzip() is None


def test_same_names_from_two_folders_get_their_own_results(models, drop, tmp_path: Path) -> None:
    files = [drop("scan.jpg", photo(20, 30, seed=1)), drop("scan.jpg", photo(25, 30, seed=2)),
             drop("scan_2.jpg", photo(22, 30, seed=3))]
    batch = colorize_uploads(files, models, tmp_path / "results", compare=True)

    outputs = [r.output.name for r in batch.rows]
    assert len(set(outputs)) == 3 and outputs[:2] == ["scan.jpg", "scan_2.jpg"]
    assert [Image.open(r.output).height for r in batch.rows] == [20, 25, 22]
    with zipfile.ZipFile(batch.zip) as archive:
        assert len(archive.namelist()) == 6  # no result or side-by-side overwrote another


def test_no_zip_when_nothing_could_be_done_and_jobs_do_not_share_folders(models, drop, tmp_path: Path) -> None:
    first = colorize_uploads([drop("bad.jpg", data=b"no")], models, tmp_path / "results")
    second = colorize_uploads([drop("ok.png", photo(10, 12))], models, tmp_path / "results")
    assert first.zip is None and first.rows[0].error
    assert second.folder != first.folder and second.zip.is_file()


def test_progress_is_reported_photo_by_photo(models, drop, tmp_path: Path) -> None:
    seen: list[tuple[float, str]] = []
    files = [drop(f"p{i}.png", photo(12, 16, seed=i)) for i in range(3)]
    colorize_uploads(files, models, tmp_path / "results", progress=lambda f, d: seen.append((f, d)))
    assert [f for f, _ in seen] == [0.0, 1 / 3, 2 / 3, 1.0]
    assert seen[1][1] == "Colorizing p1.png (2 of 3)"


def test_nothing_dropped_or_too_many_files_is_refused(models, drop, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="drop one or more photos"):
        colorize_uploads([], models, tmp_path / "results")
    files = [drop(f"p{i}.png", photo(8, 8)) for i in range(3)]
    with pytest.raises(ValueError, match=r"3 files at once is more than this page takes \(2\)"):
        colorize_uploads(files, models, tmp_path / "results", max_files=2)
    assert not (tmp_path / "results").exists()


def test_the_model_is_chosen_by_its_label(tiny_ckpt: Path, drop, tmp_path: Path) -> None:
    gray = constant_colour_model(tiny_ckpt, (0.0, 0.0), tmp_path / "gray.pt")
    tinted = constant_colour_model(tiny_ckpt, (1.5, -1.5), tmp_path / "tinted.pt")
    several = Models([tiny_ckpt, gray, tinted], device="cpu")
    assert several.labels == ["last.ckpt", "gray.pt", "tinted.pt"]
    file = drop("p.png", photo(30, 40, "L"))

    def chroma(model: str | None) -> tuple[str, float, float]:
        batch = colorize_uploads([file], several, tmp_path / "results", model=model)
        rgb = np.asarray(Image.open(batch.rows[0].output), dtype=np.float32)
        return batch.model, float(np.abs(rgb[..., 0] - rgb[..., 1]).mean()), float((rgb[..., 2] - rgb[..., 1]).mean())

    label, gray_rg, _ = chroma("gray.pt")
    assert label == "gray.pt" and gray_rg < 1.5  # a = b = 0: neutral gray
    label, tinted_rg, tinted_bg = chroma("tinted.pt")
    assert label == "tinted.pt" and tinted_rg > 20 and tinted_bg > 20  # a > 0, b < 0: magenta-blue
    assert chroma(None)[0] == "last.ckpt"  # the first checkpoint is the default
    with pytest.raises(ValueError, match="no model called '/etc/passwd'; the models are: last.ckpt, gray.pt"):
        colorize_uploads([file], several, tmp_path / "results", model="/etc/passwd")


def test_bad_or_repeated_checkpoints_are_refused_at_start(tiny_ckpt: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.ckpt"):
        Models([tiny_ckpt, junk], device="cpu")
    with pytest.raises(ValueError, match="the same checkpoint is given twice"):
        Models([tiny_ckpt, tiny_ckpt.parent / ".." / tiny_ckpt.parent.name / tiny_ckpt.name], device="cpu")
    with pytest.raises(ValueError, match="at least one checkpoint"):
        Models([], device="cpu")


def test_checkpoint_labels_tell_files_with_one_name_apart() -> None:
    assert checkpoint_labels(["/r/a/last.ckpt", "/r/b/last.ckpt"]) == ["a/last.ckpt", "b/last.ckpt"]
    assert checkpoint_labels(["/x/best.ckpt"]) == ["best.ckpt"]
    assert checkpoint_labels(["/a/c/m.pt", "/b/c/m.pt", "/z/n.pt"]) == ["a/c/m.pt", "b/c/m.pt", "n.pt"]


def test_only_the_newest_jobs_and_their_uploads_are_kept(models, tmp_path: Path) -> None:
    uploads = tmp_path / "temp"  # laid out as Gradio keeps uploads: a folder per file, under its temporary folder
    results = uploads / "results"

    def upload(name: str, seed: int) -> Path:
        folder = uploads / f"{seed:064x}"
        folder.mkdir(parents=True)
        photo(20, 24, seed=seed).save(folder / name)
        return folder / name

    never_colorized = upload("dropped.png", 99)
    jobs = []
    for i in range(4):
        files = [upload(f"p{i}.png", i)]
        batch = colorize_uploads(files, models, results)
        jobs.append((batch.folder, files[0]))
        deleted = prune_jobs(results, keep=2, uploads_dir=uploads)
    assert sorted(p.name for p in results.iterdir()) == ["job-3", "job-4"]
    assert not jobs[0][0].exists() and not jobs[1][0].exists()
    assert [f.exists() for _, f in jobs] == [False, False, True, True]  # the uploads of deleted jobs go with them
    assert not never_colorized.parent.exists()  # dropped before the oldest kept job, and never used since
    assert jobs[1][0] in deleted
    late = upload("late.png", 100)  # dropped after the newest job: its colorize press may be on its way
    prune_jobs(results, keep=2, uploads_dir=uploads)
    assert late.exists() and jobs[3][0].exists()
    # a job that reuses an old upload keeps it
    reused = colorize_uploads([jobs[2][1]], models, results)
    prune_jobs(results, keep=1, uploads_dir=uploads)
    assert sorted(p.name for p in results.iterdir()) == [reused.folder.name] and jobs[2][1].exists()


def test_the_temporary_folder_is_bounded_by_bytes_as_well_as_by_jobs(models, tmp_path: Path) -> None:
    uploads = tmp_path / "temp"
    results = uploads / "results"

    def upload(name: str, seed: int, side: int) -> Path:
        folder = uploads / f"{seed:064x}"
        folder.mkdir(parents=True)
        Image.fromarray(np.random.default_rng(seed).integers(0, 256, (side, side), np.uint8)).save(folder / name)
        return folder / name

    def used() -> int:
        return sum(f.stat().st_size for f in uploads.rglob("*") if f.is_file())

    jobs = []
    for i in range(4):  # each job: a noisy 200 px PNG (~40 kB), its result, before half, and the zip of its result
        batch = colorize_uploads([upload(f"p{i}.png", i, 200)], models, results)
        assert batch.zip.is_file() and batch.zip.parent == batch.folder
        jobs.append(batch)
    per_job = used() // 4
    limit = int(per_job * 2.5)
    deleted = prune_jobs(results, keep=10, uploads_dir=uploads, max_bytes=limit)
    assert sorted(p.name for p in results.iterdir()) == ["job-3", "job-4"]  # 10 allowed by count, 2 fit the bytes
    assert used() <= limit
    assert jobs[0].folder in deleted and not jobs[0].zip.exists()  # a job's zip goes with it
    assert not (uploads / f"{0:064x}").exists() and (uploads / f"{3:064x}").exists()
    # the newest job stays whatever it takes: its results are on the page
    prune_jobs(results, keep=10, uploads_dir=uploads, max_bytes=1)
    assert sorted(p.name for p in results.iterdir()) == ["job-4"] and jobs[3].zip.is_file()
    with pytest.raises(ValueError, match="--max-temp-gb"):
        prune_jobs(results, keep=1, max_bytes=-1)


def test_empty_temporary_files_left_behind_are_pruned(tmp_path: Path) -> None:
    uploads = tmp_path / "temp"
    uploads.mkdir()
    old = time.time() - 3600
    stale = [uploads / "tmpa1b2c3d4", uploads / "tmp_x9y8z7w6.png"]
    for f in stale:
        f.touch()
        os.utime(f, (old, old))
    fresh = uploads / "tmpq1w2e3r4"  # may be one being written right now
    fresh.touch()
    full = uploads / "tmpz9z9z9z9"
    full.write_bytes(b"data")
    os.utime(full, (old, old))
    other = uploads / "notes"
    other.touch()
    os.utime(other, (old, old))
    deleted = prune_jobs(uploads / "results", keep=3, uploads_dir=uploads)
    assert sorted(deleted) == sorted(stale)
    assert sorted(p.name for p in uploads.iterdir()) == ["notes", "tmpq1w2e3r4", "tmpz9z9z9z9"]


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that says it is ``width`` x ``height`` gray, with almost no pixel data: what a photo over Pillow's own
    guard (178,956,970 pixels) looks like to anything that reads only the header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_max_pixels_zero_means_no_limit_and_the_limit_is_said_in_colorgans_words(tmp_path: Path) -> None:
    from colorgan.data.decode import open_checked

    huge = _png_header_only(tmp_path / "panorama.png", 20_000, 9_000)  # 180 MP: over Pillow's 178,956,970
    with open_checked(huge, max_pixels=None) as img:  # --max-pixels 0: no limit, Pillow's included
        assert img.size == (20_000, 9_000)
    with pytest.raises(ValueError) as refused:
        open_checked(huge, max_pixels=100_000_000)
    message = str(refused.value)
    assert "panorama.png: 20000x9000 = 180 megapixels is over the limit of 100 megapixels (--max-pixels" in message
    assert "DOS attack" not in message and "0 for no limit" in message
    with pytest.raises(ValueError, match="is over the limit of 1.2 megapixels"):
        open_checked(_png_header_only(tmp_path / "small.png", 2000, 1000), max_pixels=1_200_000)


def test_a_full_disk_is_said_without_the_servers_paths(models, drop, tmp_path: Path, monkeypatch) -> None:
    import errno

    from colorgan.app import handlers

    def full_disk(image, path, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))  # as a write to a full disk fails

    monkeypatch.setattr(handlers, "save_image", full_disk)
    batch = colorize_uploads([drop("p.png", photo(20, 24))], models, tmp_path / "results")
    (row,) = batch.rows
    assert row.error == "p.png: could not write the result (No space left on device)"
    assert str(tmp_path) not in row.error


def test_the_before_half_of_a_transparent_photo_hides_what_it_hides(models, drop, tmp_path: Path) -> None:
    logo = photo(30, 40, "RGBA")
    alpha = np.full((30, 40), 255, np.uint8)
    alpha[:, :20] = 0  # the left half is hidden
    logo.putalpha(Image.fromarray(alpha))
    batch = colorize_uploads([drop("logo.png", logo)], models, tmp_path / "results")
    (row,) = batch.rows
    before = Image.open(row.before)
    assert before.mode == "RGBA" and before.size == (40, 30)
    assert np.array_equal(np.asarray(before)[..., 3], alpha)  # as transparent as the result beside it


def test_results_from_the_page_keep_exif_but_orientation(models, drop, tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Kodak"
    exif[0x0112] = 6  # rotate 90°: applied to the result, so not kept
    exif.get_ifd(0x8769)[0x9003] = "1962:07:14 10:30:00"
    source = drop("wedding.jpg", photo(30, 40, "L"))
    Image.open(source).save(source, exif=exif)
    batch = colorize_uploads([source], models, tmp_path / "results", compare=True)
    (row,) = batch.rows
    for path in (row.output, row.compare):
        kept = Image.open(path).getexif()
        assert kept.get(0x010F) == "Kodak" and kept.get_ifd(0x8769).get(0x9003) == "1962:07:14 10:30:00", path
        assert 0x0112 not in kept, path
    assert Image.open(row.output).size == (30, 40)


def test_the_zip_unpacks_into_a_folder_of_its_own(models, drop, tmp_path: Path) -> None:
    batch = colorize_uploads([drop("beach.jpg", photo(20, 24, "L"))], models, tmp_path / "results")
    with zipfile.ZipFile(batch.zip) as archive:
        names = archive.namelist()
    assert names == [f"colorized-{batch.folder.name}/beach.jpg"]  # never over the original beach.jpg


def _heic(path: Path, image: Image.Image) -> Path:
    pillow_heif = pytest.importorskip("pillow_heif", reason='HEIC needs pillow-heif: pip install "colorgan[app]"')
    pillow_heif.from_pillow(image).save(path, quality=90)
    assert path.read_bytes()[4:12] == b"ftypheic"  # what an iPhone writes
    return path


def test_iphone_heic_photos_are_colorized(models, drop, tmp_path: Path) -> None:
    source = _heic(drop("IMG_0001.HEIC", data=b"x"), photo(48, 64, "RGB"))
    batch = colorize_uploads([source], models, tmp_path / "results")
    (row,) = batch.rows
    assert row.error is None and row.output.name == "IMG_0001.png" and Image.open(row.output).size == (64, 48)


@pytest.mark.slow
def test_without_pillow_heif_a_heic_photo_is_named_as_such(tmp_path: Path) -> None:
    source = _heic(tmp_path / "IMG_0002.HEIC", photo(48, 64, "RGB"))
    probe = (
        "import sys; sys.modules['pillow_heif'] = None\n"  # as if it were not installed
        "from colorgan.data.decode import ImageDecodeError, load_photo\n"
        f"try:\n    load_photo({str(source)!r})\nexcept ImageDecodeError as err:\n    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert "IMG_0002.HEIC: a HEIC/HEIF photo" in out.stdout and 'pip install "colorgan[app]"' in out.stdout, out
