"""Colorizing videos: :class:`VideoColorizer`, a film file in, a colour film of the same size, rate and sound out.

How a film is colorized (PyAV, FFmpeg's libraries, does the decoding and encoding; ``pip install
"colorgan[video]"``):

1. The packets of the film are read in order. Video packets are decoded into frames; audio packets are copied
   into the output as they are (remuxed, not re-encoded), so the sound is bit for bit the original's.
2. The frames are gathered in batches of ``batch_size``. Each batch goes through the same steps as photos
   (:class:`~colorgan.inference.colorizer.Colorizer`): letterboxed into the generator's square, one generator run
   with the out-of-memory fallbacks, and each frame's colour joined with its own full-resolution lightness.
3. Between the generator and the join, the colour is smoothed over time
   (:class:`~colorgan.inference.temporal.TemporalSmoother`): still parts keep a steady colour, moving parts and
   the first frame of each shot use their own.
4. Each frame is encoded again (H.264 with libx264, VP9 for ``.webm``, ``yuv420p``; HEVC or ProRes 10-bit on
   request) with the input frame's timestamp, so the output has the input's frame count, frame rate and
   duration. The YUV <-> RGB conversion uses the input's colour matrix (BT.709 or BT.601; for an untagged film
   the one players assume from its height) and tags the output with it, so the lightness a player shows is the
   input's.

A phone's display matrix (rotation) is honoured: frames are colorized upright and written as stored, with the
same matrix. An interlaced film stays interlaced, in its field order, unless it is deinterlaced (``yadif``) first.

Before the first frame is colorized, the film's packets are read once without decoding (one read of the file at
disk speed) and counted against its index (MP4, MOV, AVI) and its declared length (Matroska, MP4, MOV, WMV): a
film cut short or unreadable part-way is refused there, or with ``keep_partial`` colorized as far as it goes and
kept. Damage that only decoding shows (and a cut-short MPEG, transport stream or DV file, whose length FFmpeg
measures from the file itself) is found while colorizing: the film is then dropped, or with ``keep_partial`` kept
up to that frame.

The module layout: :mod:`~colorgan.inference.video_streams` (containers, what a stream says, the packet survey,
filters), :mod:`~colorgan.inference.video_encoder` (the encoder and the frame writer), and here the frame loop.

Only ``batch_size`` frames are ever held at once, and nothing is written but the output, through a hidden
temporary file next to it that is renamed when the film is complete: an interrupted run leaves no half-written
film under the final name.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from colorgan.inference.engine import ColorEngine
from colorgan.inference.letterbox import crop
from colorgan.inference.temporal import Smoothing, TemporalSmoother
from colorgan.inference.video_encoder import (
    DEFAULT_CRF,
    DEFAULT_PRESET,
    X264_PRESETS,
    FrameWriter,
    choose_encoder,
    depth_note,
)
from colorgan.inference.video_streams import (
    CODEC_CONTAINERS,
    CONTAINER_FORMATS,
    VIDEO_CODECS,
    VIDEO_EXTRA,
    Deinterlacer,
    VideoError,
    copy_tags,
    expected_frames,
    field_order,
    frame_rate,
    import_av,
    orientation,
    output_suffix,
    reason,
    shortfall,
    survey,
    video_support,
)
from colorgan.inference.video_streams import MUXER_KEYS as _MUXER_KEYS

__all__ = [
    "CODEC_CONTAINERS",
    "CONTAINER_FORMATS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CRF",
    "DEFAULT_LOG_EVERY",
    "DEFAULT_PRESET",
    "VIDEO_CODECS",
    "VIDEO_EXTRA",
    "X264_PRESETS",
    "ColorizedVideo",
    "VideoColorizer",
    "VideoError",
    "import_av",
    "output_suffix",
    "video_support",
]

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 8
DEFAULT_LOG_EVERY = 60.0  # seconds between progress lines when there is no terminal for a bar


@dataclass
class ColorizedVideo:
    """What :meth:`VideoColorizer.colorize` wrote.

    Attributes:
        path: the output file.
        frames: frames written (the input's frame count).
        width, height: the frame size (the input's).
        rate: the average frame rate, ``None`` if the input did not say.
        codec: the video encoder used (``libx264``, ``libvpx-vp9`` ...).
        audio_streams: audio streams copied unchanged.
        cuts: scene cuts found (the smoothing restarted there).
        notes: things the user should know (streams left out, out-of-memory fallbacks, a 4:4:4 output, a film
            kept partial).
        complete: False when the film was damaged or cut short and ``keep_partial`` kept the frames before that.
    """

    path: Path
    frames: int
    width: int
    height: int
    rate: Fraction | None
    codec: str
    audio_streams: int
    cuts: int
    notes: list[str] = field(default_factory=list)
    complete: bool = True


class VideoColorizer:
    """Colorizes video files with a :class:`~colorgan.inference.colorizer.Colorizer` (see the module docstring).

    Example::

        colorizer = Colorizer.from_checkpoint("last.ckpt")
        VideoColorizer(colorizer).colorize("film.mp4", "colour/film.mp4")

    Args:
        colorizer: the generator and its settings (size, device): a
            :class:`~colorgan.inference.colorizer.Colorizer`, or any :class:`~colorgan.inference.engine.ColorEngine`;
            photos and videos share it.
        smoothing: temporal smoothing settings; ``None`` or ``Smoothing(strength=0)`` colorizes frame by frame.
        crf: quality of the encoder, lower is better: libx264's constant rate factor (0-51; 18 looks like the
            input, 23 is FFmpeg's default); for ``.webm`` the same number on VP9's 0-63 scale; for the MPEG-4
            fallback (a PyAV without libx264) it is mapped onto its quantiser 2-31.
        preset: libx264's and libx265's speed/size trade-off (``ultrafast`` ... ``veryslow``).
        codec: ``h264`` (libx264, 8-bit 4:2:0: every player), ``hevc`` (libx265, 10-bit 4:2:0), ``prores``
            (ProRes 422 HQ, 10-bit 4:2:2, ``.mov``/``.mkv`` only); ``None``: H.264, or VP9 for ``.webm``. The
            colour is computed from 8-bit RGB whatever the codec; a 10-bit codec spares it a second rounding and
            keeps the film's depth for editing.
        batch_size: frames per generator run; this many decoded frames are held in memory.
        deinterlace: join each interlaced frame's two fields into one progressive picture (FFmpeg's ``yadif``, one
            output frame per input frame) and write a progressive film; otherwise an interlaced film stays
            interlaced, with its field order.
        keep_partial: a film that is damaged or cut short is colorized as far as its frames decode and kept (the
            result says ``complete=False`` and a note says how far it went); otherwise it is refused, before any
            frame is colorized where a read of its packets shows it (see the module docstring).
    """

    def __init__(
        self,
        colorizer: ColorEngine,
        *,
        smoothing: Smoothing | None = None,
        crf: int = DEFAULT_CRF,
        preset: str = DEFAULT_PRESET,
        batch_size: int = DEFAULT_BATCH_SIZE,
        deinterlace: bool = False,
        codec: str | None = None,
        keep_partial: bool = False,
    ) -> None:
        if not 0 <= crf <= 51:
            raise ValueError(f"video crf must be in 0-51 (lower is better quality, 18 looks like the input), got {crf}")
        if batch_size < 1:
            raise ValueError(f"video batch size must be at least 1, got {batch_size}")
        if codec is not None and codec not in VIDEO_CODECS:
            raise ValueError(f"video codec must be one of {', '.join(VIDEO_CODECS)}, got {codec!r}")
        if preset not in X264_PRESETS:  # libx264 would refuse it only when the first film is opened
            raise ValueError(f"video preset must be one of {', '.join(X264_PRESETS)}, got {preset!r}")
        self.colorizer = colorizer
        self.smoothing = Smoothing() if smoothing is None else smoothing
        self.crf = int(crf)
        self.preset = preset
        self.batch_size = int(batch_size)
        self.deinterlace = bool(deinterlace)
        self.codec = codec
        self.keep_partial = bool(keep_partial)

    def colorize(
        self,
        src: str | os.PathLike,
        dst: str | os.PathLike,
        *,
        progress: bool | None = None,
        on_frames: Callable[[int], None] | None = None,
        log_every: float | None = DEFAULT_LOG_EVERY,
    ) -> ColorizedVideo:
        """Colorize the video ``src`` into ``dst`` (replaced if it exists; its suffix picks the container).

        Args:
            src: a video file FFmpeg can read (any container and codec).
            dst: the output, ``.mp4 .m4v .mov .mkv .avi`` (H.264) or ``.webm`` (VP9).
            progress: show a progress bar of frames and time left (``None``: only on a terminal).
            on_frames: called with the number of frames each time a batch is written (for a caller's own bar).
            log_every: with ``progress=None`` and no terminal for the bar (nohup, a job scheduler's log, a
                notebook), a line on stderr every this many seconds with the frames done and the time left;
                ``None`` or 0: never.

        Raises:
            VideoError: not a video, no video stream, a damaged or truncated file (without ``keep_partial``), or an
                unsupported output suffix (the message names the file). Nothing is left at ``dst`` or next to it.
            ImportError: PyAV is not installed (the message says how to install it).
        """
        av = import_av()
        src, dst = Path(src), Path(dst)
        fmt = CONTAINER_FORMATS.get(dst.suffix.lower())
        if fmt is None:
            raise VideoError(
                f"{dst}: cannot write a video with the suffix '{dst.suffix}'; use one of "
                + " ".join(sorted(CONTAINER_FORMATS))
            )
        if self.codec is not None and fmt not in CODEC_CONTAINERS[self.codec]:
            raise VideoError(
                f"{dst}: the codec {self.codec} (--video-codec) cannot go into a '{dst.suffix}' file; write it as "
                f"{output_suffix(dst.suffix, self.codec)} (colorgan-colorize does so itself), or pick another codec"
            )
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.part")
        try:
            result = self._run(av, src, dst, tmp, fmt, progress, on_frames, log_every)
            os.replace(tmp, dst)
            return result
        except av.error.FFmpegError as err:
            raise VideoError(f"{src}: {reason(err)}") from err
        finally:
            tmp.unlink(missing_ok=True)

    # ------------------------------------------------------------ the steps
    def _run(
        self,
        av: ModuleType,
        src: Path,
        dst: Path,
        tmp: Path,
        fmt: str,
        progress: bool | None,
        on_frames: Callable[[int], None] | None,
        log_every: float | None = None,
    ) -> ColorizedVideo:
        from tqdm import tqdm

        try:
            inp = av.open(str(src))
        except (av.error.FFmpegError, OSError) as err:
            raise VideoError(f"{src}: not a video FFmpeg can read ({reason(err)})") from err
        with inp:
            if not inp.streams.video:
                kinds = ", ".join(sorted({s.type for s in inp.streams})) or "nothing"
                raise VideoError(f"{src}: has no video stream (it holds {kinds}); nothing to colorize")
            vin = inp.streams.video[0]
            vin.thread_type = "AUTO"
            audio = list(inp.streams.audio)
            notes = []
            left_out = len(inp.streams) - 1 - len(audio)
            if left_out:
                notes.append(
                    f"{src}: left out {left_out} stream(s) that are neither its first video nor audio (subtitles, "
                    "data, other video); only the picture and the sound are kept"
                )
            width, height = vin.codec_context.width, vin.codec_context.height
            if not width or not height:
                raise VideoError(f"{src}: its video stream has no frame size; the file may be damaged")
            rate = frame_rate(vin)
            expected, estimated = expected_frames(inp, vin, rate)
            # the cheap check, before any frame is colorized: is the whole film in the file?
            found = survey(av, src, vin.index)
            short = shortfall(inp, vin, found)
            complete = short is None
            if short is not None:
                if not self.keep_partial:
                    raise VideoError(
                        f"{src}: damaged or cut short: {short} (found before colorizing); --keep-partial "
                        "(keep_partial=True) colorizes and keeps the frames there are"
                    )
                expected, estimated = found.packets, True
            encoder = choose_encoder(av, fmt, width, height, self.codec, self.crf, self.preset)
            if encoder.note:
                notes.append(f"{src}: {encoder.note}")
            depth = depth_note(av, vin, encoder)
            if depth:
                notes.append(f"{src}: {depth}")
            matrix, turns = orientation(av, src, vin.index)
            if matrix is not None and turns is None:
                notes.append(
                    f"{src}: its display matrix turns the picture by an angle that is not a multiple of 90 degrees; "
                    "it was colorized as stored, and the output keeps the matrix"
                )
            broken: str | None = None
            with av.open(str(tmp), "w", format=fmt) as out:
                out.metadata.update({k: v for k, v in inp.metadata.items() if k.lower() not in _MUXER_KEYS})
                fields = field_order(vin)
                if fields and not self.deinterlace:
                    notes.append(
                        f"{src}: its video is interlaced ({fields}); colorized as whole frames and written "
                        "interlaced with the same field order; --deinterlace writes progressive frames instead"
                    )
                writer = FrameWriter(
                    av, out, vin, encoder, rate, matrix, turns or 0, interlaced=bool(fields) and not self.deinterlace
                )
                deinterlacer = Deinterlacer(av, vin) if self.deinterlace else None
                audio_out = {s.index: out.add_stream_from_template(s) for s in audio}
                for s in audio:  # the template copies the codec, not the tags: a player's language menu needs them
                    copy_tags(s, audio_out[s.index])
                copy_tags(vin, writer.stream)
                smoother = TemporalSmoother(self.smoothing)
                batch: list[Any] = []
                done = 0
                with tqdm(
                    total=expected or None, unit="frame", desc=src.name, dynamic_ncols=True, leave=False,
                    disable=None if progress is None else not progress,
                ) as bar:

                    started = last_line = time.monotonic()

                    def flush() -> None:
                        nonlocal done, last_line
                        self._colorize_batch(batch, writer, smoother, src, done, notes)
                        done += len(batch)
                        bar.update(len(batch))
                        if on_frames is not None:
                            on_frames(len(batch))
                        batch.clear()
                        now = time.monotonic()
                        # progress=None and no terminal: lines instead of a bar; progress=False: silence
                        if progress is None and bar.disable and log_every and now - last_line >= log_every:
                            last_line = now
                            line = progress_line(src.name, done, expected, now - started, estimated)
                            print(line, file=sys.stderr, flush=True)

                    try:
                        for packet in inp.demux(vin, *audio):
                            if packet.stream.type == "audio":
                                if packet.dts is not None:  # the empty packet that ends a stream carries nothing
                                    packet.stream = audio_out[packet.stream.index]
                                    out.mux(packet)
                                continue
                            try:
                                frames = packet.decode()
                            except av.error.FFmpegError as err:
                                broken = f"the video cannot be decoded after frame {done + len(batch)} ({reason(err)})"
                                if not self.keep_partial:
                                    raise VideoError(
                                        f"{src}: damaged or cut short: {broken}; --keep-partial (keep_partial=True) "
                                        "keeps the frames before it"
                                    ) from err
                                break
                            for frame in deinterlacer.filter(frames) if deinterlacer else frames:
                                batch.append(frame)
                                if len(batch) == self.batch_size:
                                    flush()
                        for frame in deinterlacer.filter(None) if deinterlacer else ():  # yadif holds the last one
                            batch.append(frame)
                            if len(batch) == self.batch_size:
                                flush()
                        if batch:
                            flush()
                    except av.error.FFmpegError as err:  # reading the packets failed part-way
                        if not self.keep_partial or done == 0:
                            raise
                        broken = f"its packets cannot be read after frame {done} ({reason(err)})"
                writer.finish()
            if done == 0:
                raise VideoError(f"{src}: no frame of its video stream could be decoded; the file may be damaged")
            if broken is None and vin.frames and vin.frames - done > max(2, vin.frames // 100):
                broken = f"its index lists {vin.frames} frames, but only {done} could be decoded"
                if not self.keep_partial:
                    raise VideoError(f"{src}: damaged or cut short: {broken}; --keep-partial keeps what decodes")
            if broken is not None or short is not None:
                complete = False
                notes.append(
                    f"{src}: damaged or cut short ({short or broken}); kept the {done} frame(s) that decode "
                    "(--keep-partial)"
                )
        return ColorizedVideo(
            dst, done, width, height, rate, encoder.codec, len(audio), smoother.cuts, summarise(notes), complete
        )

    def _colorize_batch(
        self, frames: Sequence[Any], writer: FrameWriter, smoother: TemporalSmoother, src: Path, first: int,
        notes: list[str],
    ) -> None:
        """Colorize decoded ``frames`` (numbered from ``first``) in one generator run, smooth them in order and
        encode them."""
        colorizer = self.colorizer
        pixels = torch.stack([torch.from_numpy(writer.to_rgb(f)).permute(2, 0, 1) for f in frames])  # (B, 3, H, W)
        if writer.turns:  # a phone's sideways frames: the generator learned upright photos
            pixels = torch.rot90(pixels, writer.turns, dims=(2, 3)).contiguous()
        with torch.inference_mode():
            squares, box = colorizer.model_input(pixels)
            names = [f"{src} frame {first + i}" for i in range(len(frames))]
            predictions = colorizer.predict_squares(squares, names)
            for i, (frame, (ab, frame_notes)) in enumerate(zip(frames, predictions)):
                if ab is None:
                    raise VideoError(frame_notes[-1] if frame_notes else f"{names[i]}: the generator failed")
                ab = crop(ab, box)
                ab = smoother(crop(squares[i], box), ab)  # with strength 0 it only counts the cuts
                rgb = colorizer.join(pixels[i], ab, names[i], frame_notes)
                notes.extend(frame_notes)
                if writer.turns:  # back to the stored orientation, which the output's display matrix turns again
                    rgb = torch.rot90(rgb, -writer.turns, dims=(0, 1)).contiguous()
                writer.write(rgb.numpy(), frame)


def progress_line(name: str, done: int, expected: int, seconds: float, estimated: bool = False) -> str:
    """``film.mp4: 1200 of 5400 frames (22%), 3.1 frames/s, 23 min left`` (``of about 5400`` where the total is
    estimated from the duration; without the total where it is unknown)."""
    rate = done / seconds if seconds > 0 else 0.0
    if not expected:
        return f"{name}: {done} frames ({rate:.1f} frames/s, total not known)"
    expected = max(expected, done)  # an estimate can fall short by a frame or two
    left = (expected - done) / rate if rate else float("inf")
    when = f"{left / 3600:.1f} h" if left >= 5400 else f"{left / 60:.0f} min" if left >= 90 else f"{left:.0f} s"
    total = f"about {expected}" if estimated else f"{expected}"
    return f"{name}: {done} of {total} frames ({100 * done / expected:.0f}%), {rate:.1f} frames/s, {when} left"


def summarise(notes: list[str], keep: int = 3) -> list[str]:
    """At most ``keep`` notes, and how many more there were (one per frame can add up over a film)."""
    unique = list(dict.fromkeys(notes))
    if len(unique) <= keep:
        return unique
    return unique[:keep] + [f"... and {len(unique) - keep} more like these"]
