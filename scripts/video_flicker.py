"""Flicker of a colorized film, frame by frame against temporal smoothing: the figures in the README.

    python scripts/video_flicker.py                      # trains the demo (40 epochs, ~2-4 min on 2 CPU cores)
    python scripts/video_flicker.py --ckpt path/to/last.ckpt

The test clip is made from photos that ship with colorgan, so that anyone can rerun it and so that the true colour
of every frame is known: 96 frames of 320x240 at 24 fps in three shots (the cat photo with a still camera; a demo
test photo the model never trained on, panned down 2 px a frame; the cat again, slowly zooming in), made gray and
aged like old film: grain (Gaussian, sigma 6 levels, new every frame) and exposure flicker (each frame's
brightness scaled by a random 0.98-1.02), encoded as H.264 (crf 18).

The clip is colorized twice with the same model: frame by frame (``--smoothing 0``) and with the default temporal
smoothing; a third row paints one steady colour on every frame, the floor of the measure (what H.264, 4:2:0
chroma and 8-bit rounding alone give). For each output it prints

* flicker: the mean |Δab| (CIE units) between consecutive frames over the pixels whose L* changed by less than 1
  (:class:`colorgan.inference.temporal.FlickerMeter`), for each shot and for the whole clip. In the still shot
  the colour should not change there, so this is flicker; in the pan and the zoom, pixels whose lightness
  happens to stay the same while the picture moves count too, and their colour may rightly change;
* error: the mean |Δab| between each output frame and the colour original of that frame, over all pixels: if the
  smoothing smeared moving things or carried colour across a cut, it would rise;
* cuts: the cuts the smoother found (the clip has 2).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from colorgan.color import AB_SCALE, rgb_to_model_lab
from colorgan.config import asset_path
from colorgan.inference.colorizer import Colorizer
from colorgan.inference.temporal import FlickerMeter, Smoothing
from colorgan.inference.video import VideoColorizer

WIDTH, HEIGHT, RATE, SHOT = 320, 240, 24, 32
GRAIN = 6.0  # sigma of the film grain, in 8-bit levels
EXPOSURE = 0.02  # frame-to-frame exposure flicker: brightness scaled by 1 +- this


class SteadyColour(nn.Module):
    """One colour (a mild sepia, a* 5, b* 15) on every frame: the floor of the flicker measure."""

    divisor = 1

    def forward(self, L: Tensor) -> Tensor:
        return torch.tensor([5 / AB_SCALE, 15 / AB_SCALE]).view(1, 2, 1, 1).expand(L.shape[0], 2, *L.shape[-2:])


def shots() -> list[Image.Image]:
    cat = Image.open(asset_path("photos/chelsea_color.jpg")).convert("RGB")  # 451x300
    held_out = Image.open(asset_path("demo/test/hopper_1.jpg")).convert("RGB")  # 160x160, a test photo
    return [cat, held_out.resize((WIDTH, WIDTH), Image.Resampling.LANCZOS), cat]


def colour_frame(i: int, photos: list[Image.Image]) -> np.ndarray:
    """The colour original of frame ``i``: uint8 RGB ``(HEIGHT, WIDTH, 3)``."""
    shot, t = divmod(i, SHOT)
    photo = photos[shot]
    if shot == 0:  # a still camera
        box = (60, 30, 60 + WIDTH, 30 + HEIGHT)
    elif shot == 1:  # panning down, 2 px a frame
        box = (0, 2 * t, WIDTH, 2 * t + HEIGHT)
    else:  # zooming in slowly, about the centre
        scale = 1.0 - 0.25 * t / SHOT
        w, h = 400 * scale, 300 * scale
        cx, cy = 225, 150
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return np.asarray(photo.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR, box=box))


def write_test_clip(path: Path, photos: list[Image.Image], frames: int) -> None:
    """The clip: each colour frame made gray, with fresh film grain and exposure flicker, as H.264."""
    import av

    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "18"}
        for i in range(frames):
            gray = np.asarray(Image.fromarray(colour_frame(i, photos)).convert("L"), dtype=np.float32)
            gray = gray * rng.uniform(1.0 - EXPOSURE, 1.0 + EXPOSURE) + rng.normal(0.0, GRAIN, gray.shape)
            gray = np.clip(gray, 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(np.repeat(gray[..., None], 3, axis=2), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def measure(path: Path, photos: list[Image.Image]) -> tuple[list[float], float, int]:
    """Flicker of each shot and of the whole clip, error against the colour originals (all mean |Δab|, CIE
    units), and the frame count of a colorized clip."""
    import av

    meters = [FlickerMeter(still=1.0) for _ in range(4)]  # the three shots, the whole clip
    error, n = 0.0, 0
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        matrix = av.video.reformatter.Colorspace.ITU601  # the clip is SD: BT.601, as VideoColorizer tags it
        for i, frame in enumerate(c.decode(stream)):
            rgb = torch.from_numpy(frame.reformat(format="rgb24", src_colorspace=matrix).to_ndarray()).permute(2, 0, 1)
            meters[min(i // SHOT, 2)].update(rgb)
            meters[3].update(rgb)
            _, ab = rgb_to_model_lab(rgb)
            _, ab_true = rgb_to_model_lab(torch.from_numpy(colour_frame(i, photos).copy()).permute(2, 0, 1))
            error += float((ab - ab_true).mul(AB_SCALE).square().sum(dim=0).sqrt().mean())
            n += 1
    return [m.compute() for m in meters], error / n, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, help="use this checkpoint instead of training the demo")
    parser.add_argument("--epochs", type=int, default=40, help="demo epochs when training (default 40)")
    parser.add_argument("--frames", type=int, default=3 * SHOT, help=f"frames of the test clip (default {3 * SHOT})")
    parser.add_argument("--device", default="cpu", help="where the generator runs (default cpu)")
    parser.add_argument("--keep", type=Path, help="keep the clip and the two outputs in this folder")
    args = parser.parse_args()

    if args.ckpt is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from make_readme_figure import train_demo

        args.ckpt = train_demo(args.epochs)
    colorizer = Colorizer.from_checkpoint(args.ckpt, device=args.device)
    photos = shots()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        clip = work / "test_clip.mp4"
        write_test_clip(clip, photos, args.frames)
        print(f"Test clip: {clip.name}, {args.frames} frames of {WIDTH}x{HEIGHT} at {RATE} fps; model {args.ckpt}")
        steady = Colorizer(SteadyColour(), colorizer.image_size, size=colorizer.size, device=args.device)
        header = ["flicker: still", "pan", "zoom", "all", "error", "cuts", "seconds"]
        print(f"{'':16}" + "".join(f"{h:>16}" if i == 0 else f"{h:>8}" for i, h in enumerate(header)))
        runs = (
            ("frame by frame", colorizer, Smoothing(strength=0.0)),
            ("smoothed", colorizer, Smoothing()),
            ("steady colour", steady, Smoothing(strength=0.0)),
        )
        for name, model, smoothing in runs:
            start = time.perf_counter()
            result = VideoColorizer(model, smoothing=smoothing).colorize(
                clip, work / f"{name.replace(' ', '_')}.mp4", progress=False
            )
            seconds = time.perf_counter() - start
            flicker, error, frames = measure(result.path, photos)
            assert frames == args.frames, f"{result.path} has {frames} frames, not {args.frames}"
            cells = [f"{flicker[0]:16.2f}"] + [f"{v:8.2f}" for v in (*flicker[1:], error)]
            print(f"{name:16}" + "".join(cells) + f"{result.cuts:8d}{seconds:8.1f}")
        print(f"(flicker and error: mean |Δab| in CIE a*b* units, lower is better; smoothed: {Smoothing()})")


if __name__ == "__main__":
    main()
