"""Make docs/colorize_before_after.png, the before/after picture of the README.

    python scripts/make_readme_figure.py                      # trains the demo (40 epochs, ~2-4 min on 2 CPU cores)
    python scripts/make_readme_figure.py --ckpt path/to/last.ckpt

Columns: a real black-and-white photo (camera_bw.jpg), and two photos of the demo's test split, which the model
never trained on, made gray the way training and colorize do it (their CIE L, through colorgan.color). Rows: the
input, colorgan's colours at the input's full resolution, the colour original where there is one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from colorgan.color import gray_rgb, rgb_to_model_lab
from colorgan.config import asset_path, config_dir
from colorgan.inference.colorizer import Colorizer
from colorgan.training.grid import labelled_grid

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ("photos/camera_bw.jpg", "demo/test/hopper_0.jpg", "demo/test/bee_0.jpg")


def train_demo(epochs: int) -> Path:
    """Train ``+experiment=demo`` for ``epochs`` and return its ``last.ckpt``."""
    from hydra import compose, initialize_config_dir

    from colorgan.train import train

    overrides = ["+experiment=demo", f"trainer.max_epochs={epochs}", "logger=csv", "trainer.enable_progress_bar=false"]
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    train(cfg)
    return Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"


def tile(image: Image.Image, size: int) -> torch.Tensor:
    """A PIL image as a ``(3, size, size)`` float tensor in [0, 1] (the photos here are square)."""
    rgb = image.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255.0).permute(2, 0, 1)


def cie_gray(image: Image.Image) -> Image.Image:
    """A colour photo as the model sees it: its CIE L as an 8-bit gray picture (not PIL's luma)."""
    rgb = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)
    gray = gray_rgb(rgb_to_model_lab(rgb)[0])[0]  # (H, W) in [0, 1]: r = g = b
    return Image.fromarray(gray.mul(255.0).add_(0.5).to(torch.uint8).numpy(), mode="L")


def placeholder(text: str, size: int) -> torch.Tensor:
    img = Image.new("RGB", (size, size), (245, 245, 245))
    ImageDraw.Draw(img).text((size // 2, size // 2), text, fill=(90, 90, 90), anchor="mm")
    return tile(img, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, help="use this checkpoint instead of training the demo")
    parser.add_argument("--epochs", type=int, default=40, help="demo epochs when training (default 40)")
    parser.add_argument("--size", type=int, default=168, help="side of each picture in the figure")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "colorize_before_after.png")
    args = parser.parse_args()

    ckpt = args.ckpt or train_demo(args.epochs)
    colorizer = Colorizer.from_checkpoint(ckpt, device="cpu")
    rows: dict[str, list[torch.Tensor]] = {"input": [], "colorgan": [], "original": []}
    for name in PHOTOS:
        original = Image.open(asset_path(name))
        is_colour = original.mode != "L"
        rows["input"].append(tile(cie_gray(original) if is_colour else original, args.size))
        # colorize makes a colour photo gray itself, from the same L as the input shown
        rows["colorgan"].append(tile(colorizer(original), args.size))
        rows["original"].append(tile(original, args.size) if is_colour else placeholder("(taken in B&W)", args.size))
    grid = labelled_grid([(name, torch.stack(images)) for name, images in rows.items()])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    grid.save(args.output, optimize=True)
    print(f"Wrote {args.output} ({args.output.stat().st_size // 1024} KB) from {ckpt}")


if __name__ == "__main__":
    main()
