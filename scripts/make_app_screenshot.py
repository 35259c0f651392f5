"""Make docs/app_screenshot.png, the README's picture of colorgan-app, in a real headless Chromium.

    python scripts/make_app_screenshot.py                      # trains the demo (40 epochs, ~2-4 min on 2 CPU cores)
    python scripts/make_app_screenshot.py --ckpt path/to/last.ckpt

It starts ``python -m colorgan.app`` on a free loopback port, drops two photos on the page (a real black-and-white
photo and a photo of the demo's test split made gray), presses Colorize and takes a screenshot. Needs the ``app``
and ``dev`` extras and Debian's ``chromium`` package.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "tests")]

from colorgan.config import asset_path  # noqa: E402
from make_readme_figure import train_demo  # noqa: E402

from helpers.app import start_app, stop_app  # noqa: E402
from helpers.browser import chromium_page  # noqa: E402

PHOTOS = {"camera.jpg": "photos/camera_bw.jpg", "hopper.png": "demo/test/hopper_0.jpg"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, help="use this checkpoint instead of training the demo")
    parser.add_argument("--epochs", type=int, default=40, help="demo epochs when training (default 40)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "app_screenshot.png")
    args = parser.parse_args()

    ckpt = (args.ckpt or train_demo(args.epochs)).resolve()
    with tempfile.TemporaryDirectory(prefix="colorgan-screenshot-") as tmp:
        work = Path(tmp)
        for name, asset in PHOTOS.items():
            Image.open(asset_path(asset)).convert("L").save(work / name)
        app = start_app("--ckpt", str(ckpt), cwd=work)
        try:
            with chromium_page(viewport=(1100, 1010)) as page:
                page.set_default_timeout(120_000)
                page.goto(app.url + "/")
                page.locator("#photos input[type=file]").set_input_files([str(work / n) for n in PHOTOS])
                for name in PHOTOS:
                    page.locator(f'#photos a[download="{name}"]').wait_for()
                page.locator("#colorize").click()
                page.locator(".colorgan-download").nth(len(PHOTOS) - 1).wait_for()
                page.wait_for_timeout(1000)  # let the slider images finish drawing
                raw = work / "raw.png"
                page.screenshot(path=str(raw))
        finally:
            stop_app(app)
        # 256 colours are plenty for a page of flat panels and two small photos, and keep the file small
        shot = Image.open(raw).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        shot.save(args.output, optimize=True)
    print(f"Wrote {args.output} ({args.output.stat().st_size // 1024} KB) from {ckpt}")


if __name__ == "__main__":
    main()
