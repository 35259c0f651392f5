"""Colorizing video files: frames, rate, size and sound kept, lightness kept per frame, smoothing that steadies
still parts without crossing cuts, bad inputs reported, no half-written output."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from colorgan.color import AB_SCALE, L_SCALE, rgb_to_model_lab
from colorgan.inference.colorizer import Colorizer
from colorgan.inference.temporal import FlickerMeter, Smoothing
from colorgan.inference.video import ColorizedVideo, VideoColorizer, VideoError, import_av

from helpers.videos import (
    FADE_CUTS,
    FADE_END,
    FADE_FRAMES,
    FADE_START,
    comb,
    combed_frame,
    fade_frame,
    field_flags,
    read_video,
    write_clip,
)

pytest.importorskip("av")

CUT = 8  # the first frame of the clip's second shot
FRAME_BY_FRAME = Smoothing(strength=0.0)


class SceneColour(nn.Module):
    """A fake generator whose colour says which shot it sees, with flicker on top.

    Shot A (dark right half) is red (a* +44), shot B (bright right half) is blue (b* -44); every frame gets a
    colour shift of about ±16 a*/b* units, the same over the whole frame, drawn from the frame's own pixels (so
    two runs over the same film predict the same colours, as a real generator would).
    """

    divisor = 1

    def forward(self, L: Tensor) -> Tensor:
        B, _, H, W = L.shape
        shot_b = (L[..., W * 3 // 4 :].mean(dim=(1, 2, 3)) > 0).float().view(B, 1, 1, 1)
        base = torch.cat([0.4 * (1 - shot_b), -0.4 * shot_b], dim=1)
        ramp = torch.arange(H * W, dtype=torch.float32).view(1, 1, H, W)
        seed = (L * ramp).sum(dim=(1, 2, 3)).view(B, 1, 1, 1)
        jitter = 0.15 * torch.cat([torch.sin(seed * 12.9898), torch.sin(seed * 78.233)], dim=1)
        return (base + jitter).expand(B, 2, H, W)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 frames of 64x48 at 12 fps, a cut at frame 8, a 440 Hz AAC tone."""
    return write_clip(tmp_path_factory.mktemp("clip") / "film.mp4", frames=16, cut=CUT)


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return Colorizer(SceneColour(), 64, device="cpu")


@pytest.fixture(scope="module")
def results(clip: Path, colorizer: Colorizer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ColorizedVideo]:
    """The clip colorized frame by frame and smoothed (default settings), batches of 5 frames."""
    out = tmp_path_factory.mktemp("coloured")
    raw = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME, batch_size=5).colorize(clip, out / "raw.mp4")
    smooth = colorizer.colorize_video(clip, out / "smooth.mp4", batch_size=5)
    return {"raw": raw, "smooth": smooth}


@pytest.fixture(scope="module")
def outputs(results: dict[str, ColorizedVideo]) -> dict[str, Path]:
    return {name: result.path for name, result in results.items()}


def lab(frames: list[np.ndarray]) -> tuple[Tensor, Tensor]:
    """Decoded frames -> L* ``(N, 1, H, W)`` in 0..100 and a*b* ``(N, 2, H, W)`` in CIE units."""
    L, ab = rgb_to_model_lab(torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2))
    return (L + 1) * L_SCALE, ab * AB_SCALE


def test_frames_rate_size_duration_and_sound_are_kept(clip: Path, outputs: dict[str, Path]) -> None:
    src = read_video(clip)
    for path in outputs.values():
        out = read_video(path)
        assert len(out.frames) == len(src.frames) == 16
        assert out.rate == src.rate == 12
        assert out.duration == pytest.approx(src.duration)
        assert (out.width, out.height) == (64, 48)
        assert (out.codec, out.pix_fmt) == ("h264", "yuv420p")
        # the sound is copied, not re-encoded: the same AAC packets, byte for byte, and the same samples
        assert out.audio_codec == src.audio_codec == "aac"
        assert out.audio_packets == src.audio_packets and len(out.audio_packets) > 5
        assert out.audio_samples == src.audio_samples


def test_every_frame_keeps_its_own_lightness_and_gets_colour(clip: Path, outputs: dict[str, Path]) -> None:
    L_in, _ = lab(read_video(clip).frames)
    L_out, ab_out = lab(read_video(outputs["smooth"]).frames)
    # per frame (the bar moves 3 px a frame, so a frame shifted, dropped or repeated would fail here); the
    # tolerance is H.264's and 4:2:0 chroma's at the colour edge of a 64x48 clip
    per_frame = (L_in - L_out).abs().mean(dim=(1, 2, 3))
    assert per_frame.max() < 1.0, per_frame
    assert ab_out.square().sum(dim=1).sqrt().mean() > 25  # and it is in colour


def test_every_frame_is_shown_at_its_own_time_against_the_sound(clip: Path, outputs: dict[str, Path]) -> None:
    """Each frame keeps its presentation time and the sound its start: a film one frame late against its sound
    (83 ms at 12 fps), with every frame, the count and the sound bytes intact, fails here."""
    src = read_video(clip)
    assert src.times is not None and src.audio_start is not None
    for name, path in outputs.items():
        out = read_video(path)
        assert out.times == pytest.approx(src.times, abs=1e-3), name
        assert out.audio_start == pytest.approx(src.audio_start, abs=1e-3), name
        # what a player lines up: the sound's start against the first frame's
        assert out.audio_start - out.times[0] == pytest.approx(src.audio_start - src.times[0], abs=1e-3), name


def test_smoothing_steadies_still_parts(outputs: dict[str, Path]) -> None:
    figures = {}
    for name, path in outputs.items():
        meter = FlickerMeter()
        for frame in read_video(path).frames:
            meter.update(torch.from_numpy(frame[:, :28]).permute(2, 0, 1))  # the still left half
        figures[name] = meter.compute()
    assert figures["raw"] > 8  # the fake generator flickers by about ±16 a*/b* units
    assert figures["smooth"] < 0.5 * figures["raw"], figures


def test_the_cut_is_not_smeared(outputs: dict[str, Path], results: dict[str, ColorizedVideo]) -> None:
    """The left half has the same lightness in both shots: only the cut detector keeps shot A's red out of B."""
    _, raw = lab(read_video(outputs["raw"]).frames)
    _, smooth = lab(read_video(outputs["smooth"]).frames)
    left = (slice(None), slice(None), slice(0, 28))
    for i in (CUT, CUT + 1):
        a, b = smooth[i][left].mean(dim=(1, 2)).tolist()
        assert a < 15 and b < -25, (i, a, b)  # shot B's blue, not shot A's red (a* +44)
    # the first frame of shot B is that frame's own prediction, as frame by frame
    assert (smooth[CUT][left] - raw[CUT][left]).abs().mean() < 2.0
    # and before the cut, shot A is red
    assert smooth[CUT - 1][left][0].mean() > 25
    assert results["smooth"].cuts == results["raw"].cuts == 1


def test_odd_sizes_are_kept(colorizer: Colorizer, tmp_path: Path) -> None:
    src = write_clip(tmp_path / "odd.mp4", frames=6, width=65, height=49, audio=False)
    result = VideoColorizer(colorizer).colorize(src, tmp_path / "out" / "odd.mp4")
    out = read_video(result.path)
    assert (out.width, out.height, len(out.frames)) == (65, 49, 6)
    assert out.pix_fmt == "yuv444p" and any("odd" in n for n in result.notes)
    assert out.audio_codec is None and result.audio_streams == 0


def test_webm_is_written_as_vp9(colorizer: Colorizer, tmp_path: Path) -> None:
    src = write_clip(tmp_path / "clip.webm", frames=6, audio=False, codec="libvpx-vp9")
    result = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME).colorize(src, tmp_path / "out" / "clip.webm")
    out = read_video(result.path)
    assert (out.codec, len(out.frames), out.width, out.height) == ("vp9", 6, 64, 48)


def _no_leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("kind", ["not a video", "no video stream", "truncated"])
def test_bad_inputs_are_reported_by_name_and_leave_nothing(
    kind: str, clip: Path, colorizer: Colorizer, tmp_path: Path
) -> None:
    import av

    src = tmp_path / f"{kind.replace(' ', '_')}.mp4"
    if kind == "not a video":
        src.write_text("these are holiday notes, not a film")
        reason = "not a video"
    elif kind == "no video stream":
        with av.open(str(src), "w") as out:
            stream = out.add_stream("aac", rate=22050)
            frame = av.AudioFrame.from_ndarray(np.zeros((2, 4096), np.float32), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = 22050, 0
            for packet in [*stream.encode(frame), *stream.encode()]:
                out.mux(packet)
        reason = "no video stream"
    else:
        data = clip.read_bytes()
        src.write_bytes(data[: len(data) * 2 // 3])
        reason = "not a video"  # an MP4 cut short loses its index (written last): FFmpeg cannot read it
    out_dir = tmp_path / "out"
    with pytest.raises(VideoError, match=reason) as err:
        VideoColorizer(colorizer).colorize(src, out_dir / "film.mp4")
    assert str(src) in str(err.value)
    assert _no_leftovers(out_dir) == []


def test_an_interrupted_run_leaves_no_half_written_film(
    clip: Path, colorizer: Colorizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dst = tmp_path / "out" / "film.mp4"
    dst.parent.mkdir()
    dst.write_bytes(b"an earlier, finished output")
    calls = 0
    join = Colorizer.join

    def interrupted(self: Colorizer, *args, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 7:  # in the second batch, after the first was encoded and written
            assert (dst.parent / ".film.mp4.part").exists()
            raise KeyboardInterrupt
        return join(self, *args, **kwargs)

    monkeypatch.setattr(Colorizer, "join", interrupted)
    with pytest.raises(KeyboardInterrupt):
        VideoColorizer(colorizer, batch_size=4).colorize(clip, dst)
    assert calls == 7
    assert _no_leftovers(dst.parent) == ["film.mp4"]
    assert dst.read_bytes() == b"an earlier, finished output"


def test_unknown_output_suffix_is_refused(clip: Path, colorizer: Colorizer, tmp_path: Path) -> None:
    with pytest.raises(VideoError, match=r"\.gif"):
        VideoColorizer(colorizer).colorize(clip, tmp_path / "film.gif")


def test_missing_pyav_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # import av now fails as if it were not installed
    with pytest.raises(ImportError, match=r"colorgan\[video\]"):
        import_av()


def test_bad_settings_are_refused(colorizer: Colorizer) -> None:
    with pytest.raises(ValueError, match="crf"):
        VideoColorizer(colorizer, crf=60)
    with pytest.raises(ValueError, match="batch size"):
        VideoColorizer(colorizer, batch_size=0)
    with pytest.raises(ValueError, match="preset.*veryslow"):
        VideoColorizer(colorizer, preset="fastest")


class TopRedBottomBlue(nn.Module):
    """A fake generator that colours the top half of its square red (a* +44) and the bottom half blue (b* -44):
    which way up it saw the picture shows in where the red ends up."""

    divisor = 1

    def forward(self, L: Tensor) -> Tensor:
        B, _, H, W = L.shape
        top = (torch.arange(H) < H // 2).float().view(1, 1, H, 1)
        return torch.cat([0.4 * top, -0.4 * (1 - top)], dim=1).expand(B, 2, H, W)


@pytest.mark.parametrize("rotation", [90, -90])
def test_a_phone_clip_is_colorized_upright_and_keeps_its_rotation(rotation: int, tmp_path: Path) -> None:
    """A portrait phone clip: 64x48 stored sideways, with a display matrix that turns it 48x64 upright."""
    upright = np.zeros((64, 48, 3), np.uint8)
    upright[:, :] = np.linspace(60, 200, 64, dtype=np.uint8)[:, None, None]  # a sky above, darker ground below
    stored = np.ascontiguousarray(np.rot90(upright, k=-rotation // 90))
    src = write_clip(tmp_path / "phone.mp4", frames=4, rotation=rotation, picture=lambda i: stored, audio=False)
    assert read_video(src).rotation == rotation and read_video(src).displayed()[0].shape == (64, 48, 3)

    colorizer = Colorizer(TopRedBottomBlue(), 64, device="cpu")
    result = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME).colorize(src, tmp_path / "out" / "phone.mp4")
    out = read_video(result.path)
    assert (out.width, out.height, out.rotation) == (64, 48, rotation)  # stored as the input, turned as the input
    assert (result.width, result.height) == (64, 48)
    _, ab = lab(out.displayed())
    top, bottom = ab[:, :, 4:28].mean(dim=(0, 2, 3)), ab[:, :, 36:60].mean(dim=(0, 2, 3))
    # red sky, blue ground, as a player shows it (colorized sideways, each would be half red, half blue)
    assert top[0] > 30 and top[1] > -10 and bottom[0] < 10 and bottom[1] < -30, (top, bottom)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_audio_languages_and_titles_are_kept(suffix: str, colorizer: Colorizer, tmp_path: Path) -> None:
    """A film with an English and a French soundtrack keeps both tags, so players still offer the right one."""
    src = write_clip(tmp_path / f"film{suffix}", frames=6, languages=("eng", "fra"))
    result = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME).colorize(src, tmp_path / "out" / f"film{suffix}")
    assert read_video(src).audio_languages == ["eng", "fra"]
    assert read_video(result.path).audio_languages == ["eng", "fra"]
    assert result.audio_streams == 2


class ColourByBrightness(nn.Module):
    """A fake generator with a real one's habit in fades: it sees an orange suit while the picture is bright and a
    purple-blue one as it gets dark (the colour it predicts follows the frame's mean lightness)."""

    divisor = 1

    def forward(self, L: Tensor) -> Tensor:
        B, _, H, W = L.shape
        brightness = ((L + 1) / 2).mean(dim=(1, 2, 3)).view(B, 1, 1, 1)  # 0 black ... 1 white
        dark = (1 - brightness / 0.55).clamp(0, 1)  # 0 for shot B at full brightness, 1 for black
        # a* b* (15, 25) and (12, -25): mild enough for sRGB to show them at every lightness of the fade
        orange, blue = torch.tensor([15.0, 25.0]).view(1, 2, 1, 1), torch.tensor([12.0, -25.0]).view(1, 2, 1, 1)
        orange, blue = orange / AB_SCALE, blue / AB_SCALE
        return (orange + dark * (blue - orange)).expand(B, 2, H, W)


class SteadyColour(nn.Module):
    """The suit's orange on every frame, whatever the generator sees."""

    divisor = 1

    def forward(self, L: Tensor) -> Tensor:
        return (torch.tensor([15.0, 25.0]) / AB_SCALE).view(1, 2, 1, 1).expand(L.shape[0], 2, *L.shape[-2:])


def fade_drift(frames: list[np.ndarray]) -> list[float]:
    """Mean |Δab| (CIE units) of the suit between consecutive frames of the fade, while it is bright enough
    (L* 30 and up) for its colour to show."""
    L, ab = lab(frames)
    suit = (slice(None), slice(None), slice(22, 34), slice(22, 42))
    lightness, colour = L[suit].mean(dim=(1, 2, 3)), ab[suit]
    return [
        float((colour[i] - colour[i - 1]).square().sum(dim=0).sqrt().mean())
        for i in range(FADE_START, FADE_END)
        if lightness[i] >= 30
    ]


def test_a_fade_to_black_keeps_its_colour_and_is_no_cut(tmp_path: Path) -> None:
    src = write_clip(tmp_path / "fade.mp4", frames=FADE_FRAMES, picture=fade_frame, audio=False)
    colorizer = Colorizer(ColourByBrightness(), 64, device="cpu")
    raw = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME).colorize(src, tmp_path / "raw.mp4")
    smooth = VideoColorizer(colorizer).colorize(src, tmp_path / "smooth.mp4")
    # the floor of the measure: one colour painted on every frame (8-bit, 4:2:0 and H.264 rounding alone)
    steady = Colorizer(SteadyColour(), 64, device="cpu")
    floor = VideoColorizer(steady, smoothing=FRAME_BY_FRAME).colorize(src, tmp_path / "steady.mp4")
    runs = {"raw": raw, "smooth": smooth, "floor": floor}
    drift = {name: fade_drift(read_video(r.path).frames) for name, r in runs.items()}
    figures = ", ".join(f"{k} {np.mean(v):.2f} ({max(v):.2f})" for k, v in drift.items())
    print(f"fade, mean |Δab| per frame (max): {figures}; cuts {raw.cuts} frame by frame, {smooth.cuts} smoothed")
    assert len(drift["smooth"]) >= 8 and np.mean(drift["raw"]) > 3  # the generator alone drifts
    assert np.mean(drift["smooth"]) < np.mean(drift["floor"]) + 0.3, drift  # the smoothed film does not
    assert raw.cuts == smooth.cuts == len(FADE_CUTS)  # A -> B and black -> C, not the last frames of the fade


def test_interlaced_films_keep_their_field_order_or_are_deinterlaced(colorizer: Colorizer, tmp_path: Path) -> None:
    src = write_clip(tmp_path / "vhs.mkv", frames=6, rate=25, picture=combed_frame, interlaced=True, audio=False)
    original = read_video(src)
    assert original.field_order == 2 and all(original.interlaced)  # top field first, as a capture says
    kept = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME).colorize(src, tmp_path / "out" / "kept.mkv")
    out = read_video(kept.path)
    assert out.field_order == 2 and all(out.interlaced) and len(out.frames) == 6  # still interlaced, tff
    assert any("interlaced" in n and "--deinterlace" in n for n in kept.notes), kept.notes

    flat = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME, deinterlace=True)
    result = flat.colorize(src, tmp_path / "out" / "flat.mkv")
    out = read_video(result.path)
    assert out.field_order in (0, 1) and not any(out.interlaced)  # progressive
    assert (len(out.frames), out.rate) == (6, 25)  # one frame per frame (yadif's send_frame), the same rate
    print(f"comb: input {comb(original.frames):.1f}, deinterlaced {comb(out.frames):.1f}")
    assert comb(out.frames) < 0.3 * comb(original.frames)  # the fields were joined into whole pictures


def test_a_bottom_field_first_film_stays_bottom_field_first(colorizer: Colorizer, tmp_path: Path) -> None:
    """DV and many PAL captures show the bottom field first: written top first, every movement judders."""
    suffix = ".mkv"  # Matroska keeps the field order in its header; in MP4 only the codec's own flags say it
    src = write_clip(
        tmp_path / f"dv{suffix}",
        frames=6,
        rate=25,
        picture=combed_frame,
        interlaced=True,
        bottom_first=True,
        audio=False,
    )
    assert read_video(src).field_order == 3 and field_flags(src) == ["B"] * 6  # AV_FIELD_BB, and each frame says so
    kept = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME).colorize(src, tmp_path / "out" / f"kept{suffix}")
    out = read_video(kept.path)
    assert out.field_order == 3 and all(out.interlaced) and len(out.frames) == 6  # the container says so
    assert field_flags(kept.path) == ["B"] * 6  # and so do the coded frames, which players follow
    assert any("bottom field first" in n for n in kept.notes), kept.notes

    flat = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME, deinterlace=True)
    out = read_video(flat.colorize(src, tmp_path / "out" / f"flat{suffix}").path)
    assert out.field_order in (0, 1) and not any(out.interlaced) and len(out.frames) == 6
    assert comb(out.frames) < 0.3 * comb(read_video(src).frames)


@pytest.mark.parametrize(
    ("name", "codec", "pix_fmt", "words"),
    [
        ("hevc10.mp4", "libx265", "yuv420p10le", "10-bit 4:2:0"),
        ("prores.mov", "prores_ks", "yuv422p10le", "10-bit 4:2:2"),
    ],
)
def test_more_than_8_bit_or_4_2_0_is_told_and_kept_on_request(
    name: str, codec: str, pix_fmt: str, words: str, colorizer: Colorizer, tmp_path: Path
) -> None:
    src = write_clip(tmp_path / name, frames=4, codec=codec, pix_fmt=pix_fmt, audio=False)
    assert read_video(src).pix_fmt == pix_fmt
    # by default, H.264 4:2:0 8-bit, which every player plays, and a note that says so and what else there is
    result = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME).colorize(src, tmp_path / "h264" / name)
    assert (read_video(result.path).codec, read_video(result.path).pix_fmt) == ("h264", "yuv420p")
    note = next((n for n in result.notes if words in n), None)
    assert note is not None and "8-bit 4:2:0 H.264" in note and "--video-codec" in note, result.notes
    # on request, the same depth and chroma
    kept = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME, codec="hevc" if codec == "libx265" else "prores")
    out = read_video(kept.colorize(src, tmp_path / "kept" / name).path)
    assert (out.codec, out.pix_fmt, len(out.frames)) == (read_video(src).codec, pix_fmt, 4)


def test_a_codec_the_container_cannot_hold_is_refused_by_name(colorizer: Colorizer, tmp_path: Path) -> None:
    with pytest.raises(VideoError, match=r"prores.*\.mp4.*\.mov"):
        VideoColorizer(colorizer, codec="prores").colorize(tmp_path / "in.mp4", tmp_path / "out.mp4")
    with pytest.raises(ValueError, match="video codec.*h264"):
        VideoColorizer(colorizer, codec="mpeg1")


class Counting(nn.Module):
    """A generator that counts its runs (to show that a refused film cost no colorizing)."""

    divisor = 1

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    def forward(self, L: Tensor) -> Tensor:
        self.runs += 1
        return torch.zeros(L.shape[0], 2, *L.shape[2:])


def gray_join(self: Colorizer, pixels: Tensor, ab: Tensor, name: str, notes: list[str], alpha=None) -> Tensor:
    """The frame as it is, for tests of counting and timing: the full-resolution join of a 720x576 DV frame takes
    seconds on a CPU, and its colour is tested elsewhere."""
    return pixels.permute(1, 2, 0).contiguous()


def test_a_dv_film_counts_its_frames_from_its_real_rate(
    colorizer: Colorizer, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DV file's stream says 60000 frames a second (its time base): a one-second 25 fps clip is 25 frames, not
    60000, in the progress lines and the result."""
    monkeypatch.setattr(Colorizer, "join", gray_join)
    src = write_clip(
        tmp_path / "tape.dv",
        frames=25,
        rate=25,
        codec="dvvideo",
        width=720,
        height=576,
        pix_fmt="yuv420p",
        audio=False,
    )
    video = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME, batch_size=5)
    result = video.colorize(src, tmp_path / "out" / "tape.mkv", log_every=1e-9)
    assert (result.frames, result.rate) == (25, 25)
    assert len(read_video(result.path).frames) == 25
    lines = [line for line in capsys.readouterr().err.splitlines() if "frames (" in line]
    assert lines[0].startswith("tape.dv: 5 of about 25 frames (20%)"), lines
    assert lines[-1].startswith("tape.dv: 25 of about 25 frames (100%)"), lines


def test_a_matroska_film_gets_a_percentage_and_time_left(colorizer: Colorizer, tmp_path: Path, capsys) -> None:
    """Matroska keeps no frame count: the total is estimated from the duration and the frame rate."""
    src = write_clip(tmp_path / "film.mkv", frames=24, rate=12, audio=False)
    video = VideoColorizer(colorizer, smoothing=FRAME_BY_FRAME, batch_size=6)
    video.colorize(src, tmp_path / "out.mkv", log_every=1e-9)
    lines = [line for line in capsys.readouterr().err.splitlines() if "frames (" in line]
    assert lines[0].startswith("film.mkv: 6 of about 24 frames (25%)") and lines[0].endswith(" left"), lines


def _cut_short_mkv(tmp_path: Path) -> Path:
    full = write_clip(tmp_path / "full.mkv", frames=48, rate=12)  # 4 s, with sound
    src = tmp_path / "cut_short.mkv"
    src.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return src


@pytest.mark.parametrize("kind", ["mp4 index", "mkv length"])
def test_a_film_cut_short_is_refused_before_any_colorizing_or_kept_on_request(kind: str, tmp_path: Path) -> None:
    """A copy cut short is found by a read of its packets before the first frame is colorized: fewer frames than
    an MP4's index lists, or packets that stop well before a Matroska file's declared length. With keep_partial
    the frames there are are colorized and kept, and the result says so."""
    import av

    if kind == "mp4 index":
        full = tmp_path / "full.mp4"
        with av.open(str(full), "w", options={"movflags": "faststart"}) as out:  # the index first, as for streaming
            stream = out.add_stream("libx264", rate=12)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            rng = np.random.default_rng(0)
            for i in range(24):
                frame = av.VideoFrame.from_ndarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), format="rgb24")
                frame.pts = i
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        src = tmp_path / "cut_short.mp4"
        src.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
        why, total = "its index lists 24 frames, but the file holds only", 24
    else:
        src = _cut_short_mkv(tmp_path)
        why, total = "it says it lasts 4.0 s, but its packets stop at", 48
    generator = Counting()
    colorizer = Colorizer(generator, 64, device="cpu")
    dst = tmp_path / "out" / f"film{src.suffix}"
    with pytest.raises(VideoError, match="damaged or cut short") as err:
        VideoColorizer(colorizer).colorize(src, dst)
    assert str(src) in str(err.value) and why in str(err.value) and "--keep-partial" in str(err.value)
    assert generator.runs == 0  # refused before any work
    assert _no_leftovers(dst.parent) == []

    result = VideoColorizer(colorizer, keep_partial=True).colorize(src, dst)
    assert not result.complete and 6 <= result.frames < total
    assert len(read_video(dst).frames) == result.frames
    assert any("damaged or cut short" in n and why in n and "--keep-partial" in n for n in result.notes), result.notes
    assert _no_leftovers(dst.parent) == [dst.name]


def test_a_whole_film_is_complete(results: dict[str, ColorizedVideo]) -> None:
    assert all(r.complete for r in results.values())


def test_films_and_photos_do_not_import_each_other() -> None:
    """The film modules run the generator's shared steps (``engine``), never the photo module; the photo module
    reaches films only inside ``Colorizer.colorize_video``, when it is called (and names a film type for type
    checkers)."""
    import ast
    import importlib

    def imported(name: str, top_level_only: bool) -> set[str]:
        tree = ast.parse(Path(importlib.import_module(name).__file__).read_text())
        nodes = tree.body if top_level_only else list(ast.walk(tree))
        found = set()
        for node in nodes:
            if isinstance(node, ast.If) and not top_level_only:  # TYPE_CHECKING blocks count too
                nodes.extend(node.body)
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
        return found

    films = ["colorgan.inference.video", "colorgan.inference.video_streams", "colorgan.inference.video_encoder"]
    for name in films:
        assert "colorgan.inference.colorizer" not in imported(name, top_level_only=False), name
    assert not set(films) & imported("colorgan.inference.colorizer", top_level_only=True)
    assert "colorgan.inference.colorizer" not in imported("colorgan.inference.engine", top_level_only=False)
