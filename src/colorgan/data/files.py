"""Finding photos on disk and splitting them into train / val / test (colorize also finds videos with it)."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif")  # HEIC: pillow-heif
# Videos colorize finds in folders (with the video extra); training uses photos only. Phones and the web (.mp4 ...),
# DVDs and camcorders (.mpg .vob .mod .tod), broadcast and AVCHD (.ts .mts .m2ts), DV tape, Windows Media, Flash,
# Ogg; a file with any other suffix is a video too if PyAV finds a moving picture in it (see is_video_file).
VIDEO_EXTENSIONS = (
    ".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".m2v", ".ts", ".mts", ".m2ts", ".vob", ".mod",
    ".tod", ".dv", ".wmv", ".asf", ".3gp", ".3g2", ".ogv", ".flv", ".mxf",
)
# FFmpeg formats that hold one picture, not a film: photos, a song's cover, GIFs (left to photo tools)
_STILL_FORMATS = ("image2", "gif", "apng", "webp", "tty")

# Folder names that mark a pre-made split (the sports data set's layout), in order of preference.
TRAIN_DIRS = ("train",)
VAL_DIRS = ("val", "valid", "validation")
TEST_DIRS = ("test",)


class NoImagesError(FileNotFoundError):
    """A folder that should hold photos holds none that colorgan can read."""


def is_image_file(path: Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> bool:
    return path.suffix.lower() in extensions and not path.name.startswith(".")


def is_video_file(path: Path) -> bool:
    """Whether ``path`` is a film: its suffix is one of :data:`VIDEO_EXTENSIONS` (in any case), or, for a file with
    another suffix that is not a photo's, PyAV (the ``video`` extra) opens it and finds a moving picture in it."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return True
    if suffix in IMAGE_EXTENSIONS or path.name.startswith(".") or not path.is_file():
        return False
    return _pyav_finds_a_film(str(path.resolve()))


@functools.lru_cache(maxsize=4096)
def _pyav_finds_a_film(path: str) -> bool:
    """Whether FFmpeg (through PyAV) reads ``path`` as a container with a video stream that is not a still picture
    (a photo, a song's cover art, a GIF). False without PyAV; cached, since a folder is planned more than once."""
    try:
        import av
    except ImportError:
        return False
    try:
        with av.open(path) as container:
            fmt = container.format.name
            if fmt.endswith("_pipe") or any(name in _STILL_FORMATS for name in fmt.split(",")):
                return False
            return any(
                not s.disposition & av.stream.Disposition.attached_pic for s in container.streams.video
            )
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        return False


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
    """File lists of one data root. ``source`` says how they were made, for the log line "split by <source>"
    (e.g. ``folders train/ and test/; val: 10 % of train/ by file-path hash, seed 0``)."""

    train: list[Path]
    val: list[Path]
    test: list[Path]
    source: str


def path_hash_unit(relative_path: str, seed: int) -> float:
    """A number in [0, 1) that depends only on ``seed`` and the file's path relative to the data root.

    Splits made by thresholding it are deterministic for a seed and stable when photos are added or removed: no
    other file's number changes, so no old photo moves between splits.

    >>> path_hash_unit("train/cat/001.jpg", 0) == path_hash_unit("train/cat/001.jpg", 0)
    True
    >>> 0.0 <= path_hash_unit("train/cat/001.jpg", 1) < 1.0
    True
    >>> round(path_hash_unit("train/cat/001.jpg", 0), 6)  # the same number on every machine and every version
    0.146947
    """
    digest = hashlib.blake2b(f"{seed}\0{relative_path}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _check_fraction(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"data.{name} must be in [0, 1), got {value}")
    return value


def _carve(
    files: list[Path], root: Path, fractions: dict[str, float], seed: int
) -> tuple[list[Path], dict[str, list[Path]], dict[str, Path]]:
    """Hold out ``fractions`` of ``files`` by path hash: ``(kept, {split: held-out files}, {split: borrowed photo})``,
    the lists in file order.

    The held-out splits take consecutive ranges of :func:`path_hash_unit` from 0 (the first split of
    ``fractions`` the lowest). A split with a positive fraction that comes out empty (a small folder) takes the
    kept file whose number lies nearest its range, as long as one file stays kept: it *borrows* that photo, which
    goes back to training once the folder has grown enough for the split to get a photo of its own (the one
    exception to "adding photos moves no old photo").
    """
    units = {f: path_hash_unit(f.relative_to(root).as_posix(), seed) for f in files}
    held: dict[str, list[Path]] = {name: [] for name in fractions}
    kept: list[Path] = []
    for f in files:
        low = 0.0
        for name, fraction in fractions.items():
            if low <= units[f] < low + fraction:
                held[name].append(f)
                break
            low += fraction
        else:
            kept.append(f)
    if not kept:  # only possible for a handful of photos: training needs at least one
        donor = max((name for name in held if held[name]), key=lambda n: max(units[f] for f in held[n]))
        last = max(held[donor], key=units.__getitem__)
        held[donor].remove(last)
        kept.append(last)
    borrowed: dict[str, Path] = {}
    for name, fraction in fractions.items():
        if fraction > 0 and not held[name] and len(kept) > 1:
            nearest = min(kept, key=units.__getitem__)
            kept.remove(nearest)
            held[name].append(nearest)
            borrowed[name] = nearest
    order = {f: i for i, f in enumerate(files)}
    return kept, {name: sorted(h, key=order.__getitem__) for name, h in held.items()}, borrowed


def _borrowed(borrowed: dict[str, Path], root: Path) -> str:
    """The part of a split's description that names the photos a too-small folder lent to its held-out splits."""
    lent = [f"{name} borrowed {photo.relative_to(root).as_posix()} from training" for name, photo in borrowed.items()]
    if not lent:
        return ""
    return (f"; too few photos for the fractions: {', '.join(lent)} (a borrowed photo goes back to training when "
            "the folder grows)")


def _percent(fraction: float) -> str:
    return f"{fraction * 100:g} %"


def split_files(
    root: str | Path, val_fraction: float = 0.1, seed: int = 0, test_fraction: float = 0.1
) -> Splits:
    """Split the photos under ``root`` into disjoint train, validation and test lists.

    * ``train/``, ``val/`` (or ``valid/``, ``validation/``) and ``test/`` folders: those are the splits.
    * ``train/`` and ``test/``: ``test/`` is the test split; the validation split is ``val_fraction`` of
      ``train/``, the rest trains.
    * ``train/`` and ``val/`` but no ``test/``: ``val/`` is held out as the test split (what ``colorgan.evaluate``
      scores); the validation split is carved out of ``train/`` as above.
    * No such folders: ``test_fraction`` of all photos is the test split and ``val_fraction`` the validation
      split; the rest trains.

    Photos are carved out by a hash of their path relative to ``root`` and ``seed`` (:func:`path_hash_unit`), so
    a split is the same on every run and on every machine (wherever the folder lies), and adding photos never
    moves an old one to another split; the fractions are met on average, not to the photo. The one exception: a
    split with a positive fraction that would come out empty (a folder of a handful of photos) borrows one photo
    from training, and that photo goes back to training once the folder grows enough for the split to get a photo
    of its own; ``source`` names it. A fraction of 0 holds nothing out: ``val_fraction=0`` validates on the
    training photos, and ``test_fraction=0`` tests on the validation photos.
    """
    root = Path(root)
    val_fraction = _check_fraction("val_fraction", val_fraction)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    train_dir = _first_existing(root, TRAIN_DIRS) if root.is_dir() else None
    val_dir = _first_existing(root, VAL_DIRS) if root.is_dir() else None
    test_dir = _first_existing(root, TEST_DIRS) if root.is_dir() else None
    by_hash = f"file-path hash, seed {seed}"
    if train_dir is not None and (val_dir is not None or test_dir is not None):
        train = find_images(train_dir)
        if not train:
            raise _no_images(train_dir)
        if val_dir is not None and test_dir is not None:
            val, test = find_images(val_dir), find_images(test_dir)
            for folder, photos in ((val_dir, val), (test_dir, test)):
                if not photos:
                    raise _no_images(folder)
            return Splits(train, val, test, f"folders {train_dir.name}/, {val_dir.name}/, {test_dir.name}/")
        held_dir = test_dir or val_dir
        assert held_dir is not None
        test = find_images(held_dir)
        if not test:
            raise _no_images(held_dir)
        folders = f"folders {train_dir.name}/ and {held_dir.name}/" + (" (as test)" if held_dir is val_dir else "")
        if val_fraction == 0:
            return Splits(train, train, test, f"{folders}; val: the training photos (data.val_fraction=0)")
        kept, held, borrowed = _carve(train, root, {"val": val_fraction}, seed)
        val = held["val"] or kept
        how = f"{_percent(val_fraction)} of {train_dir.name}/ by {by_hash}" if held["val"] else "the training photos"
        return Splits(kept, val, test, f"{folders}; val: {how}{_borrowed(borrowed, root)}")

    files = find_images(root)
    if not files:
        raise _no_images(root)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"data.val_fraction + data.test_fraction must be under 1 (leave photos to train on), got "
            f"{val_fraction} + {test_fraction}"
        )
    kept, held, borrowed = _carve(files, root, {"test": test_fraction, "val": val_fraction}, seed)
    val = held["val"] or kept
    test = held["test"] or val
    parts = [f"{_percent(val_fraction)} val" if held["val"] else "val = the training photos"]
    parts.append(f"{_percent(test_fraction)} test" if held["test"] else "test = the val photos")
    return Splits(kept, val, test, f"{by_hash}: " + ", ".join(parts) + _borrowed(borrowed, root))
