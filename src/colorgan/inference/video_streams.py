"""Film containers and streams, the reading side of colorizing films: which containers and codecs colorgan
writes, what a film's video stream says about itself (frame rate, length, field order, rotation), whether the file
holds all of it, and the filters that act on decoded frames.

Needs PyAV (``pip install "colorgan[video]"``), imported only when a film is opened.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

VIDEO_EXTRA = 'pip install "colorgan[video]"'

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


AV_FIELD_PROGRESSIVE, AV_FIELD_TT, AV_FIELD_BB, AV_FIELD_TB, AV_FIELD_BT = 1, 2, 3, 4, 5
_FIELD_ORDERS = {
    AV_FIELD_TT: "top field first",
    AV_FIELD_BB: "bottom field first",
    AV_FIELD_TB: "top field coded first, bottom shown first",
    AV_FIELD_BT: "bottom field coded first, top shown first",
}


def field_order(vin: Any) -> str | None:
    """The interlacing of a video stream in words (``top field first`` ...), ``None`` for progressive or unknown."""
    return _FIELD_ORDERS.get(vin.codec_context.field_order)


def filter_chain(av: ModuleType, buffer: dict[str, Any], filters: list[tuple[str, str]]) -> Any:
    """An FFmpeg filter graph: a buffer source (``template=`` a stream, or the frame size, format and time base),
    the ``filters`` in a row, a sink."""
    graph = av.filter.Graph()
    chain = [graph.add_buffer(**buffer), *(graph.add(name, args) for name, args in filters), graph.add("buffersink")]
    for a, b in zip(chain, chain[1:]):
        a.link_to(b)
    graph.configure()
    return graph


class Deinterlacer:
    """FFmpeg's ``yadif`` on decoded frames: each frame's two fields become one progressive picture, one output frame
    per input frame with its timestamp (``send_frame``), field order from each frame's flags (``parity=auto``),
    every frame (``deint=all``: some captures are interlaced without saying so)."""

    def __init__(self, av: ModuleType, vin: Any) -> None:
        self.av = av
        self.graph = filter_chain(av, {"template": vin}, [("yadif", "mode=send_frame:parity=auto:deint=all")])

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


def orientation(av: ModuleType, src: Path, index: int) -> tuple[tuple[int, ...] | None, int | None]:
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


MUXER_KEYS = {"encoder", "major_brand", "minor_version", "compatible_brands", "creation_time"}
# Stream tags that describe the old encoding and would be wrong on the new one (Matroska's statistics tags).
_STALE_STREAM_KEYS = ("encoder", "duration", "bps", "number_of_frames", "number_of_bytes", "_statistics")


def copy_tags(src: Any, dst: Any) -> None:
    """A stream's language, title, handler name and disposition (default, forced, commentary ...) onto its copy."""
    dst.metadata.update({k: v for k, v in src.metadata.items() if not k.lower().startswith(_STALE_STREAM_KEYS)})
    dst.disposition = src.disposition


# The highest frame rate taken at its word; above it a stream's "average rate" is its time base (DV says 60000).
MAX_FRAME_RATE = 1000


def frame_rate(vin: Any) -> Fraction | None:
    """The frame rate of a video stream: its average rate, unless that is missing or no frame rate at all (a DV
    file's is its time base, 60000), then FFmpeg's guess from the codec and the timestamps; ``None`` if nothing
    says."""
    for rate in (vin.average_rate, vin.guessed_rate, vin.base_rate):
        if rate and 0 < rate <= MAX_FRAME_RATE:
            return Fraction(rate)
    return None


def film_duration(inp: Any, vin: Any) -> float | None:
    """The length of the video stream in seconds: the stream's own, else the container's (a Matroska stream has
    none of its own); ``None`` if neither says."""
    if vin.duration and vin.time_base:
        return float(vin.duration * vin.time_base)
    if inp.duration:
        return inp.duration / 1_000_000  # AV_TIME_BASE
    return None


def expected_frames(inp: Any, vin: Any, rate: Fraction | None) -> tuple[int, bool]:
    """How many frames the film should have, and whether that is an estimate: the index's count where the
    container keeps one (MP4, MOV, AVI), else the duration times the frame rate (Matroska, MPEG, DV); ``(0, True)``
    when neither is known."""
    if vin.frames:
        return int(vin.frames), False
    seconds = film_duration(inp, vin)
    if seconds and rate:
        return max(1, int(round(seconds * float(rate)))), True
    return 0, True


# Containers whose header declares the film's length (written when the film was finished): a copy cut short ends
# before it. FFmpeg measures the others (MPEG, transport streams, DV) from the file itself.
_DECLARED_LENGTH = {"matroska", "webm", "mov", "mp4", "asf", "avi", "flv"}


@dataclass
class Survey:
    """What one read of a film's packets (no decoding) found: see :func:`survey`."""

    packets: int  # whole video packets
    end: float | None  # seconds where the last packet of any stream ends
    error: str | None = None  # why reading stopped early


def survey(av: ModuleType, src: Path, index: int) -> Survey:
    """Read every packet of the film once without decoding it (one read of the file at disk speed, a small part of
    what colorizing takes): count the whole packets of video stream ``index`` and find where the last packet of any
    stream ends."""
    packets, end, error = 0, None, None
    with av.open(str(src)) as probe:
        try:
            for packet in probe.demux():
                if not packet.size or packet.is_corrupt:
                    continue
                if packet.stream.index == index:
                    packets += 1
                if packet.pts is not None and packet.time_base:
                    stop = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                    end = stop if end is None else max(end, stop)
        except av.error.FFmpegError as err:
            error = f"its packets cannot be read after video packet {packets} ({reason(err)})"
    return Survey(packets, end, error)


def shortfall(inp: Any, vin: Any, found: Survey) -> str | None:
    """Why the film is not all there, from its :func:`survey` (``None`` when nothing shows): packets that cannot be
    read, fewer video packets than its index lists, or packets that stop well before its declared length."""
    if found.error:
        return found.error
    if vin.frames and vin.frames - found.packets > max(2, vin.frames // 100):
        return f"its index lists {vin.frames} frames, but the file holds only {found.packets}"
    declared = inp.duration / 1_000_000 if inp.duration else None
    if declared and found.end is not None and set(inp.format.name.split(",")) & _DECLARED_LENGTH:
        start = inp.start_time / 1_000_000 if inp.start_time else 0.0
        if declared - (found.end - start) > max(1.0, 0.01 * declared):
            return f"it says it lasts {declared:.1f} s, but its packets stop at {found.end - start:.1f} s"
    return None


def reason(err: BaseException) -> str:
    """FFmpeg's words for an error, without the errno noise."""
    text = getattr(err, "strerror", None) or str(err)
    return text[0].lower() + text[1:] if text else type(err).__name__
