"""Bootstrap intervals for comparing models: means and paired differences, resampling source photos and seeds.

A quality table compares recipes trained with several seeds and scored photo by photo on the same test photos.
Two things make a difference between two recipes uncertain: which photos happened to be in the test set, and
which seed each run happened to get. The bootstrap here resamples both, at once, for every replicate:

- the source photos, with replacement: the crops cut from one source photo are not independent (they share the
  scene, its colours and its light), so they stay together; all recipes get the same resampled photos (a paired
  comparison: a photo that is hard for one recipe is hard for the others);
- each recipe's seeds, with replacement, independently of the other recipes.

A difference is called real when its 95 % percentile interval excludes 0. With three seeds the seed part is
coarse; the spread of the per-seed values is reported next to the interval so a reader sees it too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# a crop's source photo: its path with a trailing "_<number>" taken off the file name ("test/kite_3.jpg" -> "test/kite")
DEFAULT_SOURCE_PATTERN = r"^(?P<source>.*?)(?:_\d+)?(?:\.[^./]+)?$"
REPLICATES = 4000
LEVEL = 0.95


def source_of(photo: str, pattern: str = DEFAULT_SOURCE_PATTERN) -> str:
    """The source photo a test photo was cut from, by ``pattern``'s ``source`` group (else the whole match).

    >>> source_of("test/kite_3.jpg"), source_of("test/kite_12.jpg"), source_of("old/scan.png")
    ('test/kite', 'test/kite', 'old/scan')
    """
    match = re.match(pattern, photo)
    if not match:
        return photo
    return match.groupdict().get("source") or match.group(0)


def by_source(photos: Sequence[str], values: np.ndarray, pattern: str = DEFAULT_SOURCE_PATTERN
              ) -> tuple[list[str], np.ndarray]:
    """Average ``values`` ``(..., N)`` (one per photo, last axis) over the photos of each source photo.

    Returns the source names (sorted) and an array ``(..., P)``: each source photo counts once, whatever its number
    of crops.
    """
    sources = [source_of(p, pattern) for p in photos]
    names = sorted(set(sources))
    where = {name: i for i, name in enumerate(names)}
    member = np.zeros((len(photos), len(names)))
    member[np.arange(len(photos)), [where[s] for s in sources]] = 1.0
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
