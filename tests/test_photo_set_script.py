"""scripts/make_photo_set.py writes which crop came from which photo, so that the intervals group its crops."""

from __future__ import annotations

import importlib
import io
import struct
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from colorgan.evaluation.intervals import SOURCES_FILE, SourcePhotos, by_source

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


class FakeFetcher:
    """Every photo as a small plain picture: no package is downloaded."""

    def __init__(self, workdir: Path) -> None:
        pass

    def open(self, photo) -> Image.Image:
        return Image.new("RGB", (48, 40), (len(photo.name) * 9 % 256, 90, 160))


def test_the_photo_set_says_which_crop_came_from_which_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    script = importlib.import_module("make_photo_set")
    monkeypatch.setattr(script, "Fetcher", FakeFetcher)
    out = tmp_path / "set"
    monkeypatch.setattr(
        sys,
        "argv",
        ["make_photo_set.py", str(out), "--crops", "2", "--short-side", "16", "--work", str(tmp_path / "work")],
    )
    script.main()
    sources = SourcePhotos.of_data(out)
    crops = sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.jpg"))
    assert len(crops) == 2 * len(script.PHOTOS) and sources.unlisted(crops) == []
    names, _ = by_source([c for c in crops if c.startswith("test/")], [0.0] * 2 * len(script.TEST), sources)
    assert names == sorted(script.TEST)  # 28 source photos, two crops each
    assert sources.of("train/summer_1am_1.jpg") == "summer_1am"  # a name with its own "_<number>"
    assert (out / SOURCES_FILE).read_text().startswith("photo,source\n")


def test_the_second_photo_set_is_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """--set second writes the second list with its own held-out photos; it shares no package and no photo name
    with the first (a result checked on it is checked on other photos), and says how it was made."""
    monkeypatch.syspath_prepend(str(SCRIPTS))
    script = importlib.import_module("make_photo_set")
    monkeypatch.setattr(script, "Fetcher", FakeFetcher)
    out = tmp_path / "set2"
    argv = ["make_photo_set.py", str(out), "--set", "second", "--crops", "2", "--short-side", "16"]
    monkeypatch.setattr(sys, "argv", [*argv, "--work", str(tmp_path / "work")])
    script.main()
    crops = sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.jpg"))
    assert len(crops) == 2 * len(script.SECOND_PHOTOS)
    sources = SourcePhotos.of_data(out)
    for split, held_out in (("test", script.SECOND_TEST), ("val", script.SECOND_VAL)):
        names, _ = by_source([c for c in crops if c.startswith(f"{split}/")], [0.0] * 2 * len(held_out), sources)
        assert names == sorted(held_out)
    assert not {p.package for p in script.PHOTOS} & {p.package for p in script.SECOND_PHOTOS}
    assert not {p.name for p in script.PHOTOS} & {p.name for p in script.SECOND_PHOTOS}
    assert "`python scripts/make_photo_set.py --set second`" in (out / "SOURCES.md").read_text()


def _qt_resource_file(files: dict[str, tuple[bytes, bool]]) -> bytes:
    """A compiled Qt resource file (format version 3) holding ``files`` (path: (bytes, zlib-compressed?))."""
    tree: dict = {}
    for path, blob in files.items():
        *folders, leaf = path.split("/")
        node = tree
        for folder in folders:
            node = node.setdefault(folder, {})
        node[leaf] = blob
    names, data, nodes = bytearray(), bytearray(), [b""]

    def name_offset(name: str) -> int:
        offset = len(names)
        names.extend(struct.pack(">HI", len(name), 0) + name.encode("utf-16-be"))
        return offset

    queue: list = [(0, "", tree)]
    while queue:  # breadth first: the children of a folder are consecutive nodes
        index, name, item = queue.pop(0)
        if isinstance(item, dict):
            first = len(nodes)
            nodes.extend([b""] * len(item))
            queue.extend((first + k, child, sub) for k, (child, sub) in enumerate(sorted(item.items())))
            nodes[index] = struct.pack(">IHII", name_offset(name) if index else 0, 2, len(item), first) + bytes(8)
        else:
            blob, compressed = item
            stored = struct.pack(">I", len(blob)) + zlib.compress(blob) if compressed else blob
            nodes[index] = struct.pack(">IHHHI", name_offset(name), int(compressed), 0, 0, len(data)) + bytes(8)
            data.extend(struct.pack(">I", len(stored)) + stored)
    tree_bytes = b"".join(nodes)
    header_size = 24
    return (
        struct.pack(
            ">4sIIIII",
            b"qres",
            3,
            header_size,
            header_size + len(tree_bytes),
            header_size + len(tree_bytes) + len(data),
            0,
        )
        + tree_bytes
        + bytes(data)
        + bytes(names)
    )


def test_a_photo_is_read_out_of_a_qt_resource_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The second set's GCompris photos live in Qt resource files inside the package: ``FILE.rcc::MEMBER``."""
    monkeypatch.syspath_prepend(str(SCRIPTS))
    photos = importlib.import_module("public_photos")
    buffer = io.BytesIO()
    Image.new("RGB", (12, 10), (200, 40, 10)).save(buffer, format="PNG")
    rcc = _qt_resource_file(
        {
            "gcompris/src/activities/erase/resource/README": (b"Copyright: someone\n" * 20, True),
            "gcompris/src/activities/erase/resource/red.png": (buffer.getvalue(), False),
            "gcompris/src/activities/other/x.txt": (b"x", False),
        }
    )
    assert photos.qt_resource(rcc, "gcompris/src/activities/erase/resource/README") == b"Copyright: someone\n" * 20
    assert photos.qt_resource(rcc, "gcompris/src/activities/other/x.txt") == b"x"
    with pytest.raises(KeyError, match="no 'blue.png'"):
        photos.qt_resource(rcc, "gcompris/src/activities/erase/resource/blue.png")
    with pytest.raises(ValueError, match="not a Qt resource file"):
        photos.qt_resource(b"PK" + rcc[2:], "gcompris/src/activities/other/x.txt")

    # the package is already unpacked in the work folder, so nothing is downloaded
    unpacked = tmp_path / "deb" / "gcompris-qt-data" / "usr/share/gcompris-qt/rcc"
    unpacked.mkdir(parents=True)
    (unpacked / "erase.rcc").write_bytes(rcc)
    photo = photos.Photo(
        "red",
        "gcompris-qt-data",
        "usr/share/gcompris-qt/rcc/erase.rcc::gcompris/src/activities/erase/resource/red.png",
        "CC0-1.0",
        "someone",
    )
    img = photos.Fetcher(tmp_path).open(photo)
    assert img.size == (12, 10) and img.mode == "RGB" and img.getpixel((3, 3)) == (200, 40, 10)
