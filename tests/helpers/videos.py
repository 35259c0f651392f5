"""Small test videos written with PyAV, and what a test reads back from a video file.

The clip of :func:`write_clip` has two shots. Shot A: a mid-gray left half and a dark right half with a bright
bar moving across it. Shot B (from frame ``cut`` on): the same mid-gray left half and a bright right half with a
dark bar moving. The left half is still for the whole clip and its lightness does not change across the cut, so
only a cut detector can tell that the colour must start afresh there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

GRAY, DARK, BRIGHT = 128, 40, 215


def clip_frame(i: int, width: int, height: int, cut: int) -> np.ndarray:
    """Frame ``i`` of the test clip: uint8 RGB ``(height, width, 3)`` (gray)."""
    img = np.empty((height, width), np.uint8)
    half = width // 2
    img[:, :half] = GRAY
    scene_b = i >= cut
    img[:, half:] = BRIGHT if scene_b else DARK
    bar = half + (i * 3) % max(1, half - 6)
    img[height // 4 : 3 * height // 4, bar : bar + 6] = DARK if scene_b else BRIGHT
    return np.repeat(img[..., None], 3, axis=2)


def write_clip(
    path: Path,
    *,
    frames: int = 16,
    cut: int = 8,
    width: int = 64,
    height: int = 48,
    rate: int = 12,
    audio: bool = True,
    codec: str = "libx264",
    rotation: int = 0,
    picture: Callable[[int], np.ndarray] | None = None,
    languages: tuple[str, ...] = (),
    container: str | None = None,
    interlaced: bool = False,
    pix_fmt: str | None = None,
    bottom_first: bool = False,
) -> Path:
    """Write the two-shot clip (H.264, crf 10) with, if ``audio``, a 440 Hz AAC tone as long as the video.

    ``rotation``: a display matrix that turns the stored picture this many degrees counterclockwise for display,
    as phones write (FFmpeg's ``-metadata:s:v:0 rotate=...``). ``picture(i)``: frame ``i`` as stored, uint8 RGB
    ``(height, width, 3)``, instead of the two-shot clip. ``languages``: one tone per language, tagged with it
    (``eng``, ``fra``), instead of one untagged tone. ``container``: FFmpeg's format name, where the suffix does
    not say it (``mpeg`` for a camcorder's ``.mod``). ``interlaced``: coded as interlaced H.264, top field first
    (``field_order=tt``, as VHS and broadcast captures are); with ``bottom_first`` too, bottom field first
(``field_order=bb``, as DV is). ``pix_fmt``: the stored pixel format where the
    codec's default will not do (``yuv420p10le`` for 10-bit HEVC, ``yuv422p10le`` for ProRes).
    """
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=container) as out:
        v = out.add_stream(codec, rate=rate)
        v.width, v.height = width, height
        v.pix_fmt = "yuv420p" if codec != "libx264" or (width % 2 == 0 and height % 2 == 0) else "yuv444p"
        v.pix_fmt = pix_fmt or v.pix_fmt
        if codec == "libx264":
            v.options = {"crf": "10"}
        if codec == "libx265":
            v.options = {"crf": "10", "x265-params": "log-level=error"}
        if rotation:
            v.set_display_rotation(rotation)
        fields = None
        if interlaced:  # x264 codes fields when told so, in the order each frame's flags say (setfield sets them)
            from av.codec.context import Flags

            v.codec_context.flags |= Flags.interlaced_dct
            v.codec_context.field_order = 3 if bottom_first else 2  # AV_FIELD_BB, AV_FIELD_TT
            fields = av.filter.Graph()
            chain = [
                fields.add_buffer(width=width, height=height, format="yuv420p", time_base=Fraction(1, rate)),
                fields.add("setfield", "bff" if bottom_first else "tff"),
                fields.add("buffersink"),
            ]
            chain[0].link_to(chain[1])
            chain[1].link_to(chain[2])
            fields.configure()
        tracks = []
        for language in languages or ((None,) if audio else ()):
            tracks.append(out.add_stream("aac", rate=22050))
            if language:
                tracks[-1].metadata["language"] = language
        for i in range(frames):
            pixels = clip_frame(i, width, height, cut) if picture is None else picture(i)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = i
            if fields is not None:
                frame = frame.reformat(format="yuv420p")
                frame.pts, frame.time_base = i, Fraction(1, rate)
                fields.push(frame)
                frame = fields.pull()
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        for a in tracks:
            n = 22050 * frames // rate
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / 22050)).astype(np.float32)
            layout = a.layout.name
            samples = np.repeat(tone[None], a.layout.nb_channels, axis=0)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=layout)
            frame.sample_rate, frame.pts = 22050, 0
            for packet in a.encode(frame):
                out.mux(packet)
            for packet in a.encode():
                out.mux(packet)
    return path


@dataclass
class VideoInfo:
    """What a test checks of a video file."""

    frames: list[np.ndarray]  # uint8 RGB (H, W, 3), decoded as players would (the stream's colour matrix)
    rate: Fraction | None
    duration: float | None  # seconds, of the video stream
    width: int
    height: int
    codec: str
    pix_fmt: str
    audio_codec: str | None
    audio_samples: int  # decoded samples of the first audio stream
    audio_packets: list[bytes]
    rotation: int = 0  # degrees counterclockwise a player turns the stored frames (the display matrix)
    field_order: int = 0  # FFmpeg's AVFieldOrder: 0 unknown, 1 progressive, 2 top field first, 3 bottom first ...
    interlaced: list[bool] | None = None  # each frame's interlaced flag
    times: list[float] | None = None  # each frame's presentation time, seconds
    audio_start: float | None = None  # the first audio packet's presentation time, seconds
    audio_languages: list[str | None] | None = None

    def displayed(self) -> list[np.ndarray]:
        """The frames as a player shows them: turned by the display matrix."""
        return [np.ascontiguousarray(np.rot90(f, k=round(self.rotation / 90) % 4)) for f in self.frames]


def read_video(path: Path) -> VideoInfo:
    """Decode every frame and the first audio stream of ``path``."""
    import av

    from colorgan.inference.video_encoder import SWS_MATRIX

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        cc = v.codec_context
        space = cc.colorspace if cc.colorspace in SWS_MATRIX else (1 if cc.height > 576 else 6)
        matrix = getattr(av.video.reformatter.Colorspace, SWS_MATRIX[space])
        decoded = list(c.decode(v))
        frames = [f.reformat(format="rgb24", src_colorspace=matrix).to_ndarray() for f in decoded]
        duration = float(v.duration * v.time_base) if v.duration is not None else None
        info = VideoInfo(
            frames, v.average_rate, duration, cc.width, cc.height, cc.name, cc.pix_fmt, None, 0, [],
            rotation=decoded[0].rotation if decoded else 0, field_order=cc.field_order,
            audio_languages=[s.metadata.get("language") for s in c.streams.audio],
            interlaced=[f.interlaced_frame for f in decoded],
            times=[float(f.time) for f in decoded],
        )
    with av.open(str(path)) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            info.audio_codec = a.codec_context.name
            for packet in c.demux(a):
                if packet.size:
                    info.audio_packets.append(bytes(packet))
                    if info.audio_start is None and packet.pts is not None:
                        info.audio_start = float(packet.pts * packet.time_base)
                for frame in packet.decode():
                    info.audio_samples += frame.samples
    return info


# The fade clip of fade_frame: shot A, a cut, shot B that fades to black, black, a cut to shot C.
FADE_CUTS = (10, 38)  # the first frames of shots B and C: the clip's 2 cuts
FADE_START, FADE_END, FADE_FRAMES = 20, 34, 46  # shot B fades over frames 20..33, black from 34 to 37


def fade_frame(i: int, width: int = 64, height: int = 48) -> np.ndarray:
    """Frame ``i`` of the fade clip: uint8 RGB ``(height, width, 3)`` (gray). Shot B is a bright suit (rows 12-36,
    columns 20-44) on a mid-gray gradient; its fade scales every pixel's 8-bit level, as editing programs do."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    if i < FADE_CUTS[0]:  # shot A: a dark room with a window on the left
        img = 40 + 20 * y / height
        img[8:30, 6:22] = 230
    elif i < FADE_CUTS[1]:  # shot B: the suit, then the fade
        img = 90 + 60 * x / width
        img[12:36, 20:44] = 210
        img[16:20, 28:36] = 60  # a dark tie knot
        if i >= FADE_START:
            img *= float(np.clip(1.0 - (i - FADE_START + 1) / (FADE_END - FADE_START + 1), 0.0, 1.0))
    else:  # shot C: bright sky over dark ground
        img = np.where(y < height // 2, 200.0, 70.0) + 10 * np.sin(x / 5)
    gray = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)


def combed_frame(i: int, width: int = 64, height: int = 48) -> np.ndarray:
    """Frame ``i`` of an interlaced capture of a bright bar moving right 4 px a field: the bottom field (odd rows)
    was taken a field later than the top one, so the bar's edges are combed. uint8 RGB ``(height, width, 3)``."""
    img = np.full((height, width), 90, np.uint8)
    x = 8 + 8 * i
    img[0::2, x : x + 10] = 220
    img[1::2, x + 4 : x + 14] = 220
    return np.repeat(img[..., None], 3, axis=2)


def comb(frames: list[np.ndarray]) -> float:
    """Mean difference between neighbouring rows minus that between rows two apart (same field): high for combed
    (interlaced, not deinterlaced) frames, about 0 for progressive ones."""
    g = np.stack(frames).astype(np.float32).mean(axis=-1)
    return float(np.abs(g[:, 1:-1] - g[:, :-2]).mean() - 0.5 * np.abs(g[:, 2:] - g[:, :-2]).mean())


def field_flags(path: Path) -> list[str]:
    """Each decoded frame's field flags as FFmpeg's ``showinfo`` filter reports them: ``T`` (interlaced, top field
    first), ``B`` (bottom field first) or ``P`` (progressive). These are what the codec says of each frame, which
    players follow; the container's field order can say otherwise."""
    import re

    import av
    import av.logging

    level = av.logging.get_level()
    av.logging.set_level(av.logging.INFO)  # showinfo writes at INFO
    try:
        with av.open(str(path)) as c, av.logging.Capture(local=False) as logs:
            v = c.streams.video[0]
            graph = av.filter.Graph()
            chain = [graph.add_buffer(template=v), graph.add("showinfo"), graph.add("buffersink")]
            chain[0].link_to(chain[1])
            chain[1].link_to(chain[2])
            graph.configure()
            for frame in c.decode(v):
                graph.push(frame)
                graph.pull()
    finally:
        av.logging.set_level(level)
    found = [re.search(r"\bi:(\w)", message) for _, name, message in logs if name == "showinfo"]
    return [m.group(1) for m in found if m]
