"""Where results go: one output name per photo that no input and no other photo has, and atomic writes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

FORMATS = {"png": ".png", "jpg": ".jpg"}
JPEG_SUFFIXES = (".jpg", ".jpeg")
JPEG_QUALITY = 95
PNG_COMPRESS_LEVEL = 3  # 2.3x faster than Pillow's default 6 on a 12 MP photo, for files ~15% larger
COMPARE_SUFFIX = "_compare"


@dataclass
class Job:
    """One photo to colorize: where it comes from and where its results go."""

    source: Path
    relative: Path  # the source's path relative to the INPUT it was found under
    output: Path
    compare: Path | None = None


def output_suffix(source: Path, fmt: str | None) -> str:
    """``.jpg`` or ``.png``: the asked format, else jpg for JPEG inputs and png for everything else. A video keeps
    its own suffix (lower case), whatever ``fmt`` says."""
    from colorgan.data.files import is_video_file

    if is_video_file(source):
        return source.suffix.lower()
    if fmt is not None:
        return FORMATS[fmt]
    return ".jpg" if source.suffix.lower() in JPEG_SUFFIXES else ".png"


def plan_jobs(pairs: Sequence[tuple[Path, Path]], output_dir: Path, fmt: str | None, compare: bool) -> list[Job]:
    """Give every photo an output path under ``output_dir`` that no other photo and no input file has.

    ``holiday/beach.jpg`` becomes ``<output_dir>/holiday/beach.jpg``. When two photos would get the same name
    (``a.jpg`` and ``a.png`` with ``--format png``, or the same name in two INPUT folders), the later one gets its
    own extension or a number added (``a_jpg.png``, ``a_2.png``). An output is never an input file.
    """
    taken = {p.resolve() for p, _ in pairs}
    jobs = []
    for source, relative in pairs:
        suffix = output_suffix(source, fmt)
        folder = output_dir / relative.parent
        stem = relative.stem
        candidates = [stem, f"{stem}_{source.suffix.lstrip('.').lower()}"] + [f"{stem}_{n}" for n in range(2, 10_000)]
        for name in candidates:
            out = folder / f"{name}{suffix}"
            cmp = folder / f"{name}{COMPARE_SUFFIX}{suffix}" if compare else None
            if out.resolve() not in taken and (cmp is None or cmp.resolve() not in taken):
                break
        taken.add(out.resolve())
        if cmp is not None:
            taken.add(cmp.resolve())
        jobs.append(Job(source, relative, out, cmp))
    return jobs


def save_image(image: Image.Image, path: Path, quality: int = JPEG_QUALITY) -> None:
    """Write ``image`` to ``path`` (format from its suffix) through a temporary file, so that an interrupted run
    never leaves a half-written photo that a rerun would take for a finished one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    try:
        if path.suffix == ".jpg":
            image.convert("RGB").save(tmp, format="JPEG", quality=quality)
        else:
            image.save(tmp, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def with_png(job: Job, taken: set[Path]) -> Job:
    """The same job writing PNG files (for a photo with transparency, which JPEG cannot hold), under a name that
    is not in ``taken`` (inputs and other outputs)."""
    out = job.output.with_suffix(".png")
    if out.resolve() in taken:
        out = out.with_name(f"{out.stem}_alpha.png")
    cmp = out.with_name(f"{out.stem}{COMPARE_SUFFIX}.png") if job.compare is not None else None
    return Job(job.source, job.relative, out, cmp)
