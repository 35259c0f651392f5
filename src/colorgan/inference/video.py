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

Only ``batch_size`` frames are ever held at once, and nothing is written but the output, through a hidden
temporary file next to it that is renamed when the film is complete: an interrupted run leaves no half-written
film under the final name.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import torch

from colorgan.inference.letterbox import crop
from colorgan.inference.temporal import Smoothing, TemporalSmoother

if TYPE_CHECKING:
    from colorgan.inference.colorizer import Colorizer

log = logging.getLogger(__name__)

VIDEO_EXTRA = 'pip install "colorgan[video]"'
DEFAULT_CRF = 18
DEFAULT_PRESET = "medium"
DEFAULT_BATCH_SIZE = 8
DEFAULT_LOG_EVERY = 60.0  # seconds between progress lines when there is no terminal for a bar
# libx264's presets, fastest first (colorgan.colorize holds the same for --help)
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"
)

# The container FFmpeg writes for each output suffix (the output keeps the input's suffix where it can).
CONTAINER_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}
# The codecs --video-codec offers, and the containers that hold each (FFmpeg refuses the others): H.264 for every
# player; HEVC 10-bit 4:2:0 (smaller, keeps a 10-bit film 10-bit); ProRes 422 HQ 10-bit for editing.
VIDEO_CODECS = ("h264", "hevc", "prores")
CODEC_CONTAINERS = {
    "h264": {"mp4", "mov", "matroska", "avi"},
    "hevc": {"mp4", "mov", "matroska"},
    "prores": {"mov", "matroska"},
    "vp9": {"webm"},
}


def output_suffix(source_suffix: str, codec: str | None = None) -> str:
    """The suffix of a colorized film: the input's (lower case) where colorgan writes that container with ``codec``
    (``None``: H.264, VP9 for ``.webm``), else ``.mov`` for ProRes and ``.mkv`` (Matroska holds every codec and
    any sound as it is) for the rest."""
    suffix = source_suffix.lower()
    fmt = CONTAINER_FORMATS.get(suffix)
    if fmt is not None and (codec is None or fmt in CODEC_CONTAINERS[codec]):
        return suffix
    return ".mov" if codec == "prores" else ".mkv"

# FFmpeg's AVColorSpace numbers of the frames and streams, and swscale's matrix for each (FFmpeg's names).
_AVCOL_SPC_BT709, _AVCOL_SPC_SMPTE170M = 1, 6
_AVCOL_PRI_BT709, _AVCOL_PRI_SMPTE170M = 1, 6
_AVCOL_TRC_BT709, _AVCOL_TRC_SMPTE170M = 1, 6
_AVCOL_RANGE_MPEG, _AVCOL_RANGE_JPEG = 1, 2
_SWS_MATRIX = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "ITU601", 7: "SMPTE240M", 9: "BT2020", 10: "BT2020"}


class VideoError(Exception):
    """A video that cannot be colorized; the message names the file and says why."""


def video_support() -> bool:
    """Whether PyAV (the ``video`` extra) is installed, without importing it."""
    return importlib.util.find_spec("av") is not None


def import_av() -> ModuleType:
    """PyAV, or an :class:`ImportError` that says how to install it."""
    try:
        import av
    except ImportError as err:
        raise ImportError(f"colorizing videos needs PyAV, which is not installed: {VIDEO_EXTRA}") from err
    return av


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
        notes: things the user should know (streams left out, out-of-memory fallbacks, a 4:4:4 output).
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


@dataclass(frozen=True)
class _Encoder:
    codec: str
    pix_fmt: str
    options: dict[str, str]
    note: str | None = None
    tag: str | None = None  # the codec tag (fourcc) to write, where the container's default is not the usual one


class VideoColorizer:
    """Colorizes video files with a :class:`~colorgan.inference.colorizer.Colorizer` (see the module docstring).

    Example::

        colorizer = Colorizer.from_checkpoint("last.ckpt")
        VideoColorizer(colorizer).colorize("film.mp4", "colour/film.mp4")

    Args:
        colorizer: the generator and its settings (size, device); photos and videos share it.
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
    """

    def __init__(
        self,
        colorizer: Colorizer,
        *,
        smoothing: Smoothing | None = None,
        crf: int = DEFAULT_CRF,
        preset: str = DEFAULT_PRESET,
        batch_size: int = DEFAULT_BATCH_SIZE,
        deinterlace: bool = False,
        codec: str | None = None,
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
            VideoError: not a video, no video stream, a damaged or truncated file, or an unsupported output suffix
                (the message names the file). Nothing is left at ``dst`` or next to it.
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
            raise VideoError(f"{src}: {_reason(err)}") from err
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
            raise VideoError(f"{src}: not a video FFmpeg can read ({_reason(err)})") from err
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
            rate = vin.average_rate or vin.guessed_rate
            encoder = self._encoder(av, fmt, width, height)
            if encoder.note:
                notes.append(f"{src}: {encoder.note}")
            depth = _depth_note(av, vin, encoder)
            if depth:
                notes.append(f"{src}: {depth}")
            matrix, turns = _orientation(av, src, vin.index)
            if matrix is not None and turns is None:
                notes.append(
                    f"{src}: its display matrix turns the picture by an angle that is not a multiple of 90 degrees; "
                    "it was colorized as stored, and the output keeps the matrix"
                )
            expected = vin.frames or (
                int(round(float(vin.duration * vin.time_base) * float(rate))) if vin.duration and rate else 0
            )
            with av.open(str(tmp), "w", format=fmt) as out:
                out.metadata.update({k: v for k, v in inp.metadata.items() if k.lower() not in _MUXER_KEYS})
                fields = _field_order(vin)
                if fields and not self.deinterlace:
                    notes.append(
                        f"{src}: its video is interlaced ({fields}); colorized as whole frames and written "
                        "interlaced with the same field order; --deinterlace writes progressive frames instead"
                    )
                writer = _FrameWriter(
                    av, out, vin, encoder, rate, matrix, turns or 0, interlaced=bool(fields) and not self.deinterlace
                )
                deinterlacer = _Deinterlacer(av, vin) if self.deinterlace else None
                audio_out = {s.index: out.add_stream_from_template(s) for s in audio}
                for s in audio:  # the template copies the codec, not the tags: a player's language menu needs them
                    _copy_tags(s, audio_out[s.index])
                _copy_tags(vin, writer.stream)
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
                            print(_progress_line(src.name, done, expected, now - started), file=sys.stderr, flush=True)

                    for packet in inp.demux(vin, *audio):
                        if packet.stream.type == "audio":
                            if packet.dts is not None:  # the empty packet that ends a stream carries nothing
                                packet.stream = audio_out[packet.stream.index]
                                out.mux(packet)
                            continue
                        try:
                            frames = packet.decode()
                        except av.error.FFmpegError as err:
                            raise VideoError(
                                f"{src}: damaged or cut short: the video cannot be decoded after frame "
                                f"{done + len(batch)} ({_reason(err)})"
                            ) from err
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
                writer.finish()
            if done == 0:
                raise VideoError(f"{src}: no frame of its video stream could be decoded; the file may be damaged")
            if vin.frames and vin.frames - done > max(2, vin.frames // 100):
                raise VideoError(
                    f"{src}: damaged or cut short: its index lists {vin.frames} frames, but only {done} could be "
                    "decoded"
                )
        return ColorizedVideo(
            dst, done, width, height, Fraction(rate) if rate else None, encoder.codec, len(audio), smoother.cuts,
            _summarise(notes),
        )

    def _colorize_batch(
        self, frames: Sequence[Any], writer: _FrameWriter, smoother: TemporalSmoother, src: Path, first: int,
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

    def _encoder(self, av: ModuleType, fmt: str, width: int, height: int) -> _Encoder:
        """The best encoder this PyAV has for the codec and container, with the quality settings."""
        odd = width % 2 or height % 2
        odd_note = (
            f"its size {width}x{height} is odd, which 4:2:0 and 4:2:2 cannot hold: written as 4:4:4, which some "
            "players (browsers, phones) do not play; crop it to an even size for those"
            if odd else None
        )
        if self.codec == "hevc":
            candidates = [
                _Encoder(
                    "libx265", "yuv444p10le" if odd else "yuv420p10le",
                    {"crf": str(self.crf), "preset": self.preset, "x265-params": "log-level=error"}, odd_note,
                    tag="hvc1" if fmt in ("mp4", "mov") else None,  # the tag Apple's players look for
                ),
            ]
        elif self.codec == "prores":
            candidates = [  # profile 3 is 422 HQ; 4 is 4444, for odd widths
                _Encoder("prores_ks", "yuv444p10le" if odd else "yuv422p10le", {"profile": "4" if odd else "3"}),
            ]
        elif fmt == "webm":
            candidates = [
                _Encoder("libvpx-vp9", "yuv420p", {"crf": str(round(self.crf * 63 / 51)), "b": "0", "row-mt": "1"}),
                _Encoder("libvpx", "yuv420p", {"crf": str(max(4, round(self.crf * 63 / 51))), "b": "10M"}),
            ]
        else:
            qscale = str(round(2 + self.crf * 29 / 51))
            candidates = [
                _Encoder("libx264", "yuv444p" if odd else "yuv420p", {"crf": str(self.crf), "preset": self.preset},
                         odd_note),
                _Encoder("mpeg4", "yuv420p", {"qscale": qscale}, "this PyAV has no H.264 encoder: written as MPEG-4"),
            ]
        for enc in candidates:
            try:
                av.codec.Codec(enc.codec, "w")
            except (av.error.FFmpegError, ValueError):
                continue
            return enc
        names = ", ".join(e.codec for e in candidates)
        raise VideoError(f"this PyAV (FFmpeg) build has none of the encoders {names}; reinstall it: {VIDEO_EXTRA}")


def _sampling(av: ModuleType, pix_fmt: str | None) -> tuple[int, str] | None:
    """Bits per sample and chroma subsampling (``4:2:0`` ...) of a YUV pixel format; ``None`` for other formats."""
    try:
        f = av.VideoFormat(pix_fmt, 64, 64)
    except (ValueError, TypeError, av.error.FFmpegError):
        return None
    if f.is_rgb or len(f.components) < 3:
        return None
    cw, ch = f.chroma_width(), f.chroma_height()
    chroma = {(64, 64): "4:4:4", (32, 64): "4:2:2", (32, 32): "4:2:0", (16, 64): "4:1:1"}.get((cw, ch), f"{cw}x{ch}")
    return max(c.bits for c in f.components), chroma


def _depth_note(av: ModuleType, vin: Any, encoder: _Encoder) -> str | None:
    """A note when the film holds more than its output will: more bits or more chroma than the encoder's format."""
    have, get = _sampling(av, vin.codec_context.pix_fmt), _sampling(av, encoder.pix_fmt)
    if have is None or get is None:
        return None
    rank = {"4:1:1": 0, "4:2:0": 0, "4:2:2": 1, "4:4:4": 2}
    if have[0] <= get[0] and rank.get(have[1], 0) <= rank.get(get[1], 0):
        return None
    name = {"libx264": "H.264", "libx265": "HEVC", "prores_ks": "ProRes", "libvpx-vp9": "VP9"}.get(
        encoder.codec, encoder.codec
    )
    return (
        f"its video is {have[0]}-bit {have[1]} ({vin.codec_context.name}, {vin.codec_context.pix_fmt}); written as "
        f"{get[0]}-bit {get[1]} {name}, which every player plays; --video-codec hevc keeps 10 bits (4:2:0), "
        "--video-codec prores keeps 10-bit 4:2:2 for editing"
    )


_MUXER_KEYS = {"encoder", "major_brand", "minor_version", "compatible_brands", "creation_time"}
# Stream tags that describe the old encoding and would be wrong on the new one (Matroska's statistics tags).
_STALE_STREAM_KEYS = ("encoder", "duration", "bps", "number_of_frames", "number_of_bytes", "_statistics")


def _copy_tags(src: Any, dst: Any) -> None:
    """A stream's language, title, handler name and disposition (default, forced, commentary ...) onto its copy."""
    dst.metadata.update({k: v for k, v in src.metadata.items() if not k.lower().startswith(_STALE_STREAM_KEYS)})
    dst.disposition = src.disposition


class _FrameWriter:
    """Decoded frames -> RGB, and colour RGB -> encoded frames with the input's timestamps and colour matrix."""

    def __init__(
        self, av: ModuleType, out: Any, vin: Any, encoder: _Encoder, rate: Fraction | None,
        matrix: Sequence[int] | None = None, turns: int = 0, interlaced: bool = False,
    ) -> None:
        from av.video.reformatter import Colorspace

        self.av, self.out = av, out
        cc_in = vin.codec_context
        self.width, self.height = cc_in.width, cc_in.height
        # The matrix players use for this film: its tag, else BT.709 for HD and BT.601 below (FFmpeg's and
        # players' convention for untagged video).
        space = cc_in.colorspace if cc_in.colorspace in _SWS_MATRIX else (
            _AVCOL_SPC_BT709 if self.height > 576 else _AVCOL_SPC_SMPTE170M
        )
        self.space = space
        self.matrix = getattr(Colorspace, _SWS_MATRIX[space])
        self.rate = Fraction(rate or 25)
        self.stream = out.add_stream(encoder.codec, rate=self.rate)
        cc = self.stream.codec_context
        self.stream.width, self.stream.height, self.stream.pix_fmt = self.width, self.height, encoder.pix_fmt
        self.stream.options = dict(encoder.options)
        if encoder.tag:
            cc.codec_tag = encoder.tag
        self.turns = turns  # quarter turns counterclockwise from the stored frames to the upright picture
        if matrix is not None:  # the frames are written as stored, so players turn them as they turned the input
            self.stream.set_display_matrix(list(matrix))
        self.time_base = vin.time_base or 1 / self.rate
        self.stream.time_base = self.time_base
        cc.time_base = self.time_base
        if cc_in.sample_aspect_ratio:
            cc.sample_aspect_ratio = cc_in.sample_aspect_ratio
        cc.colorspace = space
        cc.color_range = _AVCOL_RANGE_MPEG
        hd = space == _AVCOL_SPC_BT709
        cc.color_primaries = cc_in.color_primaries if cc_in.color_primaries not in (0, 2) else (
            _AVCOL_PRI_BT709 if hd else _AVCOL_PRI_SMPTE170M
        )
        cc.color_trc = cc_in.color_trc if cc_in.color_trc not in (0, 2) else (
            _AVCOL_TRC_BT709 if hd else _AVCOL_TRC_SMPTE170M
        )
        self.pix_fmt = encoder.pix_fmt
        # An interlaced film stays so: the encoder codes fields (x264's interlaced mode) in the input's order, and
        # each frame is flagged with it (setfield), which is what x264 reads the order from.
        self._fields = None
        if interlaced:
            from av.codec.context import Flags

            cc.flags |= Flags.interlaced_dct
            cc.field_order = cc_in.field_order
            top_first = cc_in.field_order in (_AV_FIELD_TT, _AV_FIELD_BT)
            self._fields = _filter_chain(
                av, dict(width=self.width, height=self.height, format=self.pix_fmt, time_base=self.time_base),
                [("setfield", "tff" if top_first else "bff")],
            )
        else:
            cc.field_order = _AV_FIELD_PROGRESSIVE
        self._last_pts: int | None = None
        self._count = 0

    def to_rgb(self, frame: Any) -> Any:
        """A decoded frame as uint8 RGB ``(H, W, 3)`` at the film's size, through the film's matrix and range."""
        rng = frame.color_range if frame.color_range in (_AVCOL_RANGE_MPEG, _AVCOL_RANGE_JPEG) else None
        return frame.reformat(
            width=self.width, height=self.height, format="rgb24", src_colorspace=self.matrix,
            src_color_range=rng,
        ).to_ndarray()

    def write(self, rgb: Any, source: Any) -> None:
        """Encode uint8 RGB ``(H, W, 3)`` with the timestamp of the decoded frame ``source``."""
        frame = self.av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
            format=self.pix_fmt, dst_colorspace=self.matrix, dst_color_range=_AVCOL_RANGE_MPEG,
        )
        pts = source.pts
        if pts is not None and source.time_base is not None and source.time_base != self.time_base:
            pts = int(round(pts * source.time_base / self.time_base))
        if pts is None:  # a container without timestamps: count frames
            pts = int(round(self._count / (self.rate * self.time_base)))
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1  # the encoder needs rising timestamps; damaged files repeat some
        frame.pts, frame.time_base = pts, self.time_base
        self._last_pts = pts
        self._count += 1
        if self._fields is not None:
            self._fields.push(frame)
            frame = self._fields.pull()
        for packet in self.stream.encode(frame):
            self.out.mux(packet)

    def finish(self) -> None:
        for packet in self.stream.encode(None):
            self.out.mux(packet)


_AV_FIELD_PROGRESSIVE, _AV_FIELD_TT, _AV_FIELD_BB, _AV_FIELD_TB, _AV_FIELD_BT = 1, 2, 3, 4, 5
_FIELD_ORDERS = {
    _AV_FIELD_TT: "top field first",
    _AV_FIELD_BB: "bottom field first",
    _AV_FIELD_TB: "top field coded first, bottom shown first",
    _AV_FIELD_BT: "bottom field coded first, top shown first",
}


def _field_order(vin: Any) -> str | None:
    """The interlacing of a video stream in words (``top field first`` ...), ``None`` for progressive or unknown."""
    return _FIELD_ORDERS.get(vin.codec_context.field_order)


def _filter_chain(av: ModuleType, buffer: dict[str, Any], filters: list[tuple[str, str]]) -> Any:
    """An FFmpeg filter graph: a buffer source (``template=`` a stream, or the frame size, format and time base),
    the ``filters`` in a row, a sink."""
    graph = av.filter.Graph()
    chain = [graph.add_buffer(**buffer), *(graph.add(name, args) for name, args in filters), graph.add("buffersink")]
    for a, b in zip(chain, chain[1:]):
        a.link_to(b)
    graph.configure()
    return graph


class _Deinterlacer:
    """FFmpeg's ``yadif`` on decoded frames: each frame's two fields become one progressive picture, one output frame
    per input frame with its timestamp (``send_frame``), field order from each frame's flags (``parity=auto``),
    every frame (``deint=all``: some captures are interlaced without saying so)."""

    def __init__(self, av: ModuleType, vin: Any) -> None:
        self.av = av
        self.graph = _filter_chain(av, {"template": vin}, [("yadif", "mode=send_frame:parity=auto:deint=all")])

    def filter(self, frames: Sequence[Any] | None) -> list[Any]:
        """The deinterlaced frames ready after ``frames`` (``None``: the end of the film, the last ones)."""
        for frame in [None] if frames is None else frames:
            self.graph.push(frame)
        ready = []
        while True:
            try:
                ready.append(self.graph.pull())
            except (self.av.error.BlockingIOError, self.av.error.EOFError):
                return ready


def _orientation(av: ModuleType, src: Path, index: int) -> tuple[tuple[int, ...] | None, int | None]:
    """The display matrix of the film's video (a phone's rotation) and how many quarter turns counterclockwise
    make its stored frames upright (``None`` for an angle that is not a multiple of 90 degrees).

    FFmpeg hands the stream's matrix to every decoded frame as side data, so the first frame tells; a film that
    cannot be decoded is reported by the main pass, so here it simply has no matrix.
    """
    import struct

    from av.sidedata.sidedata import Type

    try:
        with av.open(str(src)) as probe:
            for frame in probe.decode(probe.streams[index]):
                data = frame.side_data.get(Type.DISPLAYMATRIX)
                if data is None:
                    return None, 0
                matrix = struct.unpack("<9i", bytes(data))
                degrees = frame.rotation  # counterclockwise, as av_display_rotation_get says
                return matrix, (round(degrees / 90) % 4 if degrees % 90 == 0 else None)
    except (av.error.FFmpegError, OSError, StopIteration):
        pass
    return None, 0


def _progress_line(name: str, done: int, expected: int, seconds: float) -> str:
    """``film.mp4: 1200 of 5400 frames (22%), 3.1 frames/s, 23 min left`` (without the total where it is unknown)."""
    rate = done / seconds if seconds > 0 else 0.0
    if not expected:
        return f"{name}: {done} frames ({rate:.1f} frames/s, total not known)"
    left = max(expected - done, 0) / rate if rate else float("inf")
    when = f"{left / 3600:.1f} h" if left >= 5400 else f"{left / 60:.0f} min" if left >= 90 else f"{left:.0f} s"
    return f"{name}: {done} of {expected} frames ({100 * done / expected:.0f}%), {rate:.1f} frames/s, {when} left"


def _reason(err: BaseException) -> str:
    """FFmpeg's words for an error, without the errno noise."""
    text = getattr(err, "strerror", None) or str(err)
    return text[0].lower() + text[1:] if text else type(err).__name__


def _summarise(notes: list[str], keep: int = 3) -> list[str]:
    """At most ``keep`` notes, and how many more there were (one per frame can add up over a film)."""
    unique = list(dict.fromkeys(notes))
    if len(unique) <= keep:
        return unique
    return unique[:keep] + [f"... and {len(unique) - keep} more like these"]
