"""Rebuild the demo photos shipped in src/colorgan/assets/ from public-domain and CC0 photos.

    python scripts/make_demo_data.py            # needs apt-get (Debian's package lists) and pip; installs nothing

The sources are fetched by ``public_photos.py``: photos inside the scikit-image and matplotlib wheels, and
photos in Debian's palapeli-data (a jigsaw game) and lomiri-wallpapers-16.04 packages. Each source photo gives
several square 160 px crops at different places and scales, and every crop of one source lands in the same split,
so that validation and test photos show scenes the model never trained on:

    demo/train/  7 crops each of astronaut, chelsea, coffee, rocket, hubble, citrus   (42 photos)
    demo/val/    3 crops each of bridge (night), seeding (dandelions)                  (6 photos)
    demo/test/   3 crops each of hopper (a portrait), bee (on an aster)                 (6 photos)

plus ``demo/sources.csv`` (which crop came from which photo, for the intervals), ``photos/camera_bw.jpg`` (a
real black-and-white photo) and ``photos/chelsea_color.jpg``. The output is the
same on every run with the pinned package versions and Pillow 13. Licences: src/colorgan/assets/LICENSE.md.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

from colorgan.evaluation.intervals import SOURCES_FILE, write_sources_file
from public_photos import Fetcher, Photo, square_crops

OUT = Path(__file__).resolve().parents[1] / "src" / "colorgan" / "assets"
SIZE = 160
CROPS = {"train": 7, "val": 3, "test": 3}

SKIMAGE_PD = "public domain"
DEMO = {
    "train": [
        Photo("astronaut", "scikit-image", "skimage/data/astronaut.png", SKIMAGE_PD, "NASA"),
        Photo("chelsea", "scikit-image", "skimage/data/chelsea.png", "CC0", "Stefan van der Walt"),
        Photo("coffee", "scikit-image", "skimage/data/coffee.png", "CC0", "Rachel Michetti"),
        Photo("rocket", "scikit-image", "skimage/data/rocket.jpg", SKIMAGE_PD, "SpaceX"),
        Photo("hubble", "scikit-image", "skimage/data/hubble_deep_field.jpg", SKIMAGE_PD, "NASA"),
        Photo("citrus", "palapeli-data", "usr/share/palapeli/collection/citrus-fruits.jpg", "public domain",
              "US Department of Agriculture"),
    ],
    "val": [
        Photo("bridge", "palapeli-data", "usr/share/palapeli/collection/cincinnati-bridge.jpg", "public domain",
              "Derek Jensen"),
        Photo("seeding", "lomiri-wallpapers-16.04", "usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg",
              "CC0-1.0", "Clemens Engelhardt"),
    ],
    "test": [
        Photo("hopper", "matplotlib", "matplotlib/mpl-data/sample_data/grace_hopper.jpg", "public domain",
              "U.S. Navy"),
        Photo("bee", "palapeli-data", "usr/share/palapeli/collection/european-honey-bee.jpg", "public domain",
              "John Severns"),
    ],
}
CAMERA = Photo("camera", "scikit-image", "skimage/data/camera.png", "CC0", "Lav Varshney")


def main() -> None:
    rng = random.Random(0)
    work = Path(tempfile.mkdtemp(prefix="colorgan-demo-"))
    try:
        fetch = Fetcher(work)
        for split in ("train", "val", "test"):
            d = OUT / "demo" / split
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
        sources = {}
        for split, photos in DEMO.items():
            for photo in photos:
                for i, crop in enumerate(square_crops(fetch.open(photo), CROPS[split], SIZE, rng)):
                    crop.save(OUT / "demo" / split / f"{photo.name}_{i}.jpg", quality=90)
                    sources[f"{split}/{photo.name}_{i}.jpg"] = photo.name
        # which crop came from which photo: the intervals resample the crops of one photo together
        write_sources_file(OUT / "demo" / SOURCES_FILE, sources)
        (OUT / "photos").mkdir(exist_ok=True)
        fetch.open(CAMERA).convert("L").save(OUT / "photos" / "camera_bw.jpg", quality=92)
        fetch.open(DEMO["train"][1]).save(OUT / "photos" / "chelsea_color.jpg", quality=92)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("demo photos written to", OUT)


if __name__ == "__main__":
    main()
