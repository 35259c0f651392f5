"""Prepare a photo folder for streaming: ``colorgan-prepare PHOTOS OUT`` (or ``python -m colorgan.prepare``).

Writes ``OUT/train``, ``OUT/val`` and ``OUT/test`` as LitData optimized datasets, split by the rules of the folder
path (``data.root``), each photo centre-cropped to a square and resized once. ``OUT`` is a local folder or an
object-storage URL (``s3://bucket/prefix``). Train from it with ``data=streaming data.input_dir=OUT``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from colorgan.data.decode import DEFAULT_MAX_PIXELS
from colorgan.data.files import NoImagesError
from colorgan.data.preparing import FORMATS, prepare_photos
from colorgan.data.storage import StorageError, storage_options_of


def _option(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--storage-option takes KEY=VALUE, got '{text}'")
    key, value = text.split("=", 1)
    return key, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="colorgan-prepare",
        description="Write a folder of photos once as a streaming data set (LitData chunks: train/, val/, test/) "
        "for data=streaming data.input_dir=OUT. An interrupted prepare is finished by running it again.",
    )
    parser.add_argument("photos", help="folder of photos, split as data.root splits it (train/ val/ test/ or a hash)")
    parser.add_argument("out", help="where to write: a local folder or an object-storage URL (s3://bucket/prefix)")
    parser.add_argument(
        "--size",
        type=int,
        default=256,
        help="side of the stored square photos in px (default 256, data.image_size's default). colorgan trains on "
        "the centre square of each photo resized to data.image_size, so this is the largest size a run can train "
        "at without upsampling; a smaller data.image_size resizes on the fly.",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="jpeg",
        help="how photos are stored: jpeg (quality --quality, compact; the default) or png (lossless)",
    )
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality (default 95)")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="as data.val_fraction (default 0.1)")
    parser.add_argument("--test-fraction", type=float, default=0.1, help="as data.test_fraction (default 0.1)")
    parser.add_argument("--split-seed", type=int, default=0, help="as data.split_seed (default 0)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: the CPU count, max 8)")
    parser.add_argument("--chunk-bytes", default="64MB", help="size of each chunk file (default 64MB)")
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="decompression-bomb guard: larger photos are left out (default 180000000)",
    )
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="an S3-compatible server (MinIO, Ceph, ...); credentials come from AWS_* variables",
    )
    parser.add_argument(
        "--storage-option",
        type=_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="more boto3 client arguments for the storage (e.g. region_name=eu-west-1); repeatable",
    )
    parser.add_argument("--overwrite", action="store_true", help="write finished splits anew instead of keeping them")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    options = storage_options_of(args.endpoint_url, dict(args.storage_option))
    try:
        report = prepare_photos(
            args.photos,
            args.out,
            size=args.size,
            fmt=args.format,
            quality=args.quality,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            split_seed=args.split_seed,
            num_workers=args.workers,
            chunk_bytes=args.chunk_bytes,
            max_pixels=args.max_pixels,
            storage_options=options,
            overwrite=args.overwrite,
        )
    except (StorageError, NoImagesError, FileNotFoundError, ValueError, ImportError) as err:
        print(f"colorgan-prepare: {err}", file=sys.stderr)
        return 2
    for reason in report.bad:
        print(f"left out (unreadable): {reason}", file=sys.stderr)
    written = ", ".join(f"{split} {n}" for split, n in report.written.items()) or "nothing new"
    kept = f"; already there: {', '.join(report.kept)}" if report.kept else ""
    print(
        f"Prepared {args.out}: {written} photo(s){kept}; {len(report.bad)} left out. "
        f"Train with: python -m colorgan.train data=streaming data.input_dir={args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
