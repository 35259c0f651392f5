"""Rebuild the demo photos shipped in src/colorgan/assets/ from public-domain / CC0 sample images.

The sources ship inside two PyPI wheels (no download at run time):
  scikit-image: astronaut (NASA, public domain), chelsea (CC0, Stefan van der Walt), coffee (CC0, Rachel
                Michetti), rocket (SpaceX, public domain), hubble_deep_field (NASA, public domain),
                camera (CC0, Lav Varshney; black-and-white)
  matplotlib:   grace_hopper (U.S. Navy photo, public domain)

    pip install scikit-image matplotlib && python scripts/make_demo_data.py

Each colour photo gives several square crops at different places and scales (160 px JPEGs): most go to
demo/train/, one of each to demo/test/. Test crops overlap the photos the train crops come from, so demo
metrics show that training works, not how well it generalises.
"""

from __future__ import annotations

import random
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image
from skimage import data as skdata

OUT = Path(__file__).resolve().parents[1] / "src" / "colorgan" / "assets"
SIZE = 160
CROPS_PER_PHOTO = 8


def sources() -> dict[str, np.ndarray]:
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return {
        "astronaut": skdata.astronaut(),
        "chelsea": skdata.chelsea(),
        "coffee": skdata.coffee(),
        "rocket": skdata.rocket(),
        "hubble": skdata.hubble_deep_field(),
        "hopper": np.asarray(Image.open(hopper).convert("RGB")),
    }


def crops(img: Image.Image, n: int, rng: random.Random) -> list[Image.Image]:
    w, h = img.size
    out = []
    for i in range(n):
        side = int(min(w, h) * (1.0 if i == 0 else rng.uniform(0.45, 0.85)))
        x, y = rng.randint(0, w - side), rng.randint(0, h - side)
        out.append(img.crop((x, y, x + side, y + side)).resize((SIZE, SIZE), Image.Resampling.LANCZOS))
    return out


def main() -> None:
    rng = random.Random(0)
    for split in ("train", "test"):
        d = OUT / "demo" / split
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.jpg"):
            old.unlink()
    for name, arr in sources().items():
        for i, crop in enumerate(crops(Image.fromarray(arr).convert("RGB"), CROPS_PER_PHOTO, rng)):
            split = "test" if i == CROPS_PER_PHOTO - 1 else "train"
            crop.save(OUT / "demo" / split / f"{name}_{i}.jpg", quality=90)
    (OUT / "photos").mkdir(exist_ok=True)
    Image.fromarray(skdata.camera()).save(OUT / "photos" / "camera_bw.jpg", quality=92)
    Image.fromarray(skdata.chelsea()).save(OUT / "photos" / "chelsea_color.jpg", quality=92)
    print("demo photos written to", OUT)


if __name__ == "__main__":
    main()
