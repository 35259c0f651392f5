"""Bootstrap intervals for comparing models: means and paired differences, resampling source photos and seeds.

A quality table compares recipes trained with several seeds and scored photo by photo on the same test photos.
Two things make a difference between two recipes uncertain: which photos happened to be in the test set, and
which seed each run happened to get. The bootstrap here resamples both, at once, for every replicate:

- the source photos, with replacement: the crops cut from one source photo are not independent (they share the
  scene, its colours and its light), so they stay together; all recipes get the same resampled photos (a paired
  comparison: a photo that is hard for one recipe is hard for the others);
- each recipe's seeds, with replacement, independently of the other recipes.

Which crops form one source photo is never guessed from names (camera names ``IMG_0001`` ... ``IMG_0030`` are 30
photos, not one): each photo is its own source photo unless the data set says otherwise in its ``sources.csv``
(``photo,source`` lines; ``scripts/make_photo_set.py`` writes one) or a pattern is given (``--source-pattern``,
``hints.source_pattern``). See :class:`SourcePhotos`.

A difference is called real when its 95 % percentile interval excludes 0. With three seeds the seed part is
coarse; the spread of the per-seed values is reported next to the interval so a reader sees it too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPLICATES = 4000
LEVEL = 0.95
# which crop came from which source photo: a data set's own word on it, next to its train/ val/ test/ folders
SOURCES_FILE = "sources.csv"


class SourcesError(ValueError):
    """A sources file or a source pattern that cannot be used; the message names it and what to do."""


def read_sources_file(path: str | Path) -> dict[str, str]:
    """``photo -> source`` from a CSV file with the columns ``photo`` (the path relative to the data set's folder,
    e.g. ``test/kite_3.jpg``) and ``source`` (any name; crops with the same name are one source photo).

    Raises:
        SourcesError: no such columns, an empty cell, or one photo listed under two sources.
    """
    path = Path(path)
    table: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"photo", "source"} <= set(reader.fieldnames):
            raise SourcesError(f"{path}: needs the columns photo,source (a header line), found "
                               f"{','.join(reader.fieldnames or []) or 'none'}")
        for row in reader:
            photo, source = (row.get("photo") or "").strip(), (row.get("source") or "").strip()
            if not photo or not source:
                raise SourcesError(f"{path}, line {reader.line_num}: a photo and its source are both needed")
            photo = photo.replace("\\", "/")  # a file written on Windows
            if table.setdefault(photo, source) != source:
                raise SourcesError(f"{path}, line {reader.line_num}: {photo} is listed under two sources, "
                                   f"{table[photo]} and {source}")
    return table


def write_sources_file(path: str | Path, sources: Mapping[str, str]) -> None:
    """Write ``photo -> source`` as :func:`read_sources_file` reads it (sorted by photo)."""
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["photo", "source"])
        writer.writerows(sorted(sources.items()))


@dataclass(frozen=True)
class SourcePhotos:
    r"""Which source photo each test photo was cut from: the unit a bootstrap resamples.

    Never guessed from names (camera names ``IMG_0001`` ... ``IMG_0030`` are 30 photos): by default each photo is
    its own source photo; crops are grouped only where the data set says so (``table``, from its
    :data:`SOURCES_FILE`) or where a ``pattern`` is given, a regular expression whose ``source`` group (else its
    whole match) names a photo's source; a photo it does not match is its own source.

    >>> SourcePhotos().of("test/IMG_0001.jpg"), SourcePhotos().of("test/IMG_0002.jpg")
    ('test/IMG_0001.jpg', 'test/IMG_0002.jpg')
    >>> SourcePhotos.from_pattern(r"(?P<source>.*)_\d+\.jpg$").of("test/kite_3.jpg")
    'test/kite'
    >>> SourcePhotos(table={"test/kite_3.jpg": "kite"}).of("test/kite_3.jpg")
    'kite'
    """

    table: Mapping[str, str] | None = field(default=None, repr=False)
    pattern: str | None = None
    origin: str = ""
    # how the grouping was made, when it was recorded elsewhere (a quality.json's own words)
    description: str = ""

    @classmethod
    def from_pattern(cls, pattern: str, origin: str = "--source-pattern") -> SourcePhotos:
        """Group by ``pattern`` (checked to be a regular expression).

        Raises:
            SourcesError: not a regular expression.
        """
        try:
            re.compile(pattern)
        except re.error as err:
            raise SourcesError(f"{origin} {pattern!r} is not a regular expression: {err}") from None
        return cls(pattern=pattern, origin=origin)

    @classmethod
    def from_file(cls, path: str | Path) -> SourcePhotos:
        """Group as the data set's sources file says (:func:`read_sources_file`)."""
        return cls(table=read_sources_file(path), origin=str(path))

    @classmethod
    def of_data(cls, root: str | Path | None, pattern: str | None = None, setting: str = "--source-pattern"
                ) -> SourcePhotos:
        """The grouping for the photos of the data set at ``root`` (names relative to it): ``pattern`` (the value
        of ``setting``) when given, else ``root``'s :data:`SOURCES_FILE` when it has one, else each photo its own
        source photo.

        Raises:
            SourcesError: ``pattern`` is not a regular expression, or the sources file cannot be used.
        """
        if pattern:
            return cls.from_pattern(pattern, setting)
        if root is not None and (Path(root) / SOURCES_FILE).is_file():
            return cls.from_file(Path(root) / SOURCES_FILE)
        return cls()

    def of(self, photo: str) -> str:
        """The source photo of ``photo``."""
        if self.pattern is not None:
            match = re.match(self.pattern, photo)
            if not match:
                return photo
            return match.groupdict().get("source") or match.group(0)
        if self.table is not None:
            return self.table.get(photo.replace("\\", "/"), photo)
        return photo

    def unlisted(self, photos: Sequence[str]) -> list[str]:
        """The photos a sources file does not list (each counts as its own source photo)."""
        if self.pattern is not None or self.table is None:
            return []
        return [p for p in photos if p.replace("\\", "/") not in self.table]

    def describe(self) -> str:
        """How the photos are grouped, in words, for a report."""
        if self.description:
            return self.description
        if self.pattern is not None:
            return f"crops grouped into source photos by the pattern `{self.pattern}` ({self.origin})"
        if self.table is not None:
            return f"crops grouped into source photos as {self.origin} says"
        return "each photo counted as its own source photo (no sources file, no pattern)"


def by_source(photos: Sequence[str], values: np.ndarray, sources: SourcePhotos | None = None
              ) -> tuple[list[str], np.ndarray]:
    """Average ``values`` ``(..., N)`` (one per photo, last axis) over the photos of each source photo.

    Returns the source names (sorted) and an array ``(..., P)``: each source photo counts once, whatever its number
    of crops. ``sources``: the grouping (default: each photo its own source photo).
    """
    sources = sources or SourcePhotos()
    names_of = [sources.of(p) for p in photos]
    names = sorted(set(names_of))
    where = {name: i for i, name in enumerate(names)}
    member = np.zeros((len(photos), len(names)))
    member[np.arange(len(photos)), [where[s] for s in names_of]] = 1.0
    return names, np.asarray(values, dtype=np.float64) @ member / member.sum(axis=0)


@dataclass(frozen=True)
class Estimate:
    """A mean with its ``LEVEL`` bootstrap interval, and the values per seed behind it."""

    mean: float
    low: float
    high: float
    per_seed: tuple[float, ...]

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, object]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "per_seed": list(self.per_seed),
                "excludes_zero": self.excludes_zero}


def _replicate_means(values: np.ndarray, photos: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``values`` ``(S, P)``: for each replicate, resample the seeds (S of them, with replacement) and average over
    the resampled photos ``photos`` ``(R, P)``; returns ``(R,)``."""
    seeds = values.shape[0]
    picked = rng.integers(0, seeds, size=(photos.shape[0], seeds))
    return values[picked[:, :, None], photos[:, None, :]].mean(axis=(1, 2))


def _interval(replicates: np.ndarray, level: float) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return float(low), float(high)


def _as_seeds(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    return values[None] if values.ndim == 1 else values


def bootstrap_mean(values: np.ndarray, replicates: int = REPLICATES, level: float = LEVEL, seed: int = 0) -> Estimate:
    """The mean of ``values`` ``(S seeds, P source photos)`` (or ``(P,)`` for one seed) with its interval.

    >>> e = bootstrap_mean(np.array([[1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 4.5]]))
    >>> e.mean, e.per_seed, e.low < e.mean < e.high
    (2.75, (2.5, 3.0), True)
    """
    values = _as_seeds(values)
    rng = np.random.default_rng(seed)
    photos = rng.integers(0, values.shape[1], size=(replicates, values.shape[1]))
    low, high = _interval(_replicate_means(values, photos, rng), level)
    return Estimate(float(values.mean()), low, high, tuple(float(v) for v in values.mean(axis=1)))


def bootstrap_difference(values: np.ndarray, reference: np.ndarray, replicates: int = REPLICATES,
                         level: float = LEVEL, seed: int = 0) -> Estimate:
    """``mean(values) - mean(reference)`` with its paired interval: both ``(S, P)`` over the same P source
    photos (in the same order), each with its own seeds (a reference without seeds, such as the gray baseline, is
    ``(P,)``). ``per_seed``: each of ``values``' seeds against the reference's mean over its seeds.

    >>> better = np.array([[2.0, 3.0, 4.0, 5.0, 6.0]] * 3) + np.array([[0.0], [0.1], [-0.1]])
    >>> d = bootstrap_difference(better, np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    >>> round(d.mean, 6), d.excludes_zero
    (1.0, True)
    """
    values, reference = _as_seeds(values), _as_seeds(reference)
    if values.shape[1] != reference.shape[1]:
        raise ValueError(f"values and reference must cover the same photos, got {values.shape[1]} and "
                         f"{reference.shape[1]}")
    rng = np.random.default_rng(seed)
    photos = rng.integers(0, values.shape[1], size=(replicates, values.shape[1]))
    diffs = _replicate_means(values, photos, rng) - _replicate_means(reference, photos, rng)
    low, high = _interval(diffs, level)
    ref_mean = float(reference.mean())
    return Estimate(float(values.mean()) - ref_mean, low, high,
                    tuple(float(v) - ref_mean for v in values.mean(axis=1)))
