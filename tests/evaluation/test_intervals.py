"""colorgan.evaluation.intervals: the bootstrap over source photos and seeds behind the quality table's intervals."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from colorgan.evaluation.intervals import (
    SOURCES_FILE,
    SourcePhotos,
    SourcesError,
    bootstrap_difference,
    bootstrap_mean,
    by_source,
    read_sources_file,
    write_sources_file,
)

CAMERA_NAMES = [f"test/IMG_{k:04d}.JPG" for k in range(1, 31)]


def test_camera_names_are_thirty_photos_not_one() -> None:
    """No guess from names: IMG_0001 ... IMG_0030 are 30 photos, and a difference that varies from photo to photo
    gets an interval of real width (grouped into one "photo", it had width 0 and was called real)."""
    sources, values = by_source(CAMERA_NAMES, np.linspace(-1.0, 1.2, 30))
    assert sources == sorted(CAMERA_NAMES) and len(values) == 30
    d = bootstrap_difference(values, np.zeros(30))
    assert d.low < 0 < d.high and not d.excludes_zero
    assert SourcePhotos.of_data(None).of("test/kite_3.jpg") == "test/kite_3.jpg"


@pytest.mark.parametrize(("photo", "source"), [
    ("test/kite_3.jpg", "test/kite"), ("test/kite_10.jpg", "test/kite"), ("test/ocean_waves_0.jpg", "test/ocean_waves"),
    ("scan.png", "scan.png"),  # not matched: its own source photo
])
def test_a_pattern_names_the_source_photo_by_its_source_group(photo: str, source: str) -> None:
    assert SourcePhotos.from_pattern(r"(?P<source>.*)_\d+\.jpg$").of(photo) == source


def test_a_pattern_without_a_source_group_uses_its_whole_match_and_a_bad_one_is_named() -> None:
    assert SourcePhotos.from_pattern(r"test/\w+?_").of("test/kite_3.jpg") == "test/kite_"
    with pytest.raises(SourcesError, match=r"--source-pattern '\(' is not a regular expression"):
        SourcePhotos.from_pattern("(")


def test_the_data_sets_sources_file_groups_its_crops(tmp_path: Path) -> None:
    write_sources_file(tmp_path / SOURCES_FILE, {"test/a_0.jpg": "kite", "test/b.jpg": "kite", "test/c_1.jpg": "sea"})
    assert (tmp_path / SOURCES_FILE).read_text().splitlines()[0] == "photo,source"
    sources = SourcePhotos.of_data(tmp_path)
    names, values = by_source(["test/a_0.jpg", "test/b.jpg", "test/c_1.jpg", "test/d.jpg"],
                              np.array([1.0, 3.0, 10.0, 7.0]), sources)
    assert names == ["kite", "sea", "test/d.jpg"] and values.tolist() == [2.0, 10.0, 7.0]
    assert sources.unlisted(["test/a_0.jpg", "test/d.jpg"]) == ["test/d.jpg"]
    assert "sources.csv says" in sources.describe()
    # a pattern, when given, is what the user asked for: it wins over the file
    assert SourcePhotos.of_data(tmp_path, r"(?P<source>test/\w)").of("test/b.jpg") == "test/b"


@pytest.mark.parametrize(("text", "message"), [
    ("name,origin\na.jpg,x\n", "needs the columns photo,source"),
    ("photo,source\na.jpg,\n", "line 2: a photo and its source are both needed"),
    ("photo,source\na.jpg,x\na.jpg,y\n", "line 3: a.jpg is listed under two sources, x and y"),
])
def test_a_sources_file_that_cannot_be_used_is_named(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / SOURCES_FILE).write_text(text)
    with pytest.raises(SourcesError, match=f"{SOURCES_FILE}.*{message}"):
        read_sources_file(tmp_path / SOURCES_FILE)


def test_a_sources_file_from_windows_notepad_is_read(tmp_path: Path) -> None:
    (tmp_path / SOURCES_FILE).write_bytes("\ufeffphoto,source\r\ntest\\a_0.jpg,kite\r\n".encode())
    assert read_sources_file(tmp_path / SOURCES_FILE) == {"test/a_0.jpg": "kite"}


def test_crops_of_one_photo_count_as_one_photo() -> None:
    """Eight identical crops per source photo give the same interval as the source photos alone: resampling
    crops one by one would pretend to eight times as many photos and give a narrower interval."""
    rng = np.random.default_rng(0)
    per_source = rng.normal(20.0, 2.0, size=10)
    crops = [f"test/photo{k}_{i}.jpg" for k in range(10) for i in range(8)]
    sources, values = by_source(crops, np.repeat(per_source, 8), SourcePhotos.from_pattern(r"(?P<source>.*)_\d+"))
    assert len(sources) == 10 and np.allclose(values, per_source)
    alone = bootstrap_mean(per_source)
    grouped = bootstrap_mean(values)
    assert (grouped.low, grouped.high) == pytest.approx((alone.low, alone.high))
    as_if_independent = bootstrap_mean(np.repeat(per_source, 8))
    assert (as_if_independent.high - as_if_independent.low) < 0.5 * (alone.high - alone.low)


def test_the_interval_covers_the_true_mean_about_95_times_in_100() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    trials = 200
    for t in range(trials):
        seed_offsets = rng.normal(0.0, 0.3, size=(3, 1))
        values = 5.0 + rng.normal(0.0, 1.0, size=(1, 30)) + seed_offsets + rng.normal(0.0, 0.2, size=(3, 30))
        e = bootstrap_mean(values, replicates=1000, seed=t)
        covered += e.low <= 5.0 <= e.high
    assert 0.85 * trials <= covered <= trials  # seeds' spread included: at least nominal, give or take


def test_a_consistent_small_gain_is_real_and_noise_is_not() -> None:
    """Paired: photos differ a lot from one another, a recipe adds 0.1 to every photo; another adds noise."""
    rng = np.random.default_rng(2)
    gray = rng.normal(17.0, 3.0, size=30)
    gain = gray + 0.1 + rng.normal(0.0, 0.02, size=(3, 30))
    noise = gray + rng.normal(0.0, 0.5, size=(3, 30))
    d = bootstrap_difference(gain, gray)
    assert d.mean == pytest.approx(0.1, abs=0.01) and d.excludes_zero and d.low > 0
    assert len(d.per_seed) == 3
    assert not bootstrap_difference(noise, gray).excludes_zero
    # unpaired, the photos' own spread (3 dB) would swamp the 0.1 gain
    assert bootstrap_mean(gain).low < bootstrap_mean(gray).high


def test_a_seed_that_disagrees_widens_the_interval() -> None:
    """Seeds are resampled too: one seed far off makes the difference uncertain even on identical photos."""
    gray = np.linspace(15.0, 20.0, 30)
    steady = gray + np.array([[0.2], [0.2], [0.2]])
    unsteady = gray + np.array([[0.9], [0.0], [-0.3]])
    assert bootstrap_difference(steady, gray).excludes_zero
    d = bootstrap_difference(unsteady, gray)
    assert d.mean == pytest.approx(0.2) and not d.excludes_zero and d.per_seed == pytest.approx((0.9, 0.0, -0.3))


def test_differences_need_the_same_photos() -> None:
    with pytest.raises(ValueError, match="same photos"):
        bootstrap_difference(np.zeros((2, 5)), np.zeros(6))


def _exact_interval(values: np.ndarray, reference: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The 95 % percentile interval of the paired difference over *every* equally likely bootstrap replicate:
    each way of drawing the seeds of ``values`` (with replacement) and the photos (with replacement, the same for
    both), enumerated one by one; the quantiles of that exact distribution by its inverse CDF."""
    seeds, photos = values.shape
    outcomes = []
    for picked_seeds in itertools.product(range(seeds), repeat=seeds):
        for picked in itertools.product(range(photos), repeat=photos):
            outcomes.append(values[np.ix_(picked_seeds, picked)].mean() - reference[list(picked)].mean())
    outcomes = np.sort(np.array(outcomes))
    cdf = np.arange(1, len(outcomes) + 1) / len(outcomes)
    tail = (1 - level) / 2
    low, high = outcomes[np.searchsorted(cdf, tail)], outcomes[np.searchsorted(cdf, 1 - tail)]
    # the case is chosen so that both quantiles sit well inside an atom of the distribution: a Monte Carlo
    # bootstrap must then land on exactly these values, not near them
    for q, value in ((tail, low), (1 - tail, high)):
        below, upto = np.mean(outcomes < value - 1e-12), np.mean(outcomes <= value + 1e-12)
        assert below + 0.006 < q < upto - 0.006, (q, below, upto)
    return float(low), float(high)


def test_the_difference_interval_is_the_exact_bootstrap_interval_of_a_tiny_case() -> None:
    """2 seeds x 4 photos against a reference: the 4 x 256 replicates enumerated by hand give the interval."""
    values = np.array([[0.0, 3.0, 3.0, 2.0], [3.0, 1.0, 2.0, 0.0]])
    reference = np.array([0.0, 0.0, 1.0, 0.0])
    low, high = _exact_interval(values, reference)
    assert (low, high) == (0.5, 2.5)  # inside the range of the replicates, 0 to 3
    d = bootstrap_difference(values, reference, replicates=40000, seed=3)
    assert d.mean == pytest.approx(values.mean() - reference.mean())
    assert (d.low, d.high) == pytest.approx((low, high), abs=1e-9)
    assert d.high - d.low == pytest.approx(high - low, abs=1e-9)


def test_the_mean_interval_is_the_exact_bootstrap_interval_of_a_tiny_case() -> None:
    values = np.array([[2.0, 1.0, 0.0, 3.0], [3.0, 0.0, 1.0, 2.0]])
    low, high = _exact_interval(values, np.zeros(4))
    assert (low, high) == (0.5, 2.5)
    e = bootstrap_mean(values, replicates=40000, seed=5)
    assert (e.low, e.high) == pytest.approx((low, high), abs=1e-9)
