"""Output names: one rule whatever the output folder, never an input's name, never shared; the last-line guard."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorgan.data.decode import file_has_alpha, load_photo
from colorgan.inference.inputs import collect_inputs
from colorgan.inference.outputs import InputFiles, plan_jobs, save_image

from helpers.photos import synthetic_photo, write_photos


def transparent_png(path: Path) -> Path:
    rgba = np.dstack([synthetic_photo(np.random.default_rng(1), 12, 14), np.full((12, 14), 99, np.uint8)])
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgba, mode="RGBA").save(path)
    return path


def names(jobs, root: Path, compare: bool = False) -> list[str]:
    out = [j.output.relative_to(root).as_posix() for j in jobs]
    return out + [j.compare.relative_to(root).as_posix() for j in jobs] if compare else out


def files_in(paths: list[Path]) -> list[tuple[Path, Path]]:
    return [(p, Path(p.name)) for p in paths]


@pytest.mark.parametrize("where", ["next to the inputs", "a separate folder"])
@pytest.mark.parametrize("compare", [False, True])
def test_one_naming_rule_for_every_output_folder(tmp_path: Path, where: str, compare: bool) -> None:
    folder = tmp_path / "photos"
    jpg = write_photos(folder, 1, ext="jpg")[0]
    png = write_photos(folder, 1, ext="png")[0]  # photo_000.jpg and photo_000.png: one name with --format png
    alone = write_photos(folder / "more", 1, ext="jpg")[0]
    out = folder if where == "next to the inputs" else tmp_path / "out"
    pairs = files_in([jpg, png]) + [(alone, Path("more") / alone.name)]
    jobs = plan_jobs(pairs, out, "png", compare)
    expected = ["photo_000_jpg.png", "photo_000_png.png", "more/photo_000.png"]
    if compare:
        expected += ["photo_000_jpg_compare.png", "photo_000_png_compare.png", "more/photo_000_compare.png"]
    assert names(jobs, out, compare) == expected
    # the order the photos come in does not decide who gets which name
    assert names(plan_jobs(pairs[::-1], out, "png", compare), out, compare) == (
        expected[:3][::-1] + expected[3:][::-1] if compare else expected[::-1]
    )


def test_same_name_in_two_input_folders(tmp_path: Path) -> None:
    write_photos(tmp_path / "a", 1, ext="jpg")
    write_photos(tmp_path / "b", 1, ext="jpg", seed=1)
    pairs, _ = collect_inputs([str(tmp_path / "a"), str(tmp_path / "b")])
    out = tmp_path / "out"
    # the extension does not tell them apart, so both get a number; neither gets the plain name
    assert names(plan_jobs(pairs, out, None, False), out) == ["photo_000_1.jpg", "photo_000_2.jpg"]


def test_a_lone_photo_next_to_itself(tmp_path: Path) -> None:
    png = write_photos(tmp_path, 1, ext="png")[0]
    assert names(plan_jobs(files_in([png]), tmp_path, "png", False), tmp_path) == ["photo_000_png.png"]
    assert names(plan_jobs(files_in([png]), tmp_path / "out", "png", False), tmp_path / "out") == ["photo_000.png"]


def test_transparency_is_planned_under_the_same_rule(tmp_path: Path) -> None:
    """A transparent ``in/a.png`` must be a PNG, and ``out/a.png`` and ``out/a_alpha.png``
    are inputs: its output gets a name that is neither, decided before anything is written."""
    out = tmp_path / "out"
    sources = [transparent_png(tmp_path / "in" / "a.png")]
    for name in ("a.png", "a_alpha.png"):
        out.mkdir(exist_ok=True)
        Image.fromarray(synthetic_photo(np.random.default_rng(2), 10, 10)).save(out / name)
        sources.append(out / name)
    jobs = plan_jobs(files_in(sources), out, "jpg", compare=True)
    assert names(jobs, out, compare=True) == [
        "a_png.png", "a.jpg", "a_alpha.jpg", "a_png_compare.png", "a_compare.jpg", "a_alpha_compare.jpg",
    ]
    every = [p for j in jobs for p in (j.output, j.compare)]
    assert len(set(every)) == len(every) and not set(every) & set(sources)


def test_names_of_other_photos_and_inputs_are_never_taken(tmp_path: Path) -> None:
    """``x.jpg`` and ``x.png`` would both take ``x_*.png`` names that other photos want or inputs have."""
    folder = tmp_path / "p"
    shots = [*write_photos(folder, 1, ext="jpg"), *write_photos(folder, 1, ext="png")]
    for stem in ("photo_000_jpg", "photo_000_png"):  # inputs with the names the extension rule would give
        Image.fromarray(synthetic_photo(np.random.default_rng(3), 8, 8)).save(folder / f"{stem}.png")
        shots.append(folder / f"{stem}.png")
    jobs = plan_jobs(files_in(shots), folder, "png", False)
    outputs = [j.output for j in jobs]
    assert len(set(outputs)) == len(outputs) and not set(outputs) & set(shots)
    assert names(jobs, folder)[:2] == ["photo_000_1.png", "photo_000_2.png"]


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "LA", "P", "P+transparency", "PA", "I;16"])
def test_the_header_tells_transparency_as_decoding_does(tmp_path: Path, mode: str) -> None:
    """Planning reads only the header; the photo must come out with alpha exactly when planning said PNG."""
    rgba = np.dstack([synthetic_photo(np.random.default_rng(4), 9, 11), np.full((9, 11), 120, np.uint8)])
    img = Image.fromarray(rgba, mode="RGBA")
    if mode.startswith("P") and mode != "PA":
        img = img.convert("RGB").quantize(16)
        if mode == "P+transparency":
            img.info["transparency"] = 0
    elif mode == "I;16":
        img = Image.fromarray(np.asarray(img.convert("L")).astype(np.uint16) << 8)
    elif mode != "RGBA":
        img = img.convert(mode)
    path = tmp_path / ("x.tif" if mode == "PA" else "x.png")
    img.save(path)
    _, alpha = load_photo(path)
    assert file_has_alpha(path) == (alpha is not None)
    assert file_has_alpha(path) == (mode in ("RGBA", "LA", "P+transparency", "PA"))


# ------------------------------------------------------------------ the last-line guard
def test_save_image_never_writes_an_input(tmp_path: Path) -> None:
    src = write_photos(tmp_path, 1, ext="png")[0]
    original = src.read_bytes()
    link = tmp_path / "link.png"
    link.symlink_to(src)
    hard = tmp_path / "hard.png"
    os.link(src, hard)
    guard = InputFiles([src])
    image = Image.new("RGB", (3, 3), "red")
    for path in (src, link, hard, tmp_path / "." / src.name):
        with pytest.raises(FileExistsError, match="is an input photo"):
            save_image(image, path, protect=guard)
    assert src.read_bytes() == original
    save_image(image, tmp_path / "new.png", protect=guard)  # anything else is written
    assert Image.open(tmp_path / "new.png").size == (3, 3)
