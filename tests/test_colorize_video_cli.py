"""colorgan-colorize on films: folders that mix photos and videos, names, bad videos, reruns, without PyAV."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from colorgan.colorize import main

from helpers.photos import write_photos
from helpers.videos import comb, combed_frame, read_video, write_clip

pytest.importorskip("av")


@pytest.fixture
def shoebox(tmp_path: Path) -> Path:
    """Photos and films together, one film in a subfolder with an upper-case suffix, one file that is no film."""
    root = tmp_path / "shoebox"
    write_photos(root, 2, size=(40, 30), ext="jpg", seed=3)  # photo_000.jpg, photo_001.jpg
    write_clip(root / "film.mp4", frames=8, cut=4)
    write_clip(root / "1960s" / "holiday.MOV", frames=6, cut=3, audio=False)
    (root / "1960s" / "broken.mp4").write_text("not a film at all")
    return root


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_folder_of_photos_and_films(shoebox: Path, tiny_ckpt: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    args = [str(shoebox), "--ckpt", str(tiny_ckpt), "--output", str(out), "--device", "cpu", "--format", "png"]
    assert main(args) == 1  # broken.mp4 failed; the rest is done
    # photos follow --format; films keep their container (suffix in lower case); nothing hidden is left behind
    assert files_under(out) == ["1960s/holiday.mov", "film.mp4", "photo_000.png", "photo_001.png"]
    captured = capsys.readouterr()
    assert "broken.mp4" in captured.err and "not a video" in captured.err
    assert "Colorized 2 photo(s) and 2 video(s)" in captured.out

    film, src = read_video(out / "film.mp4"), read_video(shoebox / "film.mp4")
    assert (len(film.frames), film.rate, film.width, film.height) == (8, 12, 64, 48)
    assert film.audio_packets == src.audio_packets
    assert len(read_video(out / "1960s" / "holiday.mov").frames) == 6
    assert Image.open(out / "photo_000.png").size == (30, 40)

    # a rerun leaves finished films alone, and redoes them with --overwrite
    before = (out / "film.mp4").stat().st_mtime_ns
    assert main(args) == 1
    assert "left 4 existing output(s) alone" in capsys.readouterr().out
    assert (out / "film.mp4").stat().st_mtime_ns == before
    assert main([*args, "--overwrite", "--smoothing", "0", "--video-crf", "30"]) == 1
    assert (out / "film.mp4").stat().st_mtime_ns != before
    assert files_under(out) == ["1960s/holiday.mov", "film.mp4", "photo_000.png", "photo_001.png"]


def test_films_without_pyav_are_reported_with_the_extra(
    shoebox: Path, tiny_ckpt: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    monkeypatch.setattr("colorgan.inference.video.video_support", lambda: False)
    out = tmp_path / "out"
    base = ["--ckpt", str(tiny_ckpt), "--output", str(out), "--device", "cpu"]
    assert main([str(shoebox), *base]) == 1
    assert files_under(out) == ["photo_000.jpg", "photo_001.jpg"]  # the photos are still done
    err = capsys.readouterr().err
    assert "left out 3 video(s)" in err and "colorgan[video]" in err
    # a film named on the command line is tried, and fails with the same advice
    assert main([str(shoebox / "film.mp4"), *base]) == 1
    err = capsys.readouterr().err
    assert "film.mp4" in err and "colorgan[video]" in err
    assert files_under(out) == ["photo_000.jpg", "photo_001.jpg"]


@pytest.mark.parametrize(
    "option",
    [
        ["--video-crf", "52"], ["--smoothing", "1"], ["--smoothing-tolerance", "0"], ["--cut-threshold", "0"],
        ["--video-preset", "fastest"],
    ],
)
def test_bad_video_settings_stop_before_any_work(option: list[str], tmp_path: Path, capsys) -> None:
    write_photos(tmp_path / "in", 1, size=(40, 30), ext="jpg")
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "in"), "--ckpt", "x.ckpt", "--output", str(tmp_path / "out"), *option])
    assert exit_.value.code == 2
    assert option[0] in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_film_cleanly(sig: signal.Signals, tiny_ckpt: Path, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) or a service manager's stop (SIGTERM) while a film is written: a short message, no
    traceback, no hidden half-written film left next to the output, and the exit code of the signal."""
    src = write_clip(tmp_path / "long.mp4", frames=900, audio=False)
    out = tmp_path / "out"
    part = out / ".long.mp4.part"
    proc = subprocess.Popen(
        [sys.executable, "-m", "colorgan.colorize", str(src), "--ckpt", str(tiny_ckpt), "--output", str(out),
         "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not part.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert part.exists(), "the film was never started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err and "interrupted" in err, err
    assert not out.exists() or sorted(p.name for p in out.iterdir()) == []


@pytest.mark.slow
def test_archive_film_formats_are_recognised(tiny_ckpt: Path, tmp_path: Path, capsys) -> None:
    """MPEG-2 program streams (.mpg, a camcorder's .mod), broadcast transport streams (.ts) and Windows Media (.wmv)
    are films: found in a folder, and by name, where they used to be skipped or read as broken photos. Films in
    containers colorgan does not write come out as Matroska (.mkv), which holds their sound as it is."""
    root = tmp_path / "archive"
    write_clip(root / "wedding.mpg", frames=6, codec="mpeg2video", rate=25, audio=False)
    write_clip(root / "news.ts", frames=6, rate=25)
    write_clip(root / "camcorder" / "MOV001.MOD", frames=6, codec="mpeg2video", rate=25, audio=False, container="mpeg")
    # a suffix no list has: a film because PyAV finds one in it
    write_clip(root / "tapes" / "tape_03.vhs", frames=6, codec="mpeg2video", rate=25, audio=False, container="mpeg")
    write_clip(root / "old.wmv", frames=6, codec="wmv2", rate=25, audio=False)
    (root / "notes.txt").write_text("tape 3, summer 1998")  # not a film, and not a failure
    (root / "tapes" / "cover.dat").write_bytes((root / "notes.txt").read_bytes() * 50)
    out = tmp_path / "out"
    base = ["--ckpt", str(tiny_ckpt), "--output", str(out), "--device", "cpu"]
    assert main([str(root), *base]) == 0, capsys.readouterr().err
    assert files_under(out) == ["camcorder/MOV001.mkv", "news.mkv", "old.mkv", "tapes/tape_03.mkv", "wedding.mkv"]
    assert "Colorized 0 photo(s) and 5 video(s)" in capsys.readouterr().out
    assert len(read_video(out / "news.mkv").frames) == 6 and read_video(out / "news.mkv").audio_codec == "aac"
    assert len(read_video(out / "camcorder" / "MOV001.mkv").frames) == 6
    assert len(read_video(out / "tapes" / "tape_03.mkv").frames) == 6

    # by name, too
    named = tmp_path / "named"
    films = [str(root / "wedding.mpg"), str(root / "camcorder" / "MOV001.MOD"), str(root / "tapes" / "tape_03.vhs")]
    assert main([*films, "--ckpt", str(tiny_ckpt), "--output", str(named), "--device", "cpu"]) == 0
    assert files_under(named) == ["MOV001.mkv", "tape_03.mkv", "wedding.mkv"]


def test_deinterlace_option(tiny_ckpt: Path, tmp_path: Path, capsys) -> None:
    src = write_clip(tmp_path / "in" / "vhs.mkv", frames=4, rate=25, picture=combed_frame, interlaced=True)
    base = [str(src), "--ckpt", str(tiny_ckpt), "--device", "cpu"]
    assert main([*base, "--output", str(tmp_path / "kept")]) == 0
    assert "interlaced (top field first)" in capsys.readouterr().err
    assert read_video(tmp_path / "kept" / "vhs.mkv").field_order == 2
    assert main([*base, "--output", str(tmp_path / "flat"), "--deinterlace"]) == 0
    out = read_video(tmp_path / "flat" / "vhs.mkv")
    assert out.field_order in (0, 1) and comb(out.frames) < 0.3 * comb(read_video(src).frames)


def test_video_codec_option(tiny_ckpt: Path, tmp_path: Path) -> None:
    """--video-codec prores on an .mp4 (which cannot hold ProRes) writes a .mov next to where the .mp4 would be."""
    src = write_clip(tmp_path / "in" / "film.mp4", frames=4)
    base = [str(src), "--ckpt", str(tiny_ckpt), "--device", "cpu", "--output", str(tmp_path / "out")]
    assert main([*base, "--video-codec", "prores"]) == 0
    assert files_under(tmp_path / "out") == ["film.mov"]
    out = read_video(tmp_path / "out" / "film.mov")
    assert (out.codec, out.pix_fmt, len(out.frames), out.audio_codec) == ("prores", "yuv422p10le", 4, "aac")
    assert main([*base, "--video-codec", "hevc"]) == 0
    assert read_video(tmp_path / "out" / "film.mp4").pix_fmt == "yuv420p10le"


@pytest.mark.slow
def test_progress_lines_without_a_terminal(tiny_ckpt: Path, tmp_path: Path) -> None:
    """Run as under nohup or a job scheduler (stderr is a file, not a terminal): no bar, but a line every so often
    that says how far the film is."""
    src = write_clip(tmp_path / "long.mp4", frames=120, audio=False)
    log = tmp_path / "colorize.log"
    with log.open("w") as stderr:
        subprocess.run(
            [sys.executable, "-m", "colorgan.colorize", str(src), "--ckpt", str(tiny_ckpt), "--output",
             str(tmp_path / "out"), "--device", "cpu", "--log-every", "0.1"],
            stdout=subprocess.DEVNULL, stderr=stderr, stdin=subprocess.DEVNULL, check=True, timeout=300,
        )
    lines = [line for line in log.read_text().splitlines() if "frames (" in line]
    assert len(lines) >= 2, log.read_text()
    assert lines[0].startswith(f"{src.name}: ") and "of 120 frames (" in lines[0] and "left" in lines[0], lines[0]
    assert "\r" not in log.read_text()  # no bar drawn into the log


def test_a_dv_film_and_a_film_cut_short(
    tiny_ckpt: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A one-second 25 fps DV clip is 25 frames at 25 fps in the progress lines and the summary (its stream says
    60000 fps); a film cut short is refused with the option that keeps it, and kept with it."""
    from colorgan.inference.colorizer import Colorizer

    def gray_join(self, pixels, ab, name, notes, alpha=None):  # the 720x576 join takes seconds a frame on a CPU
        return pixels.permute(1, 2, 0).contiguous()

    monkeypatch.setattr(Colorizer, "join", gray_join)
    root = tmp_path / "in"
    write_clip(root / "tape.dv", frames=25, rate=25, codec="dvvideo", width=720, height=576, pix_fmt="yuv420p",
               audio=False)
    base = ["--ckpt", str(tiny_ckpt), "--device", "cpu", "--log-every", "0.000001", "--video-preset", "ultrafast"]
    assert main([str(root / "tape.dv"), *base, "--output", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "frames (" in line]
    assert lines and all("of about 25 frames" in line for line in lines), lines
    assert "tape.mkv: 25 frames 720x576 at 25 fps" in err, err

    full = write_clip(tmp_path / "full.mkv", frames=48, rate=12)
    cut = root / "cut.mkv"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert main([str(cut), *base, "--output", str(tmp_path / "refused")]) == 1
    err = capsys.readouterr().err
    assert "damaged or cut short" in err and "found before colorizing" in err and "--keep-partial" in err, err
    assert not (tmp_path / "refused").exists() or files_under(tmp_path / "refused") == []
    assert main([str(cut), *base, "--output", str(tmp_path / "kept"), "--keep-partial"]) == 0
    err = capsys.readouterr().err
    assert "PARTIAL" in err and "kept the" in err, err
    assert files_under(tmp_path / "kept") == ["cut.mkv"]
