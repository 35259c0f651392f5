"""Colorize photos and videos: ``colorgan-colorize INPUT... --ckpt PATH --output DIR`` (also ``python -m
colorgan.colorize``).

INPUT is any mix of files, folders (searched recursively) and globs (quote them: ``"scans/**/*.tif"``); videos
need the ``video`` extra. Each output keeps its input's relative path and stem under DIR, at the input's own width
and height; a video keeps its frame rate, frame count and sound. Unreadable files are reported and skipped; the
exit code is 1 if any input failed, 2 if nothing could start (bad checkpoint or
arguments). Existing outputs are left alone unless ``--overwrite`` is given, so rerunning a command finishes an
interrupted job.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from colorgan.data.host_memory import keep_freed_memory
from colorgan.inference.inputs import collect_inputs
from colorgan.inference.outputs import (
    COMPARE_SUFFIX,
    FORMATS,
    JPEG_QUALITY,
    InputFiles,
    Job,
    plan_jobs,
    save_image,
    source_exif,
)

# The video settings' defaults (colorgan.inference.video and .temporal hold the same; kept here so that --help
# does not import PyTorch).
VIDEO_CRF, VIDEO_PRESET = 18, "medium"
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"
)
SMOOTHING, SMOOTHING_TOLERANCE, CUT_THRESHOLD = 0.8, 4.0, 0.3
VIDEO_CODECS = ("h264", "hevc", "prores")
LOG_EVERY = 60.0


def build_parser() -> argparse.ArgumentParser:
    from colorgan.data.decode import DEFAULT_MAX_PIXELS

    parser = argparse.ArgumentParser(
        prog="colorgan-colorize",
        description="Colorize black-and-white photos and films with a trained colorgan model. Each output has the "
        "input's size and lightness (a film also its frame rate, frame count and sound); colour inputs are made gray "
        "first, so you can test on them.",
        epilog="example: colorgan-colorize old_photos/ family_film.mp4 --ckpt last.ckpt --output coloured/",
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="photo or video files, folders (recursive) or globs; videos (.mp4 .mov .mkv .mpg .ts .vob .dv .wmv ..., "
        'any file FFmpeg reads as a film) need pip install "colorgan[video]"',
    )
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
    parser.add_argument(
        "--hints", default=None, metavar="FILE",
        help='colour points for a model trained with hints, for one photo: a JSON file {"points": [{"x": 120, "y": 80, '
        '"color": "#2a5caa", "size": 5}]} in the photo\'s own pixels (x, y: the centre; size: the side of its square)',
    )
    parser.add_argument(
        "--temperature", type=float, default=None, metavar="T",
        help="vividness of a model trained with model.head=classification: the annealed mean's temperature, from 0 "
        "(the most likely colour: vivid) to 1 (the mean colour: safe); default: the model's own (0.38 unless trained "
        "otherwise). A regression model refuses it.",
    )
    parser.add_argument("--device", default="auto", help="auto (a GPU when there is one) | cpu | cuda | cuda:N")
    parser.add_argument(
        "--batch-size", type=int, default=4, metavar="N", help="photos or video frames per generator run (default 4)"
    )
    parser.add_argument(
        "--compare", action="store_true", help=f"also write <name>{COMPARE_SUFFIX}: input | colorized (photos only)"
    )
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
    video = parser.add_argument_group("videos")
    video.add_argument(
        "--video-crf", type=int, default=VIDEO_CRF, metavar="N",
        help=f"H.264 quality, 0-51, lower is better and larger (default {VIDEO_CRF}: looks like the input; 23 is "
        "FFmpeg's default); .webm outputs (VP9) use it on VP9's 0-63 scale",
    )
    video.add_argument(
        "--video-preset", default=VIDEO_PRESET, metavar="NAME", choices=X264_PRESETS,
        help=f"libx264 speed/size trade-off: ultrafast ... veryslow (default {VIDEO_PRESET}); checked before any work",
    )
    video.add_argument(
        "--video-codec", choices=VIDEO_CODECS, default=None,
        help="h264: 8-bit 4:2:0, plays everywhere (the default; VP9 for .webm); hevc: 10-bit 4:2:0, smaller; prores: "
        "10-bit 4:2:2 ProRes 422 HQ for editing, written as .mov. A film in a container that cannot hold the codec "
        "is written as .mkv (.mov for prores)",
    )
    video.add_argument(
        "--log-every", type=float, default=LOG_EVERY, metavar="SECONDS",
        help=f"with no terminal for a progress bar (nohup, a job's log, a notebook), a line of progress for each film "
        f"every this many seconds (default {LOG_EVERY:g}; 0: none)",
    )
    video.add_argument(
        "--deinterlace", action="store_true",
        help="join the two fields of interlaced films (VHS, DV, broadcast captures) into progressive frames with "
        "FFmpeg's yadif; without it an interlaced film stays interlaced, with its field order",
    )
    video.add_argument(
        "--keep-partial", action="store_true",
        help="colorize and keep what can be decoded of a damaged or cut-short film, with a note that it is partial. "
        "Without it such a film is refused, before any frame is colorized where a read of its packets (no "
        "decoding) shows it: fewer frames than its index lists (.mp4 .mov .avi) or packets that stop before its "
        "declared length (.mkv .webm .mp4 .mov .wmv). Damage that only decoding shows, and a cut-short .mpg .ts "
        ".vob .dv (FFmpeg measures their length from the file itself), is found while colorizing, and the film "
        "is then dropped",
    )
    video.add_argument(
        "--smoothing", type=float, default=SMOOTHING, metavar="S",
        help=f"how much of the previous frame's colour a still pixel keeps, 0 to <1; 0 colorizes frame by frame "
        f"(default {SMOOTHING})",
    )
    video.add_argument(
        "--smoothing-tolerance", type=float, default=SMOOTHING_TOLERANCE, metavar="L",
        help=f"change of lightness (L*, 0-100) from one frame to the next at which a pixel counts as moving and "
        f"keeps its own colour (default {SMOOTHING_TOLERANCE})",
    )
    video.add_argument(
        "--cut-threshold", type=float, default=CUT_THRESHOLD, metavar="T",
        help=f"change of the lightness histogram (0-1) that starts a new shot, where the smoothing starts afresh "
        f"(default {CUT_THRESHOLD})",
    )
    return parser


# ---------------------------------------------------------------------- main
def run(args: argparse.Namespace) -> int:
    """Colorize as ``args`` say (see :func:`build_parser`). Returns the exit code."""
    from tqdm import tqdm

    from colorgan.checkpoints.reading import CheckpointError
    from colorgan.data.files import is_video_file
    from colorgan.inference.colorizer import Colorizer
    from colorgan.training.grid import side_by_side

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
    jobs = plan_jobs(pairs, output_dir, args.format, args.compare, video_codec=args.video_codec)
    inputs = InputFiles(p for p, _ in pairs)  # checked again at every write, whatever the plan says
    todo = [j for j in jobs if args.overwrite or not j.output.exists()]
    existing = len(jobs) - len(todo)
    if not jobs:
        print("colorgan-colorize: nothing to colorize", file=sys.stderr)
        return 1
    videos = [j for j in todo if is_video_file(j.source)]
    todo = [j for j in todo if not is_video_file(j.source)]
    if args.hints is not None and (len(jobs) != 1 or videos):
        print(
            f"colorgan-colorize: error: --hints {args.hints} holds points for one photo, but the inputs are "
            f"{len(jobs)} file(s){' with videos' if videos else ''}; give exactly one photo with --hints",
            file=sys.stderr,
        )
        return 2

    try:
        colorizer = Colorizer.from_checkpoint(
            args.ckpt, size=args.size, device=args.device, max_pixels=args.max_pixels or None,
            temperature=args.temperature,
        )
    except (CheckpointError, ValueError) as err:
        print(f"colorgan-colorize: error: {err}", file=sys.stderr)
        return 2
    if args.hints is not None:
        from colorgan.inference.hints import HintError

        try:
            colorizer.read_hints(args.hints)  # a bad file, or a model without hints, stops before any work
        except HintError as err:
            print(f"colorgan-colorize: error: {err}", file=sys.stderr)
            return 2

    what = f"{len(todo)} photo(s)" + (f" and {len(videos)} video(s)" if videos else "")
    print(
        f"Colorizing {what} with {args.ckpt} at {colorizer.size} px on {colorizer.device}"
        + (f" ({existing} already done)" if existing else ""),
        file=sys.stderr,
    )
    failed: list[str] = []
    done = 0
    batch_size = max(1, args.batch_size)
    bar = tqdm(total=len(todo), unit="photo", desc="Colorizing", dynamic_ncols=True, disable=None if todo else True)
    with bar:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            results = colorizer.colorize_batch(
                [j.source for j in batch], keep_input=args.compare,
                hints=None if args.hints is None else [args.hints] * len(batch),
            )
            for job, result in zip(batch, results):
                bar.update(1)
                for note in result.notes:
                    bar.write(f"note: {note}", file=sys.stderr)
                if result.image is None:
                    failed.append(result.error or f"{job.source}: failed")
                    bar.write(f"FAILED {failed[-1]}", file=sys.stderr)
                    continue
                if result.image.mode == "RGBA" and job.output.suffix != ".png":  # the file changed since planning
                    failed.append(f"{job.source}: has transparency its header did not show; rerun it with --format png")
                    bar.write(f"FAILED {failed[-1]}", file=sys.stderr)
                    continue
                exif = source_exif(job.source)  # date taken, camera...: the result is still that photo
                try:
                    save_image(result.image, job.output, args.quality, protect=inputs, exif=exif)
                    if job.compare is not None and result.input is not None:
                        compare = side_by_side([result.input, result.image])
                        save_image(compare, job.compare, args.quality, protect=inputs, exif=exif)
                except OSError as err:
                    failed.append(f"{job.output}: could not write it ({err})")
                    bar.write(f"FAILED {failed[-1]}", file=sys.stderr)
                    continue
                done += 1

    videos_done = _colorize_videos(colorizer, videos, args, failed, inputs)

    summary = f"Colorized {done} photo(s)" + (f" and {videos_done} video(s)" if videos else "") + f" into {output_dir}"
    if existing:
        summary += f"; left {existing} existing output(s) alone (--overwrite redoes them)"
    print(summary)
    if failed or problems:
        print(f"{len(failed) + len(problems)} input(s) failed:", file=sys.stderr)
        for message in problems + failed:
            print(f"  {message}", file=sys.stderr)
        return 1
    return 0


def _colorize_videos(
    colorizer: object, jobs: Sequence[Job], args: argparse.Namespace, failed: list[str], inputs: InputFiles
) -> int:
    """Colorize the video ``jobs`` one after the other, each with its own progress bar of frames; append what
    failed to ``failed``. An input file is never written. Returns how many were written."""
    if not jobs:
        return 0
    from colorgan.inference.temporal import Smoothing
    from colorgan.inference.video import VideoColorizer, VideoError

    if args.compare:
        print("note: --compare is for photos; videos get no comparison file", file=sys.stderr)
    smoothing = Smoothing(args.smoothing, args.smoothing_tolerance, args.cut_threshold)
    video = VideoColorizer(
        colorizer,  # type: ignore[arg-type]
        smoothing=smoothing, crf=args.video_crf, preset=args.video_preset, batch_size=max(1, args.batch_size),
        deinterlace=args.deinterlace, codec=args.video_codec, keep_partial=args.keep_partial,
    )
    done = 0
    for job in jobs:
        if job.output in inputs:  # the plan never does this; the last check before a write, as for photos
            failed.append(f"{job.output}: is an input file; not written")
            print(f"FAILED {failed[-1]}", file=sys.stderr)
            continue
        try:
            result = video.colorize(job.source, job.output, log_every=args.log_every)
        except (VideoError, ImportError, OSError) as err:
            failed.append(str(err) if str(job.source) in str(err) else f"{job.source}: {err}")
            print(f"FAILED {failed[-1]}", file=sys.stderr)
            continue
        except (RuntimeError, MemoryError) as err:
            failed.append(f"{job.source}: {type(err).__name__}: {err}")
            print(f"FAILED {failed[-1]}", file=sys.stderr)
            continue
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        rate = f"{float(result.rate):.3g} fps" if result.rate else "unknown frame rate"
        sound = f"{result.audio_streams} audio stream(s) copied" if result.audio_streams else "no sound"
        print(
            f"{job.source} -> {job.output}: {result.frames} frames {result.width}x{result.height} at {rate}, "
            f"{result.codec}, {sound}, {result.cuts} cut(s)" + ("" if result.complete else ", PARTIAL"),
            file=sys.stderr,
        )
        done += 1
    return done


class Terminated(BaseException):
    """SIGTERM (a service manager, ``kill``, a job scheduler) raised where the program is, so that the same clean-up
    runs as for Ctrl-C: a film being written removes its hidden partial file on the way out."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point (``colorgan-colorize``).

    Ctrl-C and SIGTERM stop it with one line instead of a traceback, exit codes 130 and 143 (128 + the signal, as a
    shell reports them); what was finished stays, nothing half-written does, and the same command finishes the rest.
    """
    keep_freed_memory()
    args = build_parser().parse_args(argv)
    if args.batch_size < 1:
        build_parser().error("--batch-size must be at least 1")
    if args.size is not None and args.size < 1:
        build_parser().error("--size must be positive")
    if not 0 <= args.video_crf <= 51:
        build_parser().error("--video-crf must be in 0-51 (lower is better quality)")
    if not 0 <= args.smoothing < 1:
        build_parser().error("--smoothing must be at least 0 (off) and below 1")
    if args.smoothing_tolerance <= 0:
        build_parser().error("--smoothing-tolerance must be positive (a change of L*, 0-100)")
    if not 0 < args.cut_threshold <= 1:
        build_parser().error("--cut-threshold must be in (0, 1]")
    if args.log_every < 0:
        build_parser().error("--log-every must be 0 (no lines) or a number of seconds")
    in_main_thread = threading.current_thread() is threading.main_thread()  # only there can a handler be set
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        return run(args)
    except (KeyboardInterrupt, Terminated) as err:
        sig = signal.SIGINT if isinstance(err, KeyboardInterrupt) else signal.SIGTERM
        print(
            f"\ncolorgan-colorize: interrupted ({sig.name}); finished outputs are kept, nothing half-written is left; "
            "run the same command again to do the rest",
            file=sys.stderr,
        )
        return 128 + sig
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
