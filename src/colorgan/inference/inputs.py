"""Which files to colorize: INPUT arguments (files, folders, globs) expanded into photos and videos, each once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

_MAGIC = set("*?[")


def _glob_base(pattern: str) -> Path:
    """The folder part of a glob before its first wildcard: matches are named relative to it."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if _MAGIC & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _all_files(folder: Path) -> list[Path]:
    """Every file below ``folder`` but hidden ones (and those in hidden folders)."""
    return [
        p for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]


def collect_inputs(inputs: Sequence[str], exclude: Path | None = None) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Expand INPUT arguments into ``(file, relative path)`` pairs, in order, each file once.

    Folders are searched recursively for photos (any case of .jpg .jpeg .png .webp .bmp .tif .tiff) and, when
    PyAV (the ``video`` extra) is installed, videos (:data:`~colorgan.data.files.VIDEO_EXTENSIONS`, and files
    with any other suffix that PyAV opens as a film), skipping hidden files; without PyAV, a folder's videos are
    left out and a message says how to include them. Folder scans and globs
    skip anything under ``exclude`` (the output folder, so that earlier outputs are not colorized again). Returns
    the pairs and one message for each INPUT that matched nothing.
    """
    import glob

    from colorgan.data.files import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, find_images, is_video_file
    from colorgan.inference.video import VIDEO_EXTRA, video_support

    videos = video_support()
    extensions = IMAGE_EXTENSIONS + VIDEO_EXTENSIONS if videos else IMAGE_EXTENSIONS

    found: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    problems: list[str] = []

    def add(path: Path, relative: Path, scanned: bool = True) -> None:
        key = path.resolve()
        if key in seen or (scanned and exclude is not None and _inside(path, exclude)):
            return  # a file named twice, or an earlier output found by a folder scan or glob
        seen.add(key)
        found.append((path, relative))

    def add_folder(folder: Path, raw: str) -> int:
        files = find_images(folder, extensions)
        if videos:  # films whose suffix is not in the list (a camcorder's .MOD, an archive's own names)
            others = [p for p in _all_files(folder) if p.suffix.lower() not in extensions and is_video_file(p)]
            files = sorted([*files, *others], key=lambda p: p.relative_to(folder).as_posix())
        for f in files:
            add(f, f.relative_to(folder))
        skipped = [] if videos else find_images(folder, VIDEO_EXTENSIONS)
        if skipped:
            problems.append(f"{raw}: left out {len(skipped)} video(s); to colorize videos: {VIDEO_EXTRA}")
        return len(files) + len(skipped)

    for raw in inputs:
        path = Path(raw).expanduser()
        if path.is_dir():
            if add_folder(path, raw) == 0:
                problems.append(f"{raw}: no photos or videos in this folder")
        elif path.is_file():
            add(path, Path(path.name), scanned=False)
        elif _MAGIC & set(raw):
            base = _glob_base(str(path))
            matches = sorted(Path(m) for m in glob.glob(str(path), recursive=True))
            if not matches:
                problems.append(f"{raw}: no file matches this pattern")
            for m in matches:
                if m.is_dir():
                    add_folder(m, str(m))
                elif m.is_file():
                    add(m, m.relative_to(base) if _inside(m, base) else Path(m.name))
        else:
            problems.append(f"{raw}: no such file or folder")
    return found, problems
