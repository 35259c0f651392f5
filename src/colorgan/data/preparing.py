"""Write a photo folder once as LitData optimized datasets (train/, val/, test/) that training streams from.

The splits are decided by :func:`colorgan.data.files.split_files`, the rule the folder path uses, so a photo lands
in the same split either way. Each photo is decoded, centre-cropped to a square and resized once to ``size``
(what the folder path does to every photo on every epoch), then stored encoded (JPEG at quality 95 by default,
about a tenth of the raw pixels; PNG for lossless), in chunks that LitData's worker processes write in parallel.
Unreadable photos (truncated, not an image, decompression bombs) are reported by name and left out.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorgan.data.decode import DEFAULT_MAX_PIXELS, ImageDecodeError, load_rgb, resize_square
from colorgan.data.files import split_files
from colorgan.data.storage import SPLITS, check_reachable, has_index, is_url, require_stream, split_location

log = logging.getLogger(__name__)

FORMATS = ("jpeg", "png")


@dataclass
class PrepareReport:
    """What :func:`prepare_photos` did: photos written per split, splits already there, photos left out."""

    written: dict[str, int] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # splits found finished and left as they were
    bad: list[str] = field(default_factory=list)  # "relative/path: reason" for each photo left out


def _encode(image: Any, fmt: str, quality: int) -> Any:
    from torchvision.io import encode_jpeg, encode_png

    return encode_jpeg(image, quality=quality) if fmt == "jpeg" else encode_png(image, compression_level=6)


def _photo_item(
    path: str, root: str, size: int, fmt: str, quality: int, max_pixels: int | None, report_dir: str
) -> Iterator[dict[str, Any]]:
    """LitData's ``fn``: one photo file -> one stored item ``{"image": encoded uint8 tensor, "name": path relative
    to the folder}``; an unreadable photo yields nothing and is written to this process's report file."""
    name = Path(path).relative_to(root).as_posix()
    try:
        image = resize_square(load_rgb(path, max_pixels=max_pixels, draft_size=size), size)
    except (ImageDecodeError, OSError) as err:
        reason = str(err) if path in str(err) else f"{path}: {err}"
        with open(os.path.join(report_dir, f"bad-{os.getpid()}.txt"), "a", encoding="utf-8") as f:
            f.write(f"{name}\t{reason}\n".replace("\r", " "))
        return
    yield {"image": _encode(image, fmt, quality), "name": name}


def _read_bad(report_dir: str) -> list[str]:
    lines = []
    for file in sorted(Path(report_dir).glob("bad-*.txt")):
        lines += [line.split("\t", 1)[1] for line in file.read_text(encoding="utf-8").splitlines() if "\t" in line]
    return sorted(lines)


def prepare_photos(
    photos: str | Path,
    out: str,
    size: int = 256,
    fmt: str = "jpeg",
    quality: int = 95,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    split_seed: int = 0,
    num_workers: int | None = None,
    chunk_bytes: str = "64MB",
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    storage_options: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> PrepareReport:
    """Write the photos under ``photos`` as ``out/train``, ``out/val`` and ``out/test`` optimized datasets.

    A split whose dataset is already finished (its ``index.json`` is there) is left alone unless ``overwrite``,
    so a prepare that was interrupted is finished by running it again; a split that was half written is written
    anew. ``out`` may be a local folder or an object-storage URL (``s3://bucket/prefix``).
    """
    optimize = require_stream().optimize

    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got '{fmt}'")
    if size < 16:
        raise ValueError(f"--size must be at least 16 px, got {size}")
    if not 1 <= quality <= 100:
        raise ValueError(f"--quality must be between 1 and 100, got {quality}")
    root = Path(photos).expanduser().resolve()
    options = dict(storage_options or {})
    check_reachable(out, options, write=True)
    splits = split_files(root, val_fraction, split_seed, test_fraction)
    log.info(
        "Photos: %d train / %d val / %d test under %s (split by %s)",
        len(splits.train),
        len(splits.val),
        len(splits.test),
        root,
        splits.source,
    )
    workers = int(num_workers) if num_workers else max(1, min(os.cpu_count() or 1, 8))
    report = PrepareReport()
    with tempfile.TemporaryDirectory(prefix="colorgan-prepare-") as report_dir:
        for split in SPLITS:
            files = [str(p) for p in getattr(splits, split)]
            target = split_location(out, split)
            if has_index(target, options) and not overwrite:
                report.kept.append(split)
                log.info("%s is already prepared: kept (--overwrite writes it anew)", target)
                continue
            if not is_url(target):
                Path(target).mkdir(parents=True, exist_ok=True)
            before = len(_read_bad(report_dir))
            fn = functools.partial(
                _photo_item,
                root=str(root),
                size=int(size),
                fmt=fmt,
                quality=int(quality),
                max_pixels=max_pixels,
                report_dir=report_dir,
            )
            optimize(
                fn=fn,
                inputs=files,
                output_dir=target,
                chunk_bytes=chunk_bytes,
                num_workers=min(workers, len(files)),
                mode="overwrite",
                storage_options=options,
                reorder_files=False,
                verbose=True,
            )
            report.written[split] = len(files) - (len(_read_bad(report_dir)) - before)
        report.bad = _read_bad(report_dir)
    return report
