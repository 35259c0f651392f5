"""Finding photos on disk and splitting them into train / val / test (colorize also finds videos with it)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
# Videos colorize finds in folders (with the video extra); training uses photos only.
VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")

# Folder names that mark a pre-made split (the sports data set's layout), in order of preference.
TRAIN_DIRS = ("train",)
VAL_DIRS = ("val", "valid", "validation")
TEST_DIRS = ("test",)


class NoImagesError(FileNotFoundError):
    """A folder that should hold photos holds none that colorgan can read."""


def is_image_file(path: Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> bool:
    return path.suffix.lower() in extensions and not path.name.startswith(".")


def is_video_file(path: Path) -> bool:
    """Whether ``path``'s suffix is one of :data:`VIDEO_EXTENSIONS`, in any case."""
    return path.suffix.lower() in VIDEO_EXTENSIONS


def find_images(root: str | Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[Path]:
    """All photos (files with one of ``extensions``) below ``root``, recursively, in a deterministic order.

    Extensions are matched in any case (``.JPG``, ``.Png``). Class subfolders are simply walked through.
    Hidden files and folders (a leading dot, e.g. macOS ``._IMG.jpg`` resource forks) are skipped.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(
            f"data.root '{root}' does not exist. Point it at a folder of photos: data.root=/path/to/photos"
        )
    if root.is_file():
        return [root] if is_image_file(root, extensions) else []
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and is_image_file(path, extensions):
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _no_images(root: Path) -> NoImagesError:
    exts = ", ".join(IMAGE_EXTENSIONS)
    return NoImagesError(
        f"No images found in '{root}' (searched recursively for {exts}, in any case). "
        "Point data.root at a folder of photos."
    )


def _first_existing(root: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        for candidate in (root / name, root / name.upper(), root / name.capitalize()):
            if candidate.is_dir():
                return candidate
    return None


@dataclass(frozen=True)
class Splits:
    """File lists of one data root. ``source`` says how they were made ("folders" or "fraction")."""

    train: list[Path]
    val: list[Path]
    test: list[Path]
    source: str


def split_files(root: str | Path, val_fraction: float = 0.1, seed: int = 0) -> Splits:
    """Split the photos under ``root``.

    * If ``root`` has a ``train/`` folder and a ``test/`` and/or ``val/`` (``valid/``) folder, those are the
      splits. Validation uses ``val/`` when it exists, otherwise ``test/``; test uses ``test/`` when it exists,
      otherwise ``val/``.
    * Otherwise all photos are shuffled with ``seed`` and ``val_fraction`` of them (at least one) is held out
      for validation and test.
    """
    root = Path(root)
    train_dir = _first_existing(root, TRAIN_DIRS) if root.is_dir() else None
    val_dir = _first_existing(root, VAL_DIRS) if root.is_dir() else None
    test_dir = _first_existing(root, TEST_DIRS) if root.is_dir() else None
    if train_dir is not None and (val_dir is not None or test_dir is not None):
        train = find_images(train_dir)
        if not train:
            raise _no_images(train_dir)
        val = find_images(val_dir or test_dir)  # type: ignore[arg-type]
        test = find_images(test_dir or val_dir)  # type: ignore[arg-type]
        if not val:
            raise _no_images(val_dir or test_dir)  # type: ignore[arg-type]
        return Splits(train, val, test or val, "folders")

    files = find_images(root)
    if not files:
        raise _no_images(root)
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"data.val_fraction must be in [0, 1), got {val_fraction}")
    if len(files) == 1:
        return Splits(files, files, files, "fraction")
    order = list(range(len(files)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(files) * val_fraction)) if val_fraction > 0 else 0
    held = sorted(order[:n_val])
    kept = sorted(order[n_val:])
    val = [files[i] for i in held] or [files[i] for i in kept]
    return Splits([files[i] for i in kept], val, val, "fraction")
