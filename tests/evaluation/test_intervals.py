"""colorgan.evaluation.intervals: the bootstrap over source photos and seeds behind the quality table's intervals."""

from __future__ import annotations

import numpy as np
import pytest

from colorgan.evaluation.intervals import bootstrap_difference, bootstrap_mean, by_source, source_of


@pytest.mark.parametrize(("photo", "source"), [
    ("test/kite_3.jpg", "test/kite"), ("test/kite_10.jpg", "test/kite"), ("test/ocean_waves_0.jpg", "test/ocean_waves"),
    ("scan.png", "scan"), ("a/b/img_0001.tif", "a/b/img"),
])
def test_a_crop_belongs_to_the_photo_it_was_cut_from(photo: str, source: str) -> None:
    assert source_of(photo) == source


def test_crops_of_one_photo_count_as_one_photo() -> None:
    """Eight identical crops per source photo give the same interval as the source photos alone: resampling
    crops one by one would pretend to eight times as many photos and give a narrower interval."""
    rng = np.random.default_rng(0)
    per_source = rng.normal(20.0, 2.0, size=10)
    crops = [f"test/photo{k}_{i}.jpg" for k in range(10) for i in range(8)]
    sources, values = by_source(crops, np.repeat(per_source, 8))
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
