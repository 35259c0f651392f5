"""The writing side of colorizing films: which encoder writes a colorized film (H.264, HEVC, ProRes, VP9, and what
each PyAV build has), and :class:`FrameWriter`, which turns decoded frames into RGB and colour RGB back into encoded
frames with the input's timestamps, colour matrix, rotation and field order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import ModuleType
from typing import Any

from colorgan.inference.video_streams import (
    AV_FIELD_BT,
    AV_FIELD_PROGRESSIVE,
    AV_FIELD_TT,
    VIDEO_EXTRA,
    VideoError,
    filter_chain,
)

DEFAULT_CRF = 18
DEFAULT_PRESET = "medium"
# libx264's presets, fastest first (colorgan.colorize holds the same for --help)
X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)


# FFmpeg's AVColorSpace numbers of the frames and streams, and swscale's matrix for each (FFmpeg's names).
_AVCOL_SPC_BT709, _AVCOL_SPC_SMPTE170M = 1, 6
_AVCOL_PRI_BT709, _AVCOL_PRI_SMPTE170M = 1, 6
_AVCOL_TRC_BT709, _AVCOL_TRC_SMPTE170M = 1, 6
_AVCOL_RANGE_MPEG, _AVCOL_RANGE_JPEG = 1, 2
SWS_MATRIX = {1: "ITU709", 4: "FCC", 5: "ITU601", 6: "ITU601", 7: "SMPTE240M", 9: "BT2020", 10: "BT2020"}


@dataclass(frozen=True)
class Encoder:
    """An FFmpeg encoder with the pixel format and options to write a film with."""

    codec: str
    pix_fmt: str
    options: dict[str, str]
    note: str | None = None
    tag: str | None = None  # the codec tag (fourcc) to write, where the container's default is not the usual one


def choose_encoder(
    av: ModuleType, fmt: str, width: int, height: int, codec: str | None, crf: int, preset: str
) -> Encoder:
    """The best encoder this PyAV has for ``codec`` (``None``: H.264, VP9 for WebM) in the container ``fmt``, with
    the quality settings (``crf``, ``preset``: see :class:`~colorgan.inference.video.VideoColorizer`)."""
    odd = width % 2 or height % 2
    odd_note = (
        f"its size {width}x{height} is odd, which 4:2:0 and 4:2:2 cannot hold: written as 4:4:4, which some "
        "players (browsers, phones) do not play; crop it to an even size for those"
        if odd
        else None
    )
    if codec == "hevc":
        candidates = [
            Encoder(
                "libx265",
                "yuv444p10le" if odd else "yuv420p10le",
                {"crf": str(crf), "preset": preset, "x265-params": "log-level=error"},
                odd_note,
                tag="hvc1" if fmt in ("mp4", "mov") else None,  # the tag Apple's players look for
            ),
        ]
    elif codec == "prores":
        candidates = [  # profile 3 is 422 HQ; 4 is 4444, for odd widths
            Encoder("prores_ks", "yuv444p10le" if odd else "yuv422p10le", {"profile": "4" if odd else "3"}),
        ]
    elif fmt == "webm":
        candidates = [
            Encoder("libvpx-vp9", "yuv420p", {"crf": str(round(crf * 63 / 51)), "b": "0", "row-mt": "1"}),
            Encoder("libvpx", "yuv420p", {"crf": str(max(4, round(crf * 63 / 51))), "b": "10M"}),
        ]
    else:
        qscale = str(round(2 + crf * 29 / 51))
        candidates = [
            Encoder("libx264", "yuv444p" if odd else "yuv420p", {"crf": str(crf), "preset": preset}, odd_note),
            Encoder("mpeg4", "yuv420p", {"qscale": qscale}, "this PyAV has no H.264 encoder: written as MPEG-4"),
        ]
    for enc in candidates:
        try:
            av.codec.Codec(enc.codec, "w")
        except (av.error.FFmpegError, ValueError):
            continue
        return enc
    names = ", ".join(e.codec for e in candidates)
    raise VideoError(f"this PyAV (FFmpeg) build has none of the encoders {names}; reinstall it: {VIDEO_EXTRA}")


def sampling(av: ModuleType, pix_fmt: str | None) -> tuple[int, str] | None:
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


def depth_note(av: ModuleType, vin: Any, encoder: Encoder) -> str | None:
    """A note when the film holds more than its output will: more bits or more chroma than the encoder's format."""
    have, get = sampling(av, vin.codec_context.pix_fmt), sampling(av, encoder.pix_fmt)
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


class FrameWriter:
    """Decoded frames -> RGB, and colour RGB -> encoded frames with the input's timestamps and colour matrix."""

    def __init__(
        self,
        av: ModuleType,
        out: Any,
        vin: Any,
        encoder: Encoder,
        rate: Fraction | None,
        matrix: Sequence[int] | None = None,
        turns: int = 0,
        interlaced: bool = False,
    ) -> None:
        from av.video.reformatter import Colorspace

        self.av, self.out = av, out
        cc_in = vin.codec_context
        self.width, self.height = cc_in.width, cc_in.height
        # The matrix players use for this film: its tag, else BT.709 for HD and BT.601 below (FFmpeg's and
        # players' convention for untagged video).
        space = (
            cc_in.colorspace
            if cc_in.colorspace in SWS_MATRIX
            else (_AVCOL_SPC_BT709 if self.height > 576 else _AVCOL_SPC_SMPTE170M)
        )
        self.space = space
        self.matrix = getattr(Colorspace, SWS_MATRIX[space])
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
        cc.color_primaries = (
            cc_in.color_primaries
            if cc_in.color_primaries not in (0, 2)
            else (_AVCOL_PRI_BT709 if hd else _AVCOL_PRI_SMPTE170M)
        )
        cc.color_trc = (
            cc_in.color_trc if cc_in.color_trc not in (0, 2) else (_AVCOL_TRC_BT709 if hd else _AVCOL_TRC_SMPTE170M)
        )
        self.pix_fmt = encoder.pix_fmt
        # An interlaced film stays so: the encoder codes fields (x264's interlaced mode) in the input's order, and
        # each frame is flagged with it (setfield), which is what x264 reads the order from.
        self._fields = None
        if interlaced:
            from av.codec.context import Flags

            cc.flags |= Flags.interlaced_dct
            cc.field_order = cc_in.field_order
            top_first = cc_in.field_order in (AV_FIELD_TT, AV_FIELD_BT)
            self._fields = filter_chain(
                av,
                dict(width=self.width, height=self.height, format=self.pix_fmt, time_base=self.time_base),
                [("setfield", "tff" if top_first else "bff")],
            )
        else:
            cc.field_order = AV_FIELD_PROGRESSIVE
        self._last_pts: int | None = None
        self._count = 0

    def to_rgb(self, frame: Any) -> Any:
        """A decoded frame as uint8 RGB ``(H, W, 3)`` at the film's size, through the film's matrix and range."""
        rng = frame.color_range if frame.color_range in (_AVCOL_RANGE_MPEG, _AVCOL_RANGE_JPEG) else None
        return frame.reformat(
            width=self.width,
            height=self.height,
            format="rgb24",
            src_colorspace=self.matrix,
            src_color_range=rng,
        ).to_ndarray()

    def write(self, rgb: Any, source: Any) -> None:
        """Encode uint8 RGB ``(H, W, 3)`` with the timestamp of the decoded frame ``source``."""
        frame = self.av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
            format=self.pix_fmt,
            dst_colorspace=self.matrix,
            dst_color_range=_AVCOL_RANGE_MPEG,
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
