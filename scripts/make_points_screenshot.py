"""Make docs/app_points.png, the README's picture of the page's colour points, in a real headless Chromium.

    python scripts/make_points_screenshot.py --ckpt runs/hints/hinted/checkpoints/last.ckpt

It starts ``python -m colorgan.app`` with a model trained with colour hints, drops scikit-image's ``chelsea`` (CC0)
made gray, opens it for points (colorized without points), screenshots that, loads a few points whose colours are
taken from the colour original (``--points``, pixels of the photo), colorizes with them and screenshots again; the
picture is the two editors side by side: without points | with them. Needs the ``app`` and ``dev`` extras and
Debian's ``chromium`` package.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests")]

from colorgan.config import asset_path  # noqa: E402

from helpers.app import start_app, stop_app  # noqa: E402
from helpers.browser import chromium_page  # noqa: E402

PHOTO = "photos/chelsea_color.jpg"
# fur, the green of an eye, the nose, the background (x, y in the photo's pixels)
POINTS = [(300, 60), (175, 140), (250, 250), (40, 250)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, required=True, help="a checkpoint trained with model.hints.enabled=true")
    parser.add_argument("--size", type=int, default=15, help="side of each point in the photo's pixels (default 15)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "app_points.png")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="colorgan-screenshot-") as tmp:
        work = Path(tmp)
        original = Image.open(asset_path(PHOTO)).convert("RGB")
        original.convert("L").save(work / "cat.jpg", quality=95)
        points = [
            {"x": x, "y": y, "color": "#{:02x}{:02x}{:02x}".format(*original.getpixel((x, y))), "size": args.size}
            for x, y in POINTS
        ]
        (work / "cat_points.json").write_text(json.dumps({"points": points}))
        app = start_app("--ckpt", str(args.ckpt.resolve()), cwd=work)
        shots = []
        try:
            with chromium_page(viewport=(1100, 1200)) as page:
                page.set_default_timeout(120_000)
                page.goto(app.url + "/")
                page.locator("#photos input[type=file]").set_input_files([str(work / "cat.jpg")])
                page.locator('#photos a[download="cat.jpg"]').wait_for()
                page.locator("#points-open").click()
                status = page.locator("#points-status")
                status.get_by_text("0 points").wait_for()
                page.wait_for_timeout(500)
                shots.append(work / "without.png")
                page.locator("#points-canvas").screenshot(path=str(shots[-1]))
                with page.expect_file_chooser() as chooser:
                    page.locator("#points-load").click()
                chooser.value.set_files(str(work / "cat_points.json"))
                status.get_by_text(f"{len(points)} points.").wait_for()
                page.locator("#points-colorize").click()
                status.get_by_text("The colours show them").wait_for()
                page.wait_for_timeout(500)
                shots.append(work / "with.png")
                page.locator("#points-canvas").screenshot(path=str(shots[-1]))
        finally:
            stop_app(app)
        halves = [Image.open(s).convert("RGB") for s in shots]
        width, height = sum(h.width for h in halves) + 10, max(h.height for h in halves)
        sheet = Image.new("RGB", (width, height), "white")
        sheet.paste(halves[0], (0, 0))
        sheet.paste(halves[1], (halves[0].width + 10, 0))
        args.output.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(args.output, optimize=True)
    print(f"Wrote {args.output} ({args.output.stat().st_size // 1024} KB) from {args.ckpt}")


if __name__ == "__main__":
    main()
