"""Colorize photos: ``colorgan-colorize INPUT... --ckpt PATH --output DIR`` (also ``python -m colorgan.colorize``).

INPUT is any mix of files, folders (searched recursively) and globs (quote them: ``"scans/**/*.tif"``). Each
output keeps its input's relative path and stem under DIR, at the input's own width and height. Unreadable files
are reported and skipped; the exit code is 1 if any photo failed, 2 if nothing could start (bad checkpoint or
arguments). Existing outputs are left alone unless ``--overwrite`` is given, so rerunning a command finishes an
interrupted job.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from colorgan.host_memory import keep_freed_memory
from colorgan.inference.inputs import collect_inputs
from colorgan.inference.outputs import COMPARE_SUFFIX, FORMATS, JPEG_QUALITY, plan_jobs, save_image, with_png


def build_parser() -> argparse.ArgumentParser:
    from colorgan.data.decode import DEFAULT_MAX_PIXELS

    parser = argparse.ArgumentParser(
        prog="colorgan-colorize",
        description="Colorize black-and-white photos with a trained colorgan model. Each output has the input's "
        "size and lightness; colour photos are made gray first, so you can test on them.",
        epilog="example: colorgan-colorize old_photos/ --ckpt last.ckpt --output coloured/ --compare",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="photo files, folders (recursive) or globs")
    parser.add_argument(
        "--ckpt", required=True, metavar="PATH",
        help="a training checkpoint (.ckpt from colorgan-train) or a generator from colorgan-export --format weights",
    )
    parser.add_argument("--output", "-o", required=True, metavar="DIR", help="folder for the colour photos")
    parser.add_argument(
        "--size", type=int, default=None, metavar="N",
        help="side of the square the generator works at (default: the size it was trained at; rounded to a "
        "multiple of 2**num_downs for the U-Net, of 32 for the ResNet U-Net). Larger can show more detail but leaves "
        "what the model learned.",
    )
    parser.add_argument("--device", default="auto", help="auto (a GPU when there is one) | cpu | cuda | cuda:N")
    parser.add_argument("--batch-size", type=int, default=4, metavar="N", help="photos per generator run (default 4)")
    parser.add_argument("--compare", action="store_true", help=f"also write <name>{COMPARE_SUFFIX}: input | colorized")
    parser.add_argument(
        "--format", choices=sorted(FORMATS), default=None,
        help="output format (default: jpg for JPEG inputs, png for the rest); photos with transparency are "
        "always written as png",
    )
    parser.add_argument("--quality", type=int, default=JPEG_QUALITY, metavar="Q", help="JPEG quality (default 95)")
    parser.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    parser.add_argument(
        "--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, metavar="N",
        help=f"refuse photos larger than this many pixels, a guard against decompression bombs (default "
        f"{DEFAULT_MAX_PIXELS:,}; 0 = no limit)",
    )
    return parser


# ---------------------------------------------------------------------- main
def run(args: argparse.Namespace) -> int:
    """Colorize as ``args`` say (see :func:`build_parser`). Returns the exit code."""
    from tqdm import tqdm

    from colorgan.checkpoints.reading import CheckpointError
    from colorgan.grid import side_by_side
    from colorgan.inference.colorizer import Colorizer

    output_dir = Path(args.output).expanduser()
    for raw in args.inputs:
        if Path(raw).expanduser().is_dir() and Path(raw).expanduser().resolve() == output_dir.resolve():
            print(
                f"colorgan-colorize: error: --output {output_dir} is the input folder {raw}; pick another folder "
                "(for example a subfolder) so the colour photos do not mix with the originals",
                file=sys.stderr,
            )
            return 2
    pairs, problems = collect_inputs(args.inputs, exclude=output_dir)
    for message in problems:
        print(f"colorgan-colorize: {message}", file=sys.stderr)
    jobs = plan_jobs(pairs, output_dir, args.format, args.compare)
    taken = {p.resolve() for p, _ in pairs} | {j.output.resolve() for j in jobs}
    todo = [j for j in jobs if args.overwrite or not j.output.exists()]
    existing = len(jobs) - len(todo)
    if not jobs:
        print("colorgan-colorize: nothing to colorize", file=sys.stderr)
        return 1

    try:
        colorizer = Colorizer.from_checkpoint(
            args.ckpt, size=args.size, device=args.device, max_pixels=args.max_pixels or None
        )
    except (CheckpointError, ValueError) as err:
        print(f"colorgan-colorize: error: {err}", file=sys.stderr)
        return 2

    print(
        f"Colorizing {len(todo)} photo(s) with {args.ckpt} at {colorizer.size} px on {colorizer.device}"
        + (f" ({existing} already done)" if existing else ""),
        file=sys.stderr,
    )
    failed: list[str] = []
    done = 0
    batch_size = max(1, args.batch_size)
    with tqdm(total=len(todo), unit="photo", desc="Colorizing", dynamic_ncols=True, disable=None) as bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            results = colorizer.colorize_batch([j.source for j in batch], keep_input=args.compare)
            for job, result in zip(batch, results):
                bar.update(1)
                for note in result.notes:
                    bar.write(f"note: {note}", file=sys.stderr)
                if result.image is None:
                    failed.append(result.error or f"{job.source}: failed")
                    bar.write(f"FAILED {failed[-1]}", file=sys.stderr)
                    continue
                if result.image.mode == "RGBA" and job.output.suffix != ".png":
                    job = with_png(job, taken)
                    if job.output.exists() and not args.overwrite:
                        existing += 1
                        continue
                try:
                    save_image(result.image, job.output, args.quality)
                    if job.compare is not None and result.input is not None:
                        save_image(side_by_side([result.input, result.image]), job.compare, args.quality)
                except OSError as err:
                    failed.append(f"{job.output}: could not write it ({err})")
                    bar.write(f"FAILED {failed[-1]}", file=sys.stderr)
                    continue
                done += 1

    summary = f"Colorized {done} photo(s) into {output_dir}"
    if existing:
        summary += f"; left {existing} existing output(s) alone (--overwrite redoes them)"
    print(summary)
    if failed or problems:
        print(f"{len(failed) + len(problems)} input(s) failed:", file=sys.stderr)
        for message in problems + failed:
            print(f"  {message}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point (``colorgan-colorize``)."""
    keep_freed_memory()
    args = build_parser().parse_args(argv)
    if args.batch_size < 1:
        build_parser().error("--batch-size must be at least 1")
    if args.size is not None and args.size < 1:
        build_parser().error("--size must be positive")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
